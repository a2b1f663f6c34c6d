"""Per-stream accumulator state and the features the network sees.

A :class:`StreamStates` holds, for every stream seen so far, its accumulator
state and the number of rows it has accumulated. :meth:`StreamStates.features`
is pure: it returns the network's input for a block of rows and the
:class:`StateUpdate` that would carry each stream to its last row, which the
caller commits only once the whole call has succeeded.

Bias correction
---------------
A stream starts from a zero state, so early states are shrunk towards zero:
after ``n`` rows the weights ``(1 - d) d^k`` sum to ``1 - d^n``. As Adam does
for its moments, the features divide the state by ``1 - d^n``, so that they are
a weighted *average* of the rows seen from the first row on (``a_0 = x_0``).
The stored state stays raw, and the row count makes the correction exact
across calls.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

from dataclasses import dataclass

import numpy as np

from ._accumulate import _factorize, scan_codes

# The key of the single stream of calls made without ``stream_ids``.
DEFAULT_STREAM = None


@dataclass(frozen=True)
class StateUpdate:
    """New state of the streams that a call touched, ready to commit."""

    stream_ids: list
    states: np.ndarray
    counts: np.ndarray


class StreamStates:
    """Accumulator state and row count of every stream seen so far.

    Parameters
    ----------
    decays : tuple of float
        The decay bank.
    n_features : int
        Features of a row.
    """

    def __init__(self, decays, n_features):
        self.decays = tuple(decays)
        self.n_features = n_features
        self.index = {}  # stream id -> row of ``states``
        self.states = np.zeros((0, self.width), dtype=np.float32)
        self.counts = np.zeros(0, dtype=np.int64)

    @property
    def width(self):
        """Columns of a state: one accumulator per decay and feature."""
        return len(self.decays) * self.n_features

    def __len__(self):
        return len(self.index)

    def _lookup(self, stream_ids):
        """Current state and count of each stream; zeros for unseen ones."""
        states = np.zeros((len(stream_ids), self.width), dtype=np.float32)
        counts = np.zeros(len(stream_ids), dtype=np.int64)
        for k, sid in enumerate(stream_ids):
            row = self.index.get(sid)
            if row is not None:
                states[k], counts[k] = self.states[row], self.counts[row]
        return states, counts

    def features(self, X, stream_ids=None):
        """Network input ``[x_t, a_t(d) for d in decays]`` of every row.

        Parameters
        ----------
        X : ndarray of shape (n_rows, n_features), float32
        stream_ids : array-like of shape (n_rows,), default=None
            None means that every row belongs to the default stream.

        Returns
        -------
        features : ndarray of shape (n_rows, n_features * (1 + n_decays))
        update : StateUpdate
            State of each stream of the call after its last row.
        """
        n_rows = X.shape[0]
        if stream_ids is None:
            ids, codes = [DEFAULT_STREAM], np.zeros(n_rows, dtype=np.intp)
        else:
            ids, codes = _factorize(stream_ids, n_rows)
        h0, counts0 = self._lookup(ids)
        states, final = scan_codes(X, self.decays, codes, h0)

        lengths = np.bincount(codes, minlength=len(ids))
        seen = counts0[codes] + _position_in_stream(codes, lengths) + 1
        features = np.empty((n_rows, self.n_features + self.width), dtype=np.float32)
        features[:, : self.n_features] = X
        for k, decay in enumerate(self.decays):
            cols = slice(self.n_features * (k + 1), self.n_features * (k + 2))
            # seen >= 1, so the weight sum is > 0; d**seen underflows to 0 for
            # long streams, where no correction is needed.
            weight_sum = -np.expm1(seen * np.log(decay)) if decay > 0 else 1.0
            block = states[:, k * self.n_features : (k + 1) * self.n_features]
            features[:, cols] = block / np.reshape(weight_sum, (-1, 1))
        return features, StateUpdate(ids, final, counts0 + lengths)

    def commit(self, update):
        """Store the state of the streams in ``update``."""
        rows = []
        new = [sid for sid in update.stream_ids if sid not in self.index]
        if new:
            start = len(self.index)
            self.index.update({sid: start + k for k, sid in enumerate(new)})
            self.states = np.concatenate(
                [self.states, np.zeros((len(new), self.width), np.float32)]
            )
            self.counts = np.concatenate([self.counts, np.zeros(len(new), np.int64)])
        rows = np.fromiter(
            (self.index[sid] for sid in update.stream_ids), np.intp, len(update.stream_ids)
        )
        self.states[rows] = update.states
        self.counts[rows] = update.counts

    def reset(self, stream_ids=None):
        """Forget every stream, or only ``stream_ids`` (unknown ids are ignored)."""
        if stream_ids is None:
            self.index = {}
            self.states = self.states[:0]
            self.counts = self.counts[:0]
            return
        ids, _ = _factorize(stream_ids, len(stream_ids))
        drop = {self.index[sid] for sid in ids if sid in self.index}
        keep = [sid for sid, row in self.index.items() if row not in drop]
        rows = np.fromiter((self.index[sid] for sid in keep), np.intp, len(keep))
        self.index = {sid: k for k, sid in enumerate(keep)}
        self.states = self.states[rows]
        self.counts = self.counts[rows]


def _position_in_stream(codes, lengths):
    """0-based position of each row within its stream, in row order."""
    if len(lengths) == 1:
        return np.arange(len(codes))
    order = np.argsort(codes, kind="stable")
    starts = np.cumsum(lengths) - lengths
    position = np.empty(len(codes), dtype=np.intp)
    position[order] = np.arange(len(codes)) - np.repeat(starts, lengths)
    return position
