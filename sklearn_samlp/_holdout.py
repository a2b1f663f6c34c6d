"""Validation split by whole streams, and early stopping on it.

``early_stopping=True`` holds out ``validation_fraction`` of the streams, as
``MLPClassifier`` holds out a fraction of its rows, and stops when the
validation accuracy has not improved by ``tol`` for ``n_iter_no_change``
epochs, restoring the best epoch's weights. A stream is never cut in two:
its rows depend on the rows before them, and rows of a stream seen in
training would make the validation score optimistic. With a single stream
there is nothing to hold out but time: the last ``validation_fraction`` of
its rows is held out, as ``TimeSeriesSplit`` would do.

The accumulated features are computed for all rows before the split (each
row's features depend only on its own stream), so both parts see exactly the
features that ``predict`` would.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import math

import numpy as np
import torch
from skorch.callbacks import EarlyStopping

from ._net import TensorBatches


def holdout_rows(codes, n_streams, validation_fraction, generator=None):
    """Boolean mask of the rows held out for validation.

    Parameters
    ----------
    codes : ndarray of shape (n_rows,)
        Stream of each row, as integers in ``[0, n_streams)``.
    n_streams : int
    validation_fraction : float in (0, 1)
    generator : torch.Generator, default=None
        Draws the held-out streams; None: torch's default generator (which
        the estimator has forked and seeded).

    Returns
    -------
    valid : ndarray of shape (n_rows,), bool

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_samlp._holdout import holdout_rows
    >>> holdout_rows(np.zeros(10, dtype=int), 1, 0.2).nonzero()[0]  # its tail
    array([8, 9])
    """
    n_rows = len(codes)
    if n_streams == 1:
        n_valid = min(max(1, math.ceil(validation_fraction * n_rows)), n_rows - 1)
        valid = np.zeros(n_rows, dtype=bool)
        valid[n_rows - n_valid :] = True
        return valid
    n_valid = min(max(1, math.ceil(validation_fraction * n_streams)), n_streams - 1)
    held_out = torch.randperm(n_streams, generator=generator)[:n_valid].numpy()
    return np.isin(codes, held_out)


def check_validation_monitors(callbacks, early_stopping):
    """Refuse callbacks that monitor validation scores when there is no split.

    skorch would fail at the end of the first epoch with a ``KeyError``.
    """
    if early_stopping:
        return
    for callback in callbacks or []:
        callback = callback[1] if isinstance(callback, tuple) else callback
        monitor = getattr(callback, "monitor", None)
        if isinstance(monitor, str) and monitor.startswith("valid_"):
            raise ValueError(
                f"{type(callback).__name__} monitors {monitor!r}, but there is no "
                "validation split: set early_stopping=True to hold out "
                "validation_fraction of the streams (or monitor 'train_loss')."
            )


class StreamHoldout:
    """skorch ``train_split`` that holds out the rows of :func:`holdout_rows`.

    ``fit`` sets :attr:`valid` before training and clears it afterwards, so
    that ``partial_fit`` on the fitted net trains on all of its rows, as
    ``MLPClassifier.partial_fit`` ignores ``early_stopping``.
    """

    def __init__(self):
        self.valid = None

    def __call__(self, dataset, y=None, **fit_params):
        if self.valid is None:
            return dataset, None
        valid = torch.as_tensor(self.valid, device=dataset.X.device)
        train = ~valid
        return _subset(dataset, train), _subset(dataset, valid)


def _subset(dataset, mask):
    weight = dataset.sample_weight
    return TensorBatches(
        dataset.X[mask], dataset.y[mask], None if weight is None else weight[mask]
    )


class StopOnValidation(EarlyStopping):
    """skorch's ``EarlyStopping`` on ``valid_acc``, the rule of ``MLPClassifier``.

    Stops after ``patience`` epochs without an accuracy ``tol`` above the best,
    and restores the weights of the best epoch. Epochs without a validation
    score (``partial_fit`` after ``fit``) are ignored.
    """

    def __init__(self, patience, tol):
        super().__init__(
            monitor="valid_acc",
            patience=patience,
            threshold=tol,
            threshold_mode="abs",
            lower_is_better=False,
            load_best=True,
        )
        self.tol = tol  # skorch reads parameters by their __init__ names

    def on_epoch_end(self, net, **kwargs):
        if self.monitor in net.history[-1]:
            super().on_epoch_end(net, **kwargs)
