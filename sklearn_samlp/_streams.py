"""Per-stream accumulator state and the features the network sees.

A :class:`StreamStates` holds, for every stream seen so far, its accumulator
state, the time it has accumulated and the time of its last row.
:meth:`StreamStates.features` is pure: it returns the network's input for a
block of rows and the :class:`StateUpdate` that would carry each stream to its
last row, which the caller commits only once the whole call has succeeded.

Three paths compute the same recurrence: calls of a few rows take a numpy step
per row (:data:`SHORT_CALL`), calls with one row for each of their streams
(many live streams) one vectorised step, and everything else the blocked
scan of :mod:`sklearn_samlp._accumulate`. Stream ids (any hashable but NaN)
are factorised here and looked up in a dict; decays are checked here.

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

import threading
from dataclasses import dataclass
from numbers import Real

import numpy as np
import torch

from ._accumulate import _one_step, as_tensor, bias_correction, scan_codes

# The key of the single stream of calls made without ``stream_ids``.
DEFAULT_STREAM = None
# Calls of at most this many rows on the CPU take the short path: a loop over
# the rows in numpy, O(1) per row in the number of streams, no scan set-up.
SHORT_CALL = 8
_ARRAYS = ("states", "elapsed", "last_time")


@dataclass(frozen=True)
class StateUpdate:
    """New state of the streams that a call touched, ready to commit."""

    stream_ids: list
    states: np.ndarray
    elapsed: np.ndarray
    last_time: np.ndarray
    # (version of the index, row of each stream or -1) when the state was
    # read: lets commit skip the dict look-ups if the index has not changed.
    hint: tuple | None = None


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
    hint: tuple | None = None


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

    Notes
    -----
    The states live in arrays that grow by doubling, one row per stream, so
    a stream costs ``4 * width + 16`` bytes of state (float32 accumulators,
    float64 elapsed and last time) plus its entry in the ``index`` dict (about
    100 bytes with a small int or short str id) and in the list of ids by row
    (8 bytes), whether it saw one row or a
    million. ``states``, ``elapsed`` and ``last_time`` are views of the rows in
    use.

    Thread safety: reads of the state (:meth:`rows`) and writes
    (:meth:`commit`, :meth:`reset`) hold a lock, so a reader sees every stream
    of a call either before or after a concurrent commit, never half of it.
    Read-modify-write sequences (advance, then commit) must be serialised by
    the caller, as the estimator does.
    """

    def __init__(self, decays, n_features, time_unit=1.0):
        self.n_features = n_features
        self.decays = _decay_bank(decays, n_features)
        # Decay of every accumulated feature, shape (n_decays, n_features).
        self.decay_matrix = np.stack(
            [np.broadcast_to(d, n_features) for d in self.decays]
        )
        self.time_unit = float(time_unit)
        # The short path's constants, per accumulated feature.
        self._decay_flat = self.decay_matrix.reshape(-1)
        self._decay32 = self._decay_flat.astype(np.float32)
        self._one_minus32 = (1 - self._decay_flat).astype(np.float32)
        shape = self.decay_matrix.shape
        self._decay32_2d = self._decay32.reshape(shape)
        self._one_minus32_2d = self._one_minus32.reshape(shape)
        with np.errstate(divide="ignore"):  # log(0) = -inf: d^elapsed = 0
            self._log_decay = np.log(self._decay_flat)
        # 1 - d^n is 1 to float32 precision once d^n < 2^-26.
        d_max = float(self._decay_flat.max())
        self._correct_below = -26 * np.log(2) / np.log(d_max) if d_max > 0 else 0.0
        self._lock = threading.RLock()
        self._set_arrays({}, *self._empty(0))

    def _empty(self, n_rows):
        return (
            np.zeros((n_rows, self.width), dtype=np.float32),
            np.zeros(n_rows, dtype=np.float64),
            np.full(n_rows, np.nan),  # NaN: never timestamped
        )

    def _set_arrays(self, index, states, elapsed, last_time):
        """Install ``index`` and arrays whose first ``len(index)`` rows are used."""
        self.index = index  # stream id -> row of the arrays below
        self._ids = list(index)  # row -> stream id (the rows are dense)
        self._buffers = (states, elapsed, last_time)
        self._version = getattr(self, "_version", 0) + 1  # rows may have moved

    # The rows in use, as views; assigning one replaces its rows in use.
    states = property(
        lambda self: self._buffers[0][: len(self.index)],
        lambda self, value: self._assign(0, value),
    )
    elapsed = property(
        lambda self: self._buffers[1][: len(self.index)],
        lambda self, value: self._assign(1, value),
    )
    last_time = property(
        lambda self: self._buffers[2][: len(self.index)],
        lambda self, value: self._assign(2, value),
    )

    def _assign(self, k, value):
        buffers = list(self._buffers)
        buffers[k] = np.array(value, dtype=buffers[k].dtype)
        self._buffers = tuple(buffers)

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_lock"]
        n = len(self.index)  # no spare capacity in a pickle
        state["_buffers"] = tuple(b[:n].copy() for b in self._buffers)
        return state

    def __setstate__(self, state):
        if "_buffers" not in state:  # pickled before the buffers existed
            state["_buffers"] = tuple(state.pop(name) for name in _ARRAYS)
            state["_version"] = 0
        if "_ids" not in state:  # pickled when the index was in row order
            state["_ids"] = list(state["index"])
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def to_arrays(self):
        """``(ids, states, elapsed, last_time)``: the state of every stream.

        ``ids`` is a list in row order; the arrays are copies.
        """
        with self._lock:
            ids = list(self._ids)
            return (ids, *(b[: len(ids)].copy() for b in self._buffers))

    @classmethod
    def from_arrays(
        cls, decays, n_features, time_unit, ids, states, elapsed, last_time, **kwargs
    ):
        """A :class:`StreamStates` holding the arrays of :meth:`to_arrays`.

        ``kwargs`` go to the constructor of ``cls`` (a subclass may need more).

        Raises ValueError when the arrays contradict each other: shapes that
        do not match the ids, duplicate or NaN ids, non-finite states,
        elapsed times that are not positive, infinite last times.
        """
        streams = cls(decays, n_features, time_unit, **kwargs)
        n = len(ids)
        ids_array = np.empty(n, dtype=object)
        ids_array[:] = ids
        _check_no_nan(ids_array, "stream ids")
        index = {sid: k for k, sid in enumerate(ids)}
        if len(index) != n:
            raise ValueError("the stream ids are not unique.")
        arrays = []
        for name, values, shape, dtype in zip(
            _ARRAYS,
            (states, elapsed, last_time),
            ((n, streams.width), (n,), (n,)),
            (np.float32, np.float64, np.float64),
        ):
            values = np.asarray(values)
            if values.shape != shape:
                raise ValueError(
                    f"the stream {name} have shape {values.shape}, expected {shape} "
                    "for the stream ids and the decays."
                )
            arrays.append(values.astype(dtype))
        states, elapsed, last_time = arrays
        if not np.isfinite(states).all():
            raise ValueError("the stream states contain NaN or infinity.")
        if not (np.isfinite(elapsed) & (elapsed > 0)).all():
            raise ValueError("the stream elapsed times must be positive and finite.")
        if np.isinf(last_time).any():
            raise ValueError("the stream last times must be finite or NaN.")
        streams._set_arrays(index, states, elapsed, last_time)
        return streams

    @property
    def width(self):
        """Columns of a state: one accumulator per decay and feature."""
        return len(self.decays) * self.n_features

    @property
    def n_inputs(self):
        """Columns of the network's input: the row and its accumulators."""
        return self.n_features + self.width

    def __len__(self):
        return len(self.index)

    def rows(self, stream_ids, timestamps, n_rows):
        """Map the rows of a call onto the streams' current state."""
        ids, codes = self._codes(stream_ids, n_rows)
        h0, elapsed0, time0, hint = self._gather(ids, hint=True)

        lengths = np.bincount(codes, minlength=len(ids))
        last_rows = np.cumsum(lengths) - 1
        one_each = len(ids) == n_rows  # a row for each stream: nothing to sort
        if timestamps is None:
            steps = None
            position = 0 if one_each else _position_in_stream(codes, lengths)
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
                raise ValueError(_TIMESTAMPS_GO_BACK)
            steps = np.empty_like(sorted_steps)
            steps[order] = sorted_steps
            sorted_elapsed = np.repeat(elapsed0 - start, lengths) + times
            elapsed = np.empty_like(sorted_elapsed)
            elapsed[order] = sorted_elapsed
            final_time = times[last_rows]
        if one_each:
            final_elapsed = np.empty(len(ids))
            final_elapsed[codes] = elapsed
        else:
            final_elapsed = np.zeros(len(ids))
            last = _last_index(codes, len(ids))
            final_elapsed[lengths > 0] = elapsed[last][lengths > 0]
        return StreamRows(
            ids, codes, h0, steps, elapsed, final_elapsed, final_time, hint
        )

    def _codes(self, stream_ids, n_rows):
        """``(ids, codes)`` of the rows' streams; see :func:`_factorize`."""
        if stream_ids is None:
            return [DEFAULT_STREAM], np.zeros(n_rows, dtype=np.intp)
        if (
            n_rows <= SHORT_CALL
            and isinstance(stream_ids, np.ndarray)
            and stream_ids.dtype.kind not in "mM"  # NaT.tolist() is None
        ):
            return _factorize_few(stream_ids, n_rows)
        return _factorize(stream_ids, n_rows)

    def _gather(self, ids, hint=False):
        """Raw state, elapsed and last time of ``ids`` (zeros, 0, NaN if new).

        With ``hint``, also ``(version, rows)`` for :attr:`StateUpdate.hint`.
        """
        with self._lock:
            index = self.index
            if len(ids) == 1 and not hint:  # one stream: no index arrays
                row = index.get(ids[0])
                if row is None:
                    return self._empty(1)
                return tuple(b[row : row + 1].copy() for b in self._buffers)
            known = np.fromiter((index.get(sid, -1) for sid in ids), np.intp, len(ids))
            version = self._version
            seen = known >= 0
            if seen.all():  # no boolean masks: the common case of known streams
                arrays = tuple(b[known] for b in self._buffers)
            else:
                arrays = self._empty(len(ids))
                rows = known[seen]
                for array, buffer in zip(arrays, self._buffers):
                    array[seen] = buffer[rows]
        return (*arrays, (version, known)) if hint else arrays

    def _scan(self, X, stream_ids, timestamps, device, out=None):
        """Rows, the rows as a tensor, their states and the update.

        ``out``: a callable returning a tensor (view) of shape (n_rows, width)
        to write the states to; the update then holds copies, not views, of
        them. It is called once the scan's own buffers are freed, so that the
        peak memory is the scan's or its output's, not both.
        """
        rows = self.rows(stream_ids, timestamps, X.shape[0])
        x = as_tensor(X, device)
        if len(rows.stream_ids) == len(x):  # a row for each stream: one step each
            states, final = self._one_step(x, rows, None if out is None else out())
        else:
            states, final = scan_codes(
                x, self._bank_array(), rows.codes, rows.initial_states, steps=rows.steps
            )
            final = final.cpu().numpy()
            if out is not None:
                states = out().copy_(states)
        update = StateUpdate(
            rows.stream_ids, final, rows.final_elapsed, rows.final_time, rows.hint
        )
        return rows, x, states, update

    def _one_step(self, x, rows, out=None):
        """States of rows that each start their stream's call: no grouping.

        The many-live-streams case (a row from each of a million streams)
        needs neither sorting nor block layout; memory stays a few copies of
        the rows. Returns the states (tensor, row order) and the final states
        (ndarray, stream order).
        """
        codes = rows.codes
        in_order = bool(codes[0] == 0 and np.all(np.diff(codes) == 1))
        h0 = rows.initial_states if in_order else rows.initial_states[codes]
        h0 = torch.as_tensor(h0, device=x.device)
        steps = (
            None if rows.steps is None else torch.as_tensor(rows.steps, device=x.device)
        )
        f = self.n_features
        states = x.new_empty((len(x), self.width)) if out is None else out
        for k, decay in enumerate(self._bank_array()):
            if not isinstance(decay, float):
                decay = torch.as_tensor(decay, device=x.device)
            cols = slice(k * f, (k + 1) * f)
            _one_step(x, decay, h0[:, cols], steps, True, out=states[:, cols])
        del h0
        if in_order:
            final = states.cpu().numpy()  # shares memory on the CPU
            if out is not None:  # which the caller goes on to change
                final = final.copy()
        else:
            final = np.empty(tuple(states.shape), np.float32)
            final[codes] = states.cpu().numpy()
        return states, final

    def advance(self, X, stream_ids=None, timestamps=None, device="cpu"):
        """The :class:`StateUpdate` that carries each stream over ``X``."""
        if self._is_short(X, device):
            return self._short(X, stream_ids, timestamps, features=False)[1]
        return self._scan(X, stream_ids, timestamps, device)[3]

    def _is_short(self, X, device):
        return (
            type(X) is np.ndarray
            and X.shape[0] <= SHORT_CALL
            and X.dtype == np.float32
            and (device == "cpu" or torch.device(device).type == "cpu")
        )

    def _short(self, X, stream_ids, timestamps, features=True):
        """Features and update of a few rows, one numpy step per row.

        The same recurrence as the scan, row by row: a stream's state moves
        by ``a = g a + (1 - g) x`` with ``g = d^step``, O(1) in the number of
        streams and in the length of their past.
        """
        n_rows, n_features = X.shape
        ids, codes = self._codes(stream_ids, n_rows)
        h, elapsed, last_time = self._gather(ids)
        # (n_streams, n_decays, n_features) view: x broadcasts over the bank.
        h3 = h.reshape(len(ids), -1, n_features)
        elapsed, last_time = elapsed.tolist(), last_time.tolist()
        out = None
        if features:
            out = np.empty((n_rows, n_features + self.width), np.float32)
            out[:, :n_features] = X
        if timestamps is not None:
            times = (np.asarray(timestamps, dtype=np.float64) / self.time_unit).tolist()
        g, one_minus_g = self._decay32_2d, self._one_minus32_2d
        for i, c in enumerate(codes.tolist()):
            if timestamps is None:
                step = 1.0
                last_time[c] += 1.0  # stays NaN for a never-timestamped stream
            else:
                t, previous = times[i], last_time[c]
                step = 1.0 if previous != previous else t - previous  # NaN: first
                if not step > 0:
                    raise ValueError(_TIMESTAMPS_GO_BACK)
                g = self.decay_matrix**step
                g, one_minus_g = g.astype(np.float32), (1 - g).astype(np.float32)
                last_time[c] = t
            state = h3[c]
            state *= g
            state += one_minus_g * X[i]
            elapsed[c] += step
            if features:
                row = out[i, n_features:]
                row[:] = h[c]
                if elapsed[c] < self._correct_below:
                    row /= bias_correction(self._log_decay, elapsed[c])
        update = StateUpdate(ids, h, np.array(elapsed), np.array(last_time))
        return (None if out is None else torch.from_numpy(out)), update

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
        if self._is_short(X, device):
            return self._short(X, stream_ids, timestamps)
        n_features = self.n_features
        x = as_tensor(X, device)
        allocated = []

        def state_columns():
            features = x.new_empty((x.shape[0], n_features + self.width))
            features[:, :n_features] = x
            allocated.append(features)
            return features[:, n_features:]

        rows, _, _, update = self._scan(
            x, stream_ids, timestamps, device, out=state_columns
        )
        (features,) = allocated
        elapsed = rows.elapsed
        del rows  # the initial states: as large as the states
        # Divide by 1 - d^elapsed only where it is not 1 to float32 precision:
        # the first rows of each stream.
        # In the rows' dtype: a million rows' float64 weights would cost more
        # memory than their features.
        needed = np.flatnonzero(elapsed < self._correct_below)
        if needed.size:
            log_decay = torch.as_tensor(
                self._log_decay, dtype=features.dtype, device=device
            )
            elapsed = elapsed[needed]
            if elapsed.min() == elapsed.max():  # e.g. one row of many streams
                elapsed = elapsed[:1]  # one row of weights, broadcast
            elapsed = torch.as_tensor(elapsed, device=device)
            weight_sums = bias_correction(
                log_decay, elapsed.to(features.dtype)[:, None]
            )
            if needed.size == len(features):  # every row: no gather, no scatter
                features[:, n_features:] /= weight_sums
            else:
                index = torch.as_tensor(needed, device=device)
                features[index, n_features:] /= weight_sums
        return features, update

    def last_row_features(self, X, stream_ids=None, timestamps=None, device="cpu"):
        """Network input at the last row of each stream of the call; changes nothing.

        Returns the streams' ids and their features, shape (n_streams,
        n_inputs), in the order of the ids (sorted, where they sort). A
        subclass may compute them without the features of every row.
        """
        ids, codes = self._codes(stream_ids, X.shape[0])
        features, _ = self.features(X, stream_ids, timestamps, device)
        last = torch.as_tensor(_last_index(codes, len(ids)), device=features.device)
        return ids, features[last]

    def _bank_array(self):
        """The bank as floats (shared decays) or an (n_decays, n_features) array."""
        if all(isinstance(d, float) for d in self.decays):
            return tuple(self.decays)
        return self.decay_matrix

    def commit(self, update):
        """Store the state of the streams in ``update``."""
        ids = update.stream_ids
        with self._lock:
            index = self.index
            if len(ids) == 1:  # a short call: no array building
                row = index.get(ids[0])
                if row is None:
                    self._grow(1)
                    row = index[ids[0]] = len(index)
                    self._ids.append(ids[0])
                    self._version += 1
                rows = slice(row, row + 1)
            elif update.hint is not None and update.hint[0] == self._version:
                rows = update.hint[1]  # still valid: no dict look-ups
                new = np.flatnonzero(rows < 0)
                if new.size:
                    self._grow(new.size)
                    self._version += 1
                    rows = rows.copy()
                    start = len(index)
                    rows[new] = np.arange(start, start + new.size)
                    if new.size == len(ids):  # all new: no lists to build
                        index.update(zip(ids, range(start, start + new.size)))
                        self._ids.extend(ids)
                    else:
                        new_ids = [ids[i] for i in new.tolist()]
                        index.update(zip(new_ids, range(start, start + new.size)))
                        self._ids.extend(new_ids)
            else:
                new = [sid for sid in ids if sid not in index]
                if new:
                    self._grow(len(new))
                    self._version += 1
                    index.update(zip(new, range(len(index), len(index) + len(new))))
                    self._ids.extend(new)
                rows = np.fromiter((index[sid] for sid in ids), np.intp, len(ids))
            states, elapsed, last_time = self._buffers
            states[rows] = update.states
            elapsed[rows] = update.elapsed
            last_time[rows] = update.last_time

    def _grow(self, n_new):
        """Make room for ``n_new`` more streams, doubling the capacity."""
        needed = len(self.index) + n_new
        capacity = len(self._buffers[1])
        if needed <= capacity:
            return
        capacity = max(needed, 2 * capacity, 16)
        grown = self._empty(capacity)
        for new, old in zip(grown, self._buffers):
            new[: len(self.index)] = old[: len(self.index)]
        self._buffers = grown

    def reset(self, stream_ids=None):
        """Forget every stream, or only ``stream_ids`` (unknown ids are ignored).

        ``stream_ids`` is a sequence of ids, or one id that is not a sequence.
        Forgetting a few streams costs time in their number, not in the
        number of streams kept: the last rows move into the freed ones.
        """
        if stream_ids is None:
            with self._lock:
                self._set_arrays({}, *self._empty(0))
            return
        stream_ids = np.asarray(stream_ids)
        if stream_ids.ndim == 0:  # one id
            stream_ids = stream_ids.reshape(1)
        drop = set(_factorize(stream_ids, len(stream_ids))[0])
        with self._lock:
            index = self.index
            if len(drop) * 8 > len(index):  # many: build the kept arrays anew
                keep = [sid for sid in self._ids if sid not in drop]
                rows = np.fromiter((index[sid] for sid in keep), np.intp, len(keep))
                index = {sid: k for k, sid in enumerate(keep)}
                self._set_arrays(index, *(b[rows] for b in self._buffers))
                return
            freed = sorted(
                (index.pop(sid) for sid in drop if sid in index), reverse=True
            )
            # From the highest freed row down, every row above the one being
            # filled holds a kept stream: the last one moves into it.
            ids = self._ids
            for row in freed:
                last = len(ids) - 1
                if row != last:
                    moved = ids[last]
                    ids[row] = moved
                    index[moved] = row
                    for buffer in self._buffers:
                        buffer[row] = buffer[last]
                ids.pop()
            if freed:
                self._version += 1  # rows moved: hints are stale


_TIMESTAMPS_GO_BACK = (
    "timestamps must increase strictly within each stream, also from one call "
    "to the next: a stream continues from its last timestamp, and after fit "
    "every training stream is at its last training row. To score or predict "
    "rows that start again (the training rows themselves, or new series with "
    "reused ids), call reset_accumulators() first, give them new stream ids, "
    "or set after_fit='reset'."
)


def _factorize_few(stream_ids, n_rows):
    """:func:`_factorize` of a handful of ids, in Python: no sort, no unique."""
    if stream_ids.shape != (n_rows,):
        return _factorize(stream_ids, n_rows)  # its error message
    index, codes = {}, []
    for sid in stream_ids.tolist():
        if sid != sid or sid in _INFINITIES:  # NaN, NaT; infinity
            raise ValueError(_NOT_FINITE.format(name="stream_ids"))
        codes.append(index.setdefault(sid, len(index)))
    return list(index), np.array(codes, dtype=np.intp)


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


def _check_decays(decays, *, closed=False, name="decay"):
    """Return ``decays`` as a tuple of floats in [0, 1) (or [0, 1] if ``closed``)."""
    if isinstance(decays, Real):
        decays = (decays,)
    try:
        decays = tuple(float(d) for d in decays)
    except TypeError as exc:
        raise TypeError(
            f"{name} must be a float or a sequence of floats, got {decays!r}."
        ) from exc
    if not decays:
        raise ValueError(f"{name} must hold at least one value, got an empty sequence.")
    interval = "[0, 1]" if closed else "[0, 1)"
    for d in decays:
        if not (0.0 <= d <= 1.0 if closed else 0.0 <= d < 1.0):  # also rejects NaN
            raise ValueError(f"{name} must be in {interval}, got {d!r}.")
    return decays


def _decay_bank(decays, n_features):
    """The bank as a list: a float per shared decay, an array per per-feature one.

    ``decays`` is a float, a sequence of floats, or an array of shape
    ``(n_decays, n_features)`` holding one decay per decay and feature.
    """
    if np.ndim(decays) == 2:
        bank = np.asarray(decays, dtype=np.float64)
        if bank.shape[1] != n_features or not bank.size:
            raise ValueError(
                f"per-feature decays must have shape (n_decays, {n_features}), got "
                f"{bank.shape}."
            )
        if not np.all((bank >= 0) & (bank < 1)):
            raise ValueError("decay must be in [0, 1), got values outside.")
        return list(bank)
    return list(_check_decays(decays))


def _factorize(stream_ids, n_rows):
    """Return (unique ids as a list, integer code of each row)."""
    ids = np.asarray(stream_ids)
    if ids.shape != (n_rows,):
        raise ValueError(
            f"stream_ids must be 1-dimensional with one id per row of X "
            f"({n_rows}), got shape {ids.shape}."
        )
    _check_no_nan(ids, "stream_ids")
    try:
        uniques, codes = np.unique(ids, return_inverse=True)
        return uniques.tolist(), codes.ravel()
    except TypeError:  # ids that numpy cannot sort, e.g. mixed types
        index = {}
        codes = np.fromiter(
            (index.setdefault(i, len(index)) for i in ids.tolist()), np.intp, n_rows
        )
        return list(index), codes


_INFINITIES = (float("inf"), float("-inf"))
_NOT_FINITE = (
    "{name} must not contain NaN or infinity: NaN is not equal to itself, so "
    "its stream could never be found again, and a file cannot hold either."
)


def _check_no_nan(ids, name):
    """Refuse NaN, NaT and infinite ids (unfindable; no file can hold them)."""
    kind = ids.dtype.kind
    if kind in "fc":
        bad = not np.isfinite(ids).all()
    elif kind in "mM":
        bad = np.isnat(ids).any()
    elif kind == "O":
        bad = any(i != i or i in _INFINITIES for i in ids.tolist())
    else:
        bad = False
    if bad:
        raise ValueError(_NOT_FINITE.format(name=name))
