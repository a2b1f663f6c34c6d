"""SignalAccumulativeSeriesClassifier: whole series in, one label per series out."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._classifier import SignalAccumulativeClassifier
from ._rocket import StreamingRocket
from ._series_head import FeatureScaler, make_head
from ._series_persistence import load_series_estimator, save_series_estimator
from ._threads import torch_threads
from ._validation import check_device, check_layer_sizes

__all__ = ["SignalAccumulativeSeriesClassifier", "rows_to_series", "series_to_rows"]


def _as_series_list(X):
    """``X`` as a list of float32 ``(n_channels, n_timepoints_i)`` arrays, or raise."""
    if isinstance(X, np.ndarray) and X.ndim == 3:
        with np.errstate(over="ignore"):  # float32 overflow: named by the check
            series = list(check_array(X, allow_nd=True, dtype=np.float32))
    elif isinstance(X, (list, tuple)) and X and all(np.ndim(s) == 2 for s in X):
        series = [np.asarray(s) for s in X]
        channels = {s.shape[0] for s in series}
        if len(channels) > 1:
            raise ValueError(
                "All series must have the same number of channels, got "
                f"{sorted(channels)}."
            )
        # One check of all their rows (dtype, NaN, infinity), then views of it.
        with np.errstate(over="ignore"):
            rows = check_array(
                np.concatenate(series, axis=1), dtype=np.float32, input_name="X"
            )
        cuts = np.cumsum([s.shape[1] for s in series])[:-1]
        series = np.split(rows, cuts, axis=1)
    else:
        raise ValueError(
            "X must be a 3-D array (n_series, n_channels, n_timepoints), a list "
            "of 2-D arrays (n_channels, n_timepoints_i), or a 2-D array "
            f"(n_series, n_timepoints) of univariate series; got {_describe(X)}."
        )
    empty = [k for k, s in enumerate(series) if s.shape[1] == 0 or s.shape[0] == 0]
    if empty:
        raise ValueError(
            f"Every series needs at least one channel and one row; series "
            f"{empty[:5]} have none."
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


# The row model's parameters that head="mlp" passes on to it.
_ROW_MODEL_PARAMS = (
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


_READ_BYTES = 256 << 20  # features held at once by predict_proba_at


def _padded(series):
    """Series as a right-padded 3-D float32 array, and each one's length."""
    lengths = np.array([s.shape[1] for s in series], dtype=np.int64)
    X = np.zeros((len(series), series[0].shape[0], lengths.max()), dtype=np.float32)
    for k, s in enumerate(series):
        X[k, :, : s.shape[1]] = s
    return X, lengths


def _check_rows(rows, name="rows"):
    """``rows`` as ascending int64 row counts >= 1, or ValueError."""
    array = np.asarray(rows)
    if (
        array.ndim != 1
        or not len(array)
        or not (
            np.issubdtype(array.dtype, np.integer)
            or (np.issubdtype(array.dtype, np.floating) and np.all(array % 1 == 0))
        )
        or np.any(array < 1)
        or np.any(np.diff(array) <= 0)
    ):
        raise ValueError(
            f"{name} must be strictly ascending whole row counts >= 1; got "
            f"{np.array2string(array.ravel()[:10], separator=', ')}."
        )
    return array.astype(np.int64)


def _prefix_rows(prefix_rows, longest):
    """The prefix rows of ``prefix_rows`` that end before the longest series."""
    if prefix_rows is None:
        return np.empty(0, dtype=np.int64)
    if np.ndim(prefix_rows) == 0:
        k = int(prefix_rows)
        rows = np.unique(np.ceil(np.arange(1, k + 1) * longest / k).astype(np.int64))
    else:
        rows = _check_rows(prefix_rows, "prefix_rows")
    return rows[rows < longest]


class SignalAccumulativeSeriesClassifier(ClassifierMixin, BaseEstimator):
    """Classifier of whole time series from features accumulated along each series.

    Every series is a stream read row by row from a fresh state: causal
    versions of MultiRocket's pooled convolution features and Hydra's
    competing-kernel counts are accumulated along it (see Notes), and read
    at its last row, where they equal the offline features of the whole
    series. By default (``head="auto"``), a ridge classifier on those
    features, with its regularisation chosen by leave-one-out
    cross-validation in closed form (logistic regression beyond 10,000
    series), as MiniRocket and MultiRocket-Hydra classify them. Fitting is
    one pass over the training series and one fit of the head; predicting a
    series is one pass over its rows. Predictions of a series do not depend
    on the other series passed with it.

    ``head="mlp"`` instead trains a :class:`SignalAccumulativeClassifier` on
    every row of every series (its ``accumulator``, decays and network
    parameters below) and reads it at each series' last row. It is slower
    by one to two orders of magnitude and less accurate on the bundled sets
    (``benchmarks/bench_series.py``); it pays when the row model itself is
    wanted, e.g. to go on learning with ``partial_fit`` on live streams.

    Samples are series, as in aeon and sktime: ``X`` is a 3-D array
    ``(n_series, n_channels, n_timepoints)``, a list of ``(n_channels,
    n_timepoints_i)`` arrays of unequal lengths, or a 2-D array
    ``(n_series, n_timepoints)`` of univariate series.

    Parameters
    ----------
    head : {"auto", "ridge", "logistic", "mlp"}, default="auto"
        What classifies the series. "ridge": ridge regression on ``±1``
        class indicators, alpha by leave-one-out over ``logspace(-3, 3,
        10)``, probabilities a softmax of its decisions with a temperature
        fitted on the leave-one-out decisions. "logistic": multinomial
        logistic regression. "auto": ridge up to 10,000 series, logistic
        beyond. "mlp": the row model described above.
    n_combinations : int, default=2500
        MultiRocket's (kernel, dilation, bias) combinations per
        representation (the series and its first difference), each pooled
        four ways; rounded to a whole number of biases per (kernel,
        dilation). Not used by ``head="mlp"``.
    n_groups : int, default=32
        Hydra's groups of 8 competing kernels per dilation and
        representation; 0 for none. Not used by ``head="mlp"``.
    prefix_rows : int, array-like of int or None, default=None
        Where the model also learns to answer before a series ends (see
        :meth:`predict_proba_at`). None: one head, at each series' last row.
        An int ``k``: ``k`` rows spread evenly up to the longest training
        series (rows ``ceil(i * T / k)``, ``i = 1..k``), as aeon's early
        classifiers place their decision points; or the row counts
        themselves. One more head is fitted at each of these rows, on every
        training series read that far (or to its end), with its own feature
        scaling and calibration. Rows at or beyond every training series'
        end add nothing: there the last-row head answers. Not with
        ``head="mlp"``, whose row model answers at every row already.
    accumulator : {"input", "convolution"}, default="convolution"
        Only with ``head="mlp"``; see :class:`SignalAccumulativeClassifier`.
    decay : float or tuple of float, default=(0.5, 0.9, 0.99)
        Only with ``head="mlp"``: decays of the raw accumulators, in [0, 1).
    convolution_decay : float or tuple of float, default=(0.9, 1.0)
        Only with ``head="mlp"``: decays of the convolution indicators.
    max_dilation : int or "auto", default="auto"
        Only with ``head="mlp"``: largest dilation of its convolutions.
    n_thresholds : int, default=4
        Only with ``head="mlp"``: thresholds per convolution.
    end_emphasis : float, default=8.0
        Only with ``head="mlp"``: row ``t`` (1-based) of a series of ``T``
        rows weighs ``(t / T) ** end_emphasis`` in the loss.
    hidden_layer_sizes : tuple of int, default=(128,)
        Only with ``head="mlp"``.
    dropout : float, default=0.1
        Only with ``head="mlp"``.
    lr : float, default=1e-3
        Only with ``head="mlp"``.
    batch_size : int, default=128
        Only with ``head="mlp"``.
    max_epochs : int, default=30
        Only with ``head="mlp"``.
    random_state : int, RandomState instance or None, default=None
        Draws the kernels, channel subsets and bias positions (and, with
        ``head="mlp"``, the network's weights and batches).
    device : str or torch.device, default="cpu"
        Where the convolutions (and the network) run.
    verbose : int, default=0
        Only with ``head="mlp"``.
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
    channel_mean_, channel_scale_ : ndarray of shape (n_channels_,)
        Mean and standard deviation of each channel over the training rows,
        with which the rows are standardised.
    rocket_ : object
        The fitted kernels, dilations and biases of the features (not with
        ``head="mlp"``).
    scaler_ : object
        The features' standardisation (Hydra's counts after a square root).
    head_ : object
        The fitted ridge or logistic head, with ``coef_`` and ``intercept_``
        (and, for the ridge, ``alpha_`` and ``temperature_``).
    prefix_rows_ : ndarray of int of shape (n_prefixes,)
        With ``prefix_rows`` only: the rows, ascending, shorter than the
        longest training series, at which a prefix head was fitted.
    prefix_heads_ : list of (scaler, head)
        With ``prefix_rows`` only: the head of each of ``prefix_rows_``.
    held_out_proba_ : ndarray of shape (n_prefixes + 1, n_series, n_classes)
        With ``prefix_rows`` only: each training series' probabilities at
        each of ``prefix_rows_`` and, last, at its last row, from heads that
        did not see it (the ridge's leave-one-out decisions, free with its
        fit; 5-fold for the logistic head). Where a series ends before a
        prefix row, the last row's. What an early decision rule is learned
        from (:class:`SignalAccumulativeEarlyClassifier`), and a measure of
        the calibration on prefixes.
    estimator_ : SignalAccumulativeClassifier
        Only with ``head="mlp"``: the row model, trained on standardised
        channels; it keeps no stream.

    See Also
    --------
    SignalAccumulativeClassifier : The row model, for live streams.
    series_to_rows : Convert series into rows and stream ids.

    Notes
    -----
    The features (MultiRocket: Tan, Dempster, Bergmeir and Webb, 2022;
    Hydra: Dempster, Schmidt and Webb, 2023) are computed *causally*: the
    response at row ``t`` uses rows ``t, t - d, ..., t - 8d`` for dilation
    ``d``, and a series' past is 0 (its channels' training mean). Dilations
    are spread exponentially up to about (longest training series - 1) / 8.
    Per (kernel, dilation, bias), on the series and on its first
    difference, the four pools are the proportion of positive values (PPV),
    their mean (MPV), their mean relative index (MIPV) and the longest
    stretch of them (LSPV); Hydra counts, per group of 8 kernels, the best
    kernel's response (soft) and the worst kernel's wins (hard). Every pool
    is a running sum or extreme: a stream carries its last ``8 * max
    dilation + 1`` rows and about 5 float64 numbers per combination (about
    0.26 MB per stream for 150-row univariate series with the defaults; the
    row model's state is a few hundred bytes).

    A series may have any length from one row (shorter than a kernel's span,
    it reads the zero past). A constant series has no shape: it is
    classified by its level alone. Fitted on 3-D univariate series, the
    model takes 2-D ``X`` of any width as univariate series of that length;
    fitted on 2-D ``X``, it takes only 2-D ``X`` of the same width, as
    scikit-learn's estimators do.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_samlp import SignalAccumulativeSeriesClassifier
    >>> rng = np.random.default_rng(0)
    >>> t = np.linspace(0, 1, 40)
    >>> X = np.stack([np.sin(2 * np.pi * (1 + k % 2) * t) for k in range(40)])
    >>> X = X + 0.1 * rng.normal(size=X.shape)  # two frequencies, same level
    >>> y = np.arange(40) % 2
    >>> clf = SignalAccumulativeSeriesClassifier(random_state=0)
    >>> clf.fit(X[:30], y[:30]).score(X[30:], y[30:])
    1.0
    """

    # The row model's parameters keep its constraints (it validates them again,
    # with its own checks of layer sizes and device, when fit builds it).
    _parameter_constraints: dict = {
        "head": [StrOptions({"auto", "ridge", "logistic", "mlp"})],
        "n_combinations": [Interval(Integral, 1, None, closed="left")],
        "n_groups": [Interval(Integral, 0, None, closed="left")],
        "prefix_rows": [None, Interval(Integral, 1, None, closed="left"), "array-like"],
        **{
            name: SignalAccumulativeClassifier._parameter_constraints[name]
            for name in _ROW_MODEL_PARAMS
        },
        "end_emphasis": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        head="auto",
        n_combinations=2_500,
        n_groups=32,
        prefix_rows=None,
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
        self.head = head
        self.n_combinations = n_combinations
        self.n_groups = n_groups
        self.prefix_rows = prefix_rows
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
            with np.errstate(over="ignore"):
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

    def _standardised(self, series):
        """``series`` in the training channels' units, or ValueError."""
        n_channels = series[0].shape[0]
        if n_channels != self.n_channels_:
            raise ValueError(
                f"X has {n_channels} channels, but {type(self).__name__} was "
                f"fitted with {self.n_channels_}."
            )
        mean = self.channel_mean_[:, None]
        scale = self.channel_scale_[:, None]
        with np.errstate(over="ignore"):
            out = [(s - mean) / scale for s in series]
        if not all(np.isfinite(s).all() for s in out):
            raise ValueError(
                "X has values too large to standardise in float32 (beyond "
                "about 1e38 once centred and scaled by the training channels)."
            )
        return out

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the features to the series and the head to their last rows.

        Parameters
        ----------
        X : ndarray of shape (n_series, n_channels, n_timepoints), list of \
                ndarray of shape (n_channels, n_timepoints_i), or ndarray of \
                shape (n_series, n_timepoints)
        y : array-like of shape (n_series,)
        sample_weight : array-like of shape (n_series,), default=None
            Weight of each series.

        Returns
        -------
        self : object
        """
        if self.head == "mlp":  # checked before any work, as the row model does
            check_layer_sizes("hidden_layer_sizes", self.hidden_layer_sizes)
        check_device("device", self.device)
        saved = dict(self.__dict__)
        try:
            with torch_threads(self.n_threads):
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
        if not sample_weight.sum() > 0:
            raise ValueError("sample_weight must not be zero for every series.")
        self.n_channels_ = series[0].shape[0]
        rows = np.concatenate([s.T for s in series]).astype(np.float64)
        mean, scale = rows.mean(axis=0), rows.std(axis=0)  # float64: no overflow
        scale[scale == 0] = 1.0
        self.channel_mean_ = mean.astype(np.float32)
        self.channel_scale_ = scale.astype(np.float32)
        series = self._standardised(series)
        for attribute in (
            "rocket_",
            "scaler_",
            "head_",
            "estimator_",
            "prefix_rows_",
            "prefix_heads_",
            "held_out_proba_",
        ):
            self.__dict__.pop(attribute, None)
        if self.head == "mlp" and self.prefix_rows is not None:
            raise ValueError(
                "prefix_rows is for the closed-form heads; head='mlp' answers "
                "at every row already (estimator_.predict_proba)."
            )
        if self.head == "mlp":
            self._fit_row_model(series, y, sample_weight)
            return self
        classes, codes = np.unique(y, return_inverse=True)
        weighted = sample_weight > 0  # the others do not enter the head's fit
        if len(np.unique(codes[weighted])) < 2:
            raise ValueError(
                f"{type(self).__name__} needs series of at least 2 classes "
                f"with positive sample_weight; got one class, "
                f"{classes[codes[weighted][0]].item()!r}."
            )
        X, lengths = _padded(series)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        rocket = StreamingRocket.fit(
            X,
            lengths,
            n_combinations=self.n_combinations,
            n_groups=self.n_groups,
            rng=seed,
        )
        prefix_rows = _prefix_rows(self.prefix_rows, lengths.max())
        # One pass: the features at every prefix row, then at the last row.
        features = rocket.transform(
            X, lengths, rows=[*prefix_rows, lengths.max()], device=self.device
        )
        fitted = [
            self._fit_head(rocket, f, codes, len(classes), sample_weight, weighted)
            for f in features
        ]
        self.classes_ = classes
        self.rocket_ = rocket
        self.scaler_, self.head_ = fitted[-1][:2]
        if self.prefix_rows is not None:
            self.prefix_rows_ = prefix_rows
            self.prefix_heads_ = [pair[:2] for pair in fitted[:-1]]
            held_out = np.stack([pair[2] for pair in fitted])
            ended = lengths[None, :] <= prefix_rows[:, None]  # then: the last row's
            held_out[:-1][ended] = np.broadcast_to(held_out[-1], held_out[:-1].shape)[
                ended
            ]
            self.held_out_proba_ = held_out
        return self

    def _fit_head(self, rocket, features, codes, n_classes, sample_weight, weighted):
        """(scaler, head, held-out probabilities) fitted to one read of the series.

        Only the ``weighted`` series enter the head's fit.
        """
        scaler = FeatureScaler().fit(features, rocket.feature_slices()["hydra"])
        scaled = scaler.transform(features)
        head = make_head(self.head, len(features))
        keep = self.prefix_rows is not None
        head.fit(
            scaled[weighted],
            codes[weighted],
            n_classes,
            sample_weight[weighted],
            keep_held_out=keep,
        )
        held_out = None
        if keep:  # series left out of the fit are held out already
            held_out = head.predict_proba(scaled)
            held_out[weighted] = head.held_out_proba_
            del head.held_out_proba_
        return scaler, head, held_out

    def _fit_row_model(self, series, y, sample_weight):
        """``head="mlp"``: the row model on every row, weighted towards the ends."""
        rows, stream_ids = series_to_rows(series)
        lengths = np.array([s.shape[1] for s in series])
        position = np.arange(len(rows)) - np.repeat(
            np.cumsum(lengths) - lengths, lengths
        )
        end_weight = ((position + 1) / np.repeat(lengths, lengths)) ** self.end_emphasis
        row_weight = end_weight * np.repeat(sample_weight, lengths)
        estimator = SignalAccumulativeClassifier(
            **{name: getattr(self, name) for name in _ROW_MODEL_PARAMS}
        )
        estimator.fit(
            rows,
            np.repeat(y, lengths),
            stream_ids=stream_ids,
            sample_weight=row_weight,
        )
        estimator.reset_accumulators()  # every series to come starts fresh
        self.estimator_ = estimator
        self.classes_ = estimator.classes_

    def predict_proba(self, X):
        """Class probabilities of each series, read at its last row.

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
        series = self._standardised(self._series(X, reset=False))
        with torch_threads(self.n_threads):
            if hasattr(self, "estimator_"):
                return self._row_model_proba(series)
            X, lengths = _padded(series)
            features = self.rocket_.transform(X, lengths, device=self.device)
            return self.head_.predict_proba(self.scaler_.transform(features))

    def predict_proba_at(self, X, rows=None):
        """Class probabilities of each series after each of ``rows`` rows, in one pass.

        Each series is read once, row by row from a fresh state, and its
        features are read on the way at each of ``rows``: the same numbers
        as :meth:`predict_proba` of the series cut after that many rows.
        A series that has ended by a row answers from its last row there.
        The probabilities at a prefix come from the prefix head fitted at
        the largest of ``prefix_rows_`` not beyond it (the first one
        before), so they are calibrated on prefixes; fitted without
        ``prefix_rows``, from the last-row head, which is sure of itself on
        short prefixes where it has no reason to be. For live streams of
        rows, :meth:`SignalAccumulativeClassifier.predict_proba` is this at
        every row.

        Parameters
        ----------
        X : ndarray of shape (n_series, n_channels, n_timepoints), list of \
                ndarray of shape (n_channels, n_timepoints_i), or ndarray of \
                shape (n_series, n_timepoints)
        rows : array-like of int, default=None
            Ascending row counts, each at least 1; None: ``prefix_rows_``
            and then each series' last row.

        Returns
        -------
        proba : ndarray of shape (n_rows, n_series, n_classes)
            ``proba[j, k]``: series ``k`` after ``rows[j]`` rows (or all of
            them).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_samlp import SignalAccumulativeSeriesClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(40, 1, 30))
        >>> y = np.arange(40) % 2
        >>> X[y == 1, :, 20:] += 2.0  # the classes differ from row 21 on
        >>> clf = SignalAccumulativeSeriesClassifier(prefix_rows=6, random_state=0)
        >>> clf = clf.fit(X, y)
        >>> proba = clf.predict_proba_at(X, rows=[10, 30])
        >>> proba.shape
        (2, 40, 2)
        >>> bool(proba[0].max(axis=1).mean() < proba[1].max(axis=1).mean())
        True
        """
        check_is_fitted(self)
        if hasattr(self, "estimator_"):
            raise TypeError(
                "predict_proba_at reads the closed-form heads; with head='mlp' "
                "the row model answers at every row: estimator_.predict_proba "
                "on series_to_rows(X)."
            )
        series = self._standardised(self._series(X, reset=False))
        return self._proba_at(series, rows)

    def _proba_at(self, series, rows):
        """:meth:`predict_proba_at` of standardised ``series``.

        The series are read a block at a time: the features at every row of
        all of them at once would take ``len(rows)`` times the memory of
        their last-row features (gigabytes for a thousand series).
        """
        prefix_rows = getattr(self, "prefix_rows_", np.empty(0, dtype=np.int64))
        if rows is None:
            longest = max(s.shape[1] for s in series)
            rows = np.r_[prefix_rows, longest]
        rows = _check_rows(rows)
        per_series = 4 * len(rows) * self.rocket_.n_outputs  # float32 features
        size = max(1, _READ_BYTES // per_series)
        blocks = [
            self._proba_at_block(series[start : start + size], rows, prefix_rows)
            for start in range(0, len(series), size)
        ]
        return np.concatenate(blocks, axis=1)

    def _proba_at_block(self, series, rows, prefix_rows):
        X, lengths = _padded(series)
        with torch_threads(self.n_threads):
            features = self.rocket_.transform(X, lengths, rows=rows, device=self.device)
        proba = np.empty((len(rows), len(X), len(self.classes_)))
        for j, (row, f) in enumerate(zip(rows, features)):
            ended = lengths <= row
            proba[j, ended] = self.head_.predict_proba(self.scaler_.transform(f[ended]))
            if ended.all():
                continue
            head = np.searchsorted(prefix_rows, row, side="right") - 1
            if len(prefix_rows):
                scaler, model = self.prefix_heads_[max(head, 0)]
            else:
                scaler, model = self.scaler_, self.head_
            proba[j, ~ended] = model.predict_proba(scaler.transform(f[~ended]))
        return proba

    def _row_model_proba(self, series):
        rows, stream_ids = series_to_rows(series)
        ids, proba = self.estimator_._last_row_proba(rows, stream_ids)
        by_series = np.empty_like(proba)
        by_series[np.asarray(ids)] = proba  # series k is stream k
        return by_series

    def predict(self, X):
        """Class of each series, read at its last row.

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

    def save(self, path):
        """Save the fitted classifier to one file that cannot execute code.

        The same format as :meth:`SignalAccumulativeClassifier.save`: tensors
        and JSON strings written by ``torch.save`` to a temporary file and
        renamed into place, read by :meth:`load` with
        ``torch.load(weights_only=True)``. A model fitted with ``head="mlp"``
        is refused (TypeError): save its ``estimator_``, or pickle it. Prefix
        heads are saved with the model; ``held_out_proba_``, a record of the
        fit, is not.

        Parameters
        ----------
        path : str or path-like

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from sklearn_samlp import SignalAccumulativeSeriesClassifier
        >>> X = np.random.default_rng(0).normal(size=(10, 2, 30))
        >>> clf = SignalAccumulativeSeriesClassifier(random_state=0)
        >>> clf = clf.fit(X, np.arange(10) % 2)
        >>> path = os.path.join(tempfile.mkdtemp(), "series.pt")
        >>> clf.save(path)
        >>> loaded = SignalAccumulativeSeriesClassifier.load(path)
        >>> bool(np.array_equal(loaded.predict_proba(X), clf.predict_proba(X)))
        True
        """
        check_is_fitted(self)
        save_series_estimator(self, path)

    @classmethod
    def load(cls, path, device=None):
        """Load a classifier saved with :meth:`save`; ValueError for a bad file.

        Parameters
        ----------
        path : str or path-like
        device : str or torch.device, default=None
            Where the convolutions run; None: where they ran when saved, or
            the CPU when that is a GPU that this machine lacks.

        Returns
        -------
        estimator : SignalAccumulativeSeriesClassifier
        """
        return load_series_estimator(cls, path, device)
