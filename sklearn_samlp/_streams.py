"""Per-stream accumulator state and the features the network sees.

A :class:`StreamStates` holds, for every stream seen so far, its accumulator
state, the time it has accumulated and the time of its last row.
:meth:`StreamStates.features` is pure: it returns the network's input for a
block of rows and the :class:`StateUpdate` that would carry each stream to its
last row, which the caller commits only once the whole call has succeeded.

Bias correction
---------------
A stream starts from a zero state, so early states are shrunk towards zero:
after ``n`` rows the weights ``(1 - d) d^k`` sum to ``1 - d^n``. As Adam does
for its moments, the features divide the state by ``1 - d^n``, so that they are
a weighted *average* of the rows seen from the first row on (``a_0 = x_0``).
The stored state stays raw; the elapsed time ``n`` makes the correction exact
across calls. With timestamps, ``n`` is the time since one unit before the
stream's first row.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

from dataclasses import dataclass

import numpy as np
import torch

from ._accumulate import _decay_bank, _factorize, as_tensor, scan_codes

# The key of the single stream of calls made without ``stream_ids``.
DEFAULT_STREAM = None


@dataclass(frozen=True)
class StateUpdate:
    """New state of the streams that a call touched, ready to commit."""

    stream_ids: list
    states: np.ndarray
    elapsed: np.ndarray
    last_time: np.ndarray


@dataclass(frozen=True)
class StreamRows:
    """How the rows of one call continue their streams.

    Attributes
    ----------
    stream_ids : list
        The streams of the call; ``codes`` index it.
    codes : ndarray of shape (n_rows,)
    initial_states : ndarray of shape (n_streams, width)
        Raw state of each stream before the call.
    steps : ndarray of shape (n_rows,) or None
        Time since the previous row of the stream; None for one unit per row.
    elapsed : ndarray of shape (n_rows,)
        Time accumulated by each row's stream up to that row, for the bias
        correction.
    """

    stream_ids: list
    codes: np.ndarray
    initial_states: np.ndarray
    steps: np.ndarray | None
    elapsed: np.ndarray
    final_elapsed: np.ndarray
    final_time: np.ndarray


class StreamStates:
    """Accumulator state of every stream seen so far.

    Parameters
    ----------
    decays : float, tuple of float or ndarray of shape (n_decays, n_features)
        The decay bank, shared by all features or one decay per feature.
    n_features : int
        Features of a row.
    time_unit : float, default=1.0
        Timestamps are divided by it: a gap of one unit decays as one row.
    """

    def __init__(self, decays, n_features, time_unit=1.0):
        self.n_features = n_features
        self.decays = _decay_bank(decays, n_features)
        # Decay of every accumulated feature, shape (n_decays, n_features).
        self.decay_matrix = np.stack(
            [np.broadcast_to(d, n_features) for d in self.decays]
        )
        self.time_unit = float(time_unit)
        self.index = {}  # stream id -> row of the arrays below
        self.states = np.zeros((0, self.width), dtype=np.float32)
        self.elapsed = np.zeros(0, dtype=np.float64)
        self.last_time = np.zeros(0, dtype=np.float64)  # NaN: never timestamped

    @property
    def width(self):
        """Columns of a state: one accumulator per decay and feature."""
        return len(self.decays) * self.n_features

    def __len__(self):
        return len(self.index)

    def rows(self, stream_ids, timestamps, n_rows):
        """Map the rows of a call onto the streams' current state."""
        if stream_ids is None:
            ids, codes = [DEFAULT_STREAM], np.zeros(n_rows, dtype=np.intp)
        else:
            ids, codes = _factorize(stream_ids, n_rows)
        known = np.fromiter((self.index.get(sid, -1) for sid in ids), np.intp, len(ids))
        seen = known >= 0
        h0 = np.zeros((len(ids), self.width), dtype=np.float32)
        elapsed0 = np.zeros(len(ids))
        time0 = np.full(len(ids), np.nan)
        h0[seen], elapsed0[seen] = self.states[known[seen]], self.elapsed[known[seen]]
        time0[seen] = self.last_time[known[seen]]

        lengths = np.bincount(codes, minlength=len(ids))
        last_rows = np.cumsum(lengths) - 1
        if timestamps is None:
            steps = None
            position = _position_in_stream(codes, lengths)
            elapsed = elapsed0[codes] + position + 1
            final_time = time0 + lengths  # still NaN for never-timestamped streams
        else:
            order = np.argsort(codes, kind="stable")
            times = np.asarray(timestamps, dtype=np.float64)[order] / self.time_unit
            previous = np.empty_like(times)
            previous[1:] = times[:-1]
            firsts = last_rows - lengths + 1
            # A stream's first row follows its last timestamp, or a virtual
            # row one unit earlier when it has none.
            start = np.where(np.isnan(time0), times[firsts] - 1.0, time0)
            previous[firsts] = start
            sorted_steps = times - previous
            if not np.all(sorted_steps > 0):
                raise ValueError(
                    "timestamps must increase strictly within each stream, also "
                    "from one call to the next."
                )
            steps = np.empty_like(sorted_steps)
            steps[order] = sorted_steps
            sorted_elapsed = np.repeat(elapsed0 - start, lengths) + times
            elapsed = np.empty_like(sorted_elapsed)
            elapsed[order] = sorted_elapsed
            final_time = times[last_rows]
        final_elapsed = np.zeros(len(ids))
        final_elapsed[lengths > 0] = elapsed[_last_index(codes, len(ids))][lengths > 0]
        return StreamRows(ids, codes, h0, steps, elapsed, final_elapsed, final_time)

    def _scan(self, X, stream_ids, timestamps, device):
        rows = self.rows(stream_ids, timestamps, X.shape[0])
        x = as_tensor(X, device)
        states, final = scan_codes(
            x, self._bank_array(), rows.codes, rows.initial_states, steps=rows.steps
        )
        update = StateUpdate(
            rows.stream_ids, final.cpu().numpy(), rows.final_elapsed, rows.final_time
        )
        return rows, x, states, update

    def advance(self, X, stream_ids=None, timestamps=None, device="cpu"):
        """The :class:`StateUpdate` that carries each stream over ``X``."""
        return self._scan(X, stream_ids, timestamps, device)[3]

    def features(self, X, stream_ids=None, timestamps=None, device="cpu"):
        """Network input ``[x_t, a_t(d) for d in decays]`` of every row.

        The scan and the bias correction run on ``device``: with a GPU, the
        rows go there once and only the final states come back.

        Parameters
        ----------
        X : ndarray of shape (n_rows, n_features), float32
        stream_ids : array-like of shape (n_rows,), default=None
            None means that every row belongs to the default stream.
        timestamps : array-like of shape (n_rows,), default=None
            Time of each row, increasing within a stream. None: one unit per row.
        device : str or torch.device, default="cpu"

        Returns
        -------
        features : tensor of shape (n_rows, n_features * (1 + n_decays)), float32
        update : StateUpdate
            State of each stream of the call after its last row.
        """
        rows, x, states, update = self._scan(X, stream_ids, timestamps, device)
        n_features = self.n_features
        features = x.new_empty((x.shape[0], n_features + self.width))
        features[:, :n_features] = x
        features[:, n_features:] = states
        del states
        # Divide by 1 - d^elapsed only where it is not 1 to float32 precision
        # (d^elapsed >= 2^-26): the first rows of each stream.
        d_max = float(self.decay_matrix.max())
        if d_max > 0:
            needed = np.flatnonzero(rows.elapsed < -26 * np.log(2) / np.log(d_max))
            if needed.size:
                with np.errstate(divide="ignore"):  # log(0) = -inf: d^elapsed = 0
                    log_decay = np.log(self.decay_matrix).reshape(1, -1)
                elapsed = rows.elapsed[needed, None]
                weight_sums = torch.as_tensor(
                    -np.expm1(elapsed * log_decay), device=device
                )
                index = torch.as_tensor(needed, device=device)
                corrected = features[index, n_features:] / weight_sums
                features[index, n_features:] = corrected.to(features.dtype)
        return features, update

    def _bank_array(self):
        """The bank as floats (shared decays) or an (n_decays, n_features) array."""
        if all(isinstance(d, float) for d in self.decays):
            return tuple(self.decays)
        return self.decay_matrix

    def commit(self, update):
        """Store the state of the streams in ``update``."""
        new = [sid for sid in update.stream_ids if sid not in self.index]
        if new:
            start = len(self.index)
            self.index.update({sid: start + k for k, sid in enumerate(new)})
            self.states = np.concatenate(
                [self.states, np.zeros((len(new), self.width), np.float32)]
            )
            self.elapsed = np.concatenate([self.elapsed, np.zeros(len(new))])
            self.last_time = np.concatenate([self.last_time, np.full(len(new), np.nan)])
        rows = np.fromiter(
            (self.index[sid] for sid in update.stream_ids),
            np.intp,
            len(update.stream_ids),
        )
        self.states[rows] = update.states
        self.elapsed[rows] = update.elapsed
        self.last_time[rows] = update.last_time

    def reset(self, stream_ids=None):
        """Forget every stream, or only ``stream_ids`` (unknown ids are ignored).

        ``stream_ids`` is a sequence of ids, or one id that is not a sequence.
        """
        if stream_ids is None:
            keep = []
        else:
            stream_ids = np.asarray(stream_ids)
            if stream_ids.ndim == 0:  # one id
                stream_ids = stream_ids.reshape(1)
            ids, _ = _factorize(stream_ids, len(stream_ids))
            drop = set(ids)
            keep = [sid for sid in self.index if sid not in drop]
        rows = np.fromiter((self.index[sid] for sid in keep), np.intp, len(keep))
        self.index = {sid: k for k, sid in enumerate(keep)}
        self.states = self.states[rows]
        self.elapsed = self.elapsed[rows]
        self.last_time = self.last_time[rows]


def _position_in_stream(codes, lengths):
    """0-based position of each row within its stream, in row order."""
    if len(lengths) == 1:
        return np.arange(len(codes))
    order = np.argsort(codes, kind="stable")
    starts = np.cumsum(lengths) - lengths
    position = np.empty(len(codes), dtype=np.intp)
    position[order] = np.arange(len(codes)) - np.repeat(starts, lengths)
    return position


def _last_index(codes, n_streams):
    """Row index of the last row of each stream (0 for streams without rows)."""
    lengths = np.bincount(codes, minlength=n_streams)
    order = np.argsort(codes, kind="stable")
    last = np.zeros(n_streams, dtype=np.intp)
    has_rows = lengths > 0
    last[has_rows] = order[(np.cumsum(lengths) - 1)[has_rows]]
    return last
