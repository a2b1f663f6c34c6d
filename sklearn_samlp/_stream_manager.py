"""The original data API: time-major streams and loaders for the torch model."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import math

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from ._validation import check_int, check_real
from .datasets._regime import _make_regime_means, _sample_regime_streams

__all__ = ["StreamManager"]


class StreamManager:
    """Generate and package streams for :class:`SignalAccumulativeMLP`.

    The data follow the hidden-regime model of
    :func:`~sklearn_samlp.datasets.make_regime_streams`: every stream has a
    hidden class (regime) that switches rarely, and each time step emits a
    ``vocab_size``-dimensional real vector equal to the class mean plus
    strong Gaussian noise. One step alone is a weak predictor of the label;
    a decaying average of the stream's past is a good one, so the
    accumulator model clearly beats a memoryless one (``accumulator_decay=0``).

    The class means are drawn once, at construction, from ``random_state``:
    every call to :meth:`get_torch_batches` then samples new streams of the
    same task (train and validation data are compatible), different from
    call to call but reproducible for a given seed and call order.

    Parameters
    ----------
    vocab_size : int, default=8
        Number of features per time step.

    num_classes : int, default=2
        Number of hidden regimes (classes).

    switch_prob : float, default=0.02
        Per-step probability that a stream changes regime, in ``[0, 1]``.

    noise : float, default=2.0
        Standard deviation of the per-feature noise; the class means have
        unit norm.

    random_state : int, numpy.random.Generator or None, default=0
        Seed of the manager's own :class:`numpy.random.Generator` (created
        with :func:`numpy.random.default_rng`; a Generator is used as is).
        The global numpy and torch random states are never touched.

    See Also
    --------
    sklearn_samlp.datasets.make_regime_streams : The same generator as numpy
        arrays grouped by stream.

    Examples
    --------
    >>> from sklearn_samlp import StreamManager
    >>> manager = StreamManager(vocab_size=5, random_state=0)
    >>> x, y = manager.get_torch_batches(num_streams=4, sequence_length=10)
    >>> x.shape, x.dtype, y.shape, y.dtype
    (torch.Size([40, 5]), torch.float32, torch.Size([40]), torch.int64)
    >>> loader = manager.load_data(4, x, y)
    >>> len(loader)  # one batch per time step
    10
    >>> inputs, targets = next(iter(loader))
    >>> inputs.shape
    torch.Size([4, 5])
    """

    def __init__(
        self, vocab_size=8, num_classes=2, switch_prob=0.02, noise=2.0, random_state=0
    ):
        self.vocab_size = check_int("vocab_size", vocab_size, 1)
        self.num_classes = check_int("num_classes", num_classes, 2)
        self.switch_prob = check_real("switch_prob", switch_prob, 0, 1, True)
        self.noise = check_real("noise", noise, 0, math.inf, False)
        self.random_state = random_state
        try:
            self._rng = np.random.default_rng(random_state)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                "random_state must be None, an int, a SeedSequence or a "
                f"numpy.random.Generator, got {random_state!r}."
            ) from exc
        self.class_means_ = _make_regime_means(
            self._rng, self.num_classes, self.vocab_size
        )

    def get_vocab_size(self):
        """Return the number of features per time step.

        Returns
        -------
        vocab_size : int
        """
        return self.vocab_size

    def get_torch_batches(self, num_streams, sequence_length):
        """Sample new streams, laid out time-major.

        Parameters
        ----------
        num_streams : int
            Number of parallel streams.

        sequence_length : int
            Number of time steps per stream.

        Returns
        -------
        x : torch.Tensor of shape (sequence_length * num_streams, vocab_size)
            float32 observations. Rows ``t * num_streams`` to
            ``(t + 1) * num_streams - 1`` are time step ``t`` of streams
            ``0 .. num_streams - 1``, in that order.

        y : torch.Tensor of shape (sequence_length * num_streams,)
            int64 labels in ``range(num_classes)``, same layout.
        """
        num_streams = check_int("num_streams", num_streams, 1)
        sequence_length = check_int("sequence_length", sequence_length, 1)
        X, y = _sample_regime_streams(
            self._rng,
            self.class_means_,
            num_streams,
            sequence_length,
            self.switch_prob,
            self.noise,
        )
        # (stream, time, feature) -> (time, stream, feature) -> rows.
        x = np.ascontiguousarray(X.transpose(1, 0, 2)).reshape(-1, self.vocab_size)
        y = np.ascontiguousarray(y.T).reshape(-1)
        return (
            torch.from_numpy(x.astype(np.float32)),
            torch.from_numpy(y.astype(np.int64)),
        )

    @staticmethod
    def to_time_major(X, y, stream_ids):
        """Interleave rows grouped by stream into the time-major layout.

        Use it to feed your own data, e.g. the output of
        :func:`~sklearn_samlp.datasets.make_regime_streams`, to
        :meth:`load_data` and :class:`SignalAccumulativeMLP`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations. Within each stream, rows must be in time order.

        y : array-like of shape (n_samples,)
            Integer labels.

        stream_ids : array-like of shape (n_samples,)
            Stream of each row. Every stream must have the same number of
            rows. Streams are numbered in order of first appearance.

        Returns
        -------
        x : torch.Tensor of shape (n_samples, n_features)
            float32, rows ``t * n_streams .. (t + 1) * n_streams - 1`` being
            time step ``t`` of every stream.

        y : torch.Tensor of shape (n_samples,)
            int64 labels in the same layout.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_samlp import StreamManager
        >>> X = np.arange(6.0).reshape(6, 1)
        >>> x, y = StreamManager.to_time_major(X, [0, 0, 0, 1, 1, 1],
        ...                                    [0, 0, 0, 1, 1, 1])
        >>> x.ravel()
        tensor([0., 3., 1., 4., 2., 5.])
        >>> y
        tensor([0, 1, 0, 1, 0, 1])
        """
        X = np.asarray(X)
        y = np.asarray(y)
        stream_ids = np.asarray(stream_ids)
        if X.ndim != 2:
            raise ValueError(f"X must be 2D, got shape {X.shape}.")
        if y.shape != (len(X),) or stream_ids.shape != (len(X),):
            raise ValueError(
                f"y and stream_ids must have shape ({len(X)},), got {y.shape} "
                f"and {stream_ids.shape}."
            )
        _, first, inverse, counts = np.unique(
            stream_ids, return_index=True, return_inverse=True, return_counts=True
        )
        if len(counts) and np.any(counts != counts[0]):
            raise ValueError(
                "Every stream must have the same number of rows to be laid "
                f"out time-major; got lengths {sorted(set(counts.tolist()))}."
            )
        # Rank streams by first appearance; stable sort keeps time order.
        rank = np.argsort(np.argsort(first))[inverse.ravel()]
        order = np.argsort(rank, kind="stable")
        n_streams = len(counts)
        n_steps = counts[0] if n_streams else 0
        x = X[order].reshape(n_streams, n_steps, X.shape[1]).transpose(1, 0, 2)
        yt = y[order].reshape(n_streams, n_steps).T
        return (
            torch.as_tensor(
                np.ascontiguousarray(x).reshape(len(X), -1), dtype=torch.float32
            ),
            torch.as_tensor(np.ascontiguousarray(yt).reshape(-1), dtype=torch.int64),
        )

    def load_data(self, batch_size, x, y):
        """Wrap time-major data in an ordered :class:`~torch.utils.data.DataLoader`.

        Batches are consecutive rows, never shuffled: batch ``k`` holds rows
        ``k * batch_size`` to ``(k + 1) * batch_size - 1``. With time-major
        data of ``num_streams`` streams (as returned by
        :meth:`get_torch_batches` or :meth:`to_time_major`) and
        ``batch_size == num_streams``, batch ``t`` is time step ``t`` of all
        streams, the layout :class:`SignalAccumulativeMLP` expects. To keep
        every batch a full time step, the number of rows must be a multiple
        of ``batch_size``.

        Parameters
        ----------
        batch_size : int
            Rows per batch; use the number of streams.

        x : torch.Tensor or array-like of shape (n_samples, n_features)
            Inputs, converted to float32.

        y : torch.Tensor or array-like of shape (n_samples,)
            Integer targets, converted to int64.

        Returns
        -------
        loader : torch.utils.data.DataLoader
            Loader over a :class:`~torch.utils.data.TensorDataset` with
            ``shuffle=False``.
        """
        batch_size = check_int("batch_size", batch_size, 1)
        x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x)
        y = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y)
        if x.dim() != 2:
            raise ValueError(f"x must be 2D, got shape {tuple(x.shape)}.")
        if y.dim() != 1 or len(y) != len(x):
            raise ValueError(
                f"y must have shape ({len(x)},) to match x, got {tuple(y.shape)}."
            )
        if len(x) % batch_size:
            raise ValueError(
                f"x has {len(x)} rows, not a multiple of batch_size={batch_size}: "
                "the last batch would not be a full time step. Pass "
                "batch_size equal to the number of streams of time-major data."
            )
        if y.is_floating_point() and not bool(torch.all(y == y.round())):
            raise ValueError("y must hold integer class labels.")
        dataset = TensorDataset(x.to(torch.float32), y.to(torch.int64))
        return DataLoader(dataset, batch_size=batch_size, shuffle=False)
