"""SignalAccumulativeSeriesClassifier: whole series in, one label per series out."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._classifier import SignalAccumulativeClassifier

__all__ = ["SignalAccumulativeSeriesClassifier", "rows_to_series", "series_to_rows"]


def _as_series_list(X):
    """``X`` as a list of float32 ``(n_channels, n_timepoints_i)`` arrays, or raise."""
    if isinstance(X, np.ndarray) and X.ndim == 3:
        series = list(check_array(X, allow_nd=True, dtype=np.float32))
    elif isinstance(X, (list, tuple)) and X and all(np.ndim(s) == 2 for s in X):
        series = [check_array(s, dtype=np.float32, input_name="each series") for s in X]
    else:
        raise ValueError(
            "X must be a 3-D array (n_series, n_channels, n_timepoints), a list "
            "of 2-D arrays (n_channels, n_timepoints_i), or a 2-D array "
            f"(n_series, n_timepoints) of univariate series; got {_describe(X)}."
        )
    channels = {s.shape[0] for s in series}
    if len(channels) > 1:
        raise ValueError(
            f"All series must have the same number of channels, got {sorted(channels)}."
        )
    return series


def _describe(X):
    shape = getattr(X, "shape", None)
    return f"shape {shape}" if shape is not None else type(X).__name__


def series_to_rows(X, y=None):
    """Rows and stream ids of whole series, for :class:`SignalAccumulativeClassifier`.

    Parameters
    ----------
    X : ndarray of shape (n_series, n_channels, n_timepoints) or list of ndarray
        The series, as aeon and sktime hold them: a 3-D array, or a list of
        ``(n_channels, n_timepoints_i)`` arrays of unequal lengths. A 2-D
        array is ``(n_series, n_timepoints)`` univariate series.
    y : array-like of shape (n_series,), default=None
        One label per series.

    Returns
    -------
    rows : ndarray of shape (n_rows, n_channels), float32
        Every series' time steps, series after series.
    stream_ids : ndarray of shape (n_rows,)
        The series (0, 1, ...) of each row.
    y_rows : ndarray of shape (n_rows,)
        Each row's series label; only when ``y`` is given.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_samlp import series_to_rows
    >>> rows, ids = series_to_rows(np.zeros((2, 3, 5)))  # 2 series, 3 channels
    >>> rows.shape, ids.tolist()
    ((10, 3), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    """
    if isinstance(X, np.ndarray) and X.ndim == 2:
        X = X[:, None, :]
    series = _as_series_list(X)
    lengths = np.array([s.shape[1] for s in series])
    rows = np.concatenate([s.T for s in series]).astype(np.float32, copy=False)
    stream_ids = np.repeat(np.arange(len(series)), lengths)
    if y is None:
        return rows, stream_ids
    y = column_or_1d(y, warn=True)
    if len(y) != len(series):
        raise ValueError(f"y has {len(y)} labels for {len(series)} series.")
    return rows, stream_ids, np.repeat(y, lengths)


def rows_to_series(X, stream_ids, y=None):
    """Whole series from rows and stream ids: the inverse of :func:`series_to_rows`.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_channels)
        Rows, each series' rows in time order (series may be interleaved).
    stream_ids : array-like of shape (n_rows,)
        The series of each row; the series come out in order of first
        appearance.
    y : array-like of shape (n_rows,), default=None
        A label per row, the same on every row of a series.

    Returns
    -------
    series : list of ndarray of shape (n_channels, n_timepoints_i)
    y_series : ndarray of shape (n_series,)
        Each series' label; only when ``y`` is given.

    Examples
    --------
    >>> from sklearn_samlp import rows_to_series
    >>> from sklearn_samlp.datasets import load_gunpoint
    >>> bunch = load_gunpoint()
    >>> series, labels = rows_to_series(bunch.data, bunch.stream_ids, bunch.target)
    >>> len(series), series[0].shape, labels[:3]
    (200, (1, 150), array([1, 1, 0]))
    """
    X = check_array(X, dtype=None)
    stream_ids = column_or_1d(stream_ids)
    if len(stream_ids) != len(X):
        raise ValueError(
            f"stream_ids has {len(stream_ids)} entries for {len(X)} rows of X."
        )
    _, first, codes = np.unique(stream_ids, return_index=True, return_inverse=True)
    appearance = np.argsort(first, kind="stable")  # series in order of first row
    series = [X[codes == k].T for k in appearance]
    if y is None:
        return series
    y = column_or_1d(y)
    labels = y[first]  # per series, in the order of np.unique
    if np.any(y != labels[codes]):
        raise ValueError("y must hold one label per series, the same on all its rows.")
    return series, labels[appearance]


class SignalAccumulativeSeriesClassifier(ClassifierMixin, BaseEstimator):
    """Classifier of whole time series, read from a stream model's last row.

    The series are streams: a :class:`SignalAccumulativeClassifier` learns to
    classify every row of every training series from the row and its
    accumulated past, with rows weighted towards each series' end, and a
    series is classified from its last row. Every series starts from a fresh
    state, whatever was fitted or predicted before, so predictions of a
    series do not depend on the other series passed with it. By default the
    streams accumulate the shape of the signal (``accumulator="convolution"``,
    MiniRocket's causal convolutions accumulated with decay 1, so that the
    last row sees their proportions over the whole series, and with decay
    0.9, over its last rows) as well as its level.

    Samples are series, as in aeon and sktime: ``X`` is a 3-D array
    ``(n_series, n_channels, n_timepoints)``, a list of ``(n_channels,
    n_timepoints_i)`` arrays of unequal lengths, or a 2-D array
    ``(n_series, n_timepoints)`` of univariate series.

    Parameters
    ----------
    accumulator : {"input", "convolution"}, default="convolution"
        See :class:`SignalAccumulativeClassifier`.
    decay : float or tuple of float, default=(0.5, 0.9, 0.99)
        Decays of the raw accumulators, in [0, 1).
    convolution_decay : float or tuple of float, default=(0.9, 1.0)
        Decays of the convolution indicators, in [0, 1]: 1 accumulates over
        the whole series (MiniRocket's proportions), 0.9 over its last rows.
    max_dilation : int or "auto", default="auto"
        Largest dilation; ``"auto"``: about the median series length / 8.
    n_thresholds : int, default=4
        Thresholds per convolution.
    end_emphasis : float, default=8.0
        Row ``t`` (1-based) of a series of ``T`` rows weighs
        ``(t / T) ** end_emphasis`` in the loss: the model learns mostly from
        the late rows, where it is read, and a little from the earlier ones,
        which act as shorter versions of the series. 0 weighs all rows equally.
    hidden_layer_sizes : tuple of int, default=(128,)
    dropout : float, default=0.1
    lr : float, default=1e-3
    batch_size : int, default=128
    max_epochs : int, default=30
    random_state : int, RandomState instance or None, default=None
    device : str or torch.device, default="cpu"
    verbose : int, default=0
    n_threads : int or None, default=1
        torch's intra-op threads during ``fit`` and ``predict``, restored
        afterwards; None leaves torch's setting alone.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_channels_ : int
        Channels of every series.
    n_features_in_ : int
        With 2-D ``X`` only: the number of time points of the training series.
    estimator_ : SignalAccumulativeClassifier
        The row model, trained on standardised channels; it keeps no stream.
    channel_mean_, channel_scale_ : ndarray of shape (n_channels_,)
        Mean and standard deviation of each channel over the training rows,
        with which the rows are standardised.

    See Also
    --------
    SignalAccumulativeClassifier : The row model, for live streams.
    series_to_rows : Convert series into rows and stream ids.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_samlp import SignalAccumulativeSeriesClassifier
    >>> rng = np.random.default_rng(0)
    >>> t = np.linspace(0, 1, 40)
    >>> X = np.stack([np.sin(2 * np.pi * (1 + k % 2) * t) for k in range(40)])
    >>> X = X + 0.1 * rng.normal(size=X.shape)  # two frequencies, same level
    >>> y = np.arange(40) % 2
    >>> clf = SignalAccumulativeSeriesClassifier(max_epochs=10, random_state=0)
    >>> clf.fit(X[:30], y[:30]).score(X[30:], y[30:])
    1.0
    """

    # The row model's parameters keep its constraints (it validates them again,
    # with its own checks of layer sizes and device, when fit builds it).
    _parameter_constraints: dict = {
        **{
            name: SignalAccumulativeClassifier._parameter_constraints[name]
            for name in (
                "accumulator",
                "decay",
                "convolution_decay",
                "max_dilation",
                "n_thresholds",
                "hidden_layer_sizes",
                "dropout",
                "lr",
                "batch_size",
                "max_epochs",
                "random_state",
                "device",
                "verbose",
                "n_threads",
            )
        },
        "end_emphasis": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        accumulator="convolution",
        decay=(0.5, 0.9, 0.99),
        convolution_decay=(0.9, 1.0),
        max_dilation="auto",
        n_thresholds=4,
        end_emphasis=8.0,
        hidden_layer_sizes=(128,),
        dropout=0.1,
        lr=1e-3,
        batch_size=128,
        max_epochs=30,
        random_state=None,
        device="cpu",
        verbose=0,
        n_threads=1,
    ):
        self.accumulator = accumulator
        self.decay = decay
        self.convolution_decay = convolution_decay
        self.max_dilation = max_dilation
        self.n_thresholds = n_thresholds
        self.end_emphasis = end_emphasis
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.n_threads = n_threads

    def _series(self, X, reset):
        """Validated series as a list of (n_channels, n_timepoints) float32 arrays."""
        if not (isinstance(X, np.ndarray) and X.ndim >= 3) and not (
            isinstance(X, (list, tuple)) and X and np.ndim(X[0]) == 2
        ):
            # 2-D input (arrays, frames, lists of lists): univariate series,
            # checked by scikit-learn as samples x features.
            X = validate_data(self, X, dtype=np.float32, reset=reset)
            return list(X[:, None, :])
        series = _as_series_list(X)
        if reset:
            for attribute in ("n_features_in_", "feature_names_in_"):
                self.__dict__.pop(attribute, None)
        elif hasattr(self, "n_features_in_"):
            raise ValueError(
                f"{type(self).__name__} was fitted on 2-D X with "
                f"{self.n_features_in_} time points; pass 2-D X of that width."
            )
        return series

    def _rows(self, series):
        """Standardised rows and stream ids of ``series``, and each series' length."""
        n_channels = series[0].shape[0]
        if hasattr(self, "n_channels_") and n_channels != self.n_channels_:
            raise ValueError(
                f"X has {n_channels} channels, but {type(self).__name__} was "
                f"fitted with {self.n_channels_}."
            )
        rows, stream_ids = series_to_rows(series)
        lengths = np.array([s.shape[1] for s in series])
        return rows, stream_ids, lengths

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the row model on every row of every series.

        Parameters
        ----------
        X : ndarray of shape (n_series, n_channels, n_timepoints), list of \
                ndarray of shape (n_channels, n_timepoints_i), or ndarray of \
                shape (n_series, n_timepoints)
        y : array-like of shape (n_series,)
        sample_weight : array-like of shape (n_series,), default=None
            Weight of each series; multiplies its rows' weights.

        Returns
        -------
        self : object
        """
        saved = dict(self.__dict__)
        try:
            return self._fit(X, y, sample_weight)
        except BaseException:  # a failed fit leaves the estimator as it was
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def _fit(self, X, y, sample_weight):
        series = self._series(X, reset=True)
        y = column_or_1d(y, warn=True)
        if len(y) != len(series):
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: "
                f"{len(series)} series and {len(y)} labels."
            )
        check_classification_targets(y)
        sample_weight = _check_sample_weight(
            sample_weight, np.empty((len(series), 0)), ensure_non_negative=True
        )
        self.n_channels_ = series[0].shape[0]
        rows, stream_ids, lengths = self._rows(series)
        mean, scale = rows.mean(axis=0), rows.std(axis=0)
        scale[scale == 0] = 1.0
        # Rows weighted towards each series' end, where the model is read.
        position = np.arange(len(rows)) - np.repeat(
            np.cumsum(lengths) - lengths, lengths
        )
        end_weight = ((position + 1) / np.repeat(lengths, lengths)) ** self.end_emphasis
        row_weight = end_weight * np.repeat(sample_weight, lengths)
        if not row_weight.sum() > 0:
            raise ValueError("sample_weight must not be zero for every series.")
        estimator = SignalAccumulativeClassifier(
            accumulator=self.accumulator,
            decay=self.decay,
            convolution_decay=self.convolution_decay,
            max_dilation=self.max_dilation,
            n_thresholds=self.n_thresholds,
            hidden_layer_sizes=self.hidden_layer_sizes,
            dropout=self.dropout,
            lr=self.lr,
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            random_state=self.random_state,
            device=self.device,
            verbose=self.verbose,
            n_threads=self.n_threads,
        )
        estimator.fit(
            (rows - mean) / scale,
            np.repeat(y, lengths),
            stream_ids=stream_ids,
            sample_weight=row_weight,
        )
        estimator.reset_accumulators()  # every series to come starts fresh
        self.estimator_ = estimator
        self.classes_ = estimator.classes_
        self.channel_mean_, self.channel_scale_ = mean, scale
        return self

    def predict_proba(self, X):
        """Class probabilities of each series, from its last row.

        Parameters
        ----------
        X : ndarray of shape (n_series, n_channels, n_timepoints), list of \
                ndarray of shape (n_channels, n_timepoints_i), or ndarray of \
                shape (n_series, n_timepoints)

        Returns
        -------
        proba : ndarray of shape (n_series, n_classes)
        """
        check_is_fitted(self)
        rows, stream_ids, lengths = self._rows(self._series(X, reset=False))
        ids, proba = self.estimator_._last_row_proba(
            (rows - self.channel_mean_) / self.channel_scale_, stream_ids
        )
        by_series = np.empty_like(proba)
        by_series[np.asarray(ids)] = proba  # series k is stream k
        return by_series

    def predict(self, X):
        """Class of each series, from its last row.

        Parameters
        ----------
        X : ndarray of shape (n_series, n_channels, n_timepoints), list of \
                ndarray of shape (n_channels, n_timepoints_i), or ndarray of \
                shape (n_series, n_timepoints)

        Returns
        -------
        y : ndarray of shape (n_series,)
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]
