"""SignalAccumulativeClassifier: the scikit-learn estimator."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import contextlib
import datetime
import functools
import os
from numbers import Integral, Real

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_array,
    check_is_fitted,
    validate_data,
)
from skorch.history import History

from ._callbacks import TrainAccuracy
from ._console import print_plain_when_piped
from ._convolution import CausalConvolutions, auto_max_dilation
from ._convolution_streams import ConvolutionStreams
from ._holdout import (
    StopOnValidation,
    StreamHoldout,
    check_validation_monitors,
    holdout_rows,
)
from ._learned import AccumulatorMLP, RefreshWindowStarts, WindowBatches, WindowIterator
from ._net import (
    BatchIterator,
    MLPModule,
    TensorBatches,
    TightLoopNet,
    WeightedCrossEntropy,
    rolled_back_on_error,
)
from ._online import OnlineState
from ._persistence import load_estimator, save_estimator
from ._serving import estimator_lock, inference_snapshot, serialised
from ._stream_checks import (
    known_streams,
    warn_missing_stream_ids,
    warn_missing_timestamps,
    warn_reused_streams,
)
from ._streams import StreamStates, _check_decays, _factorize
from ._threads import with_torch_threads
from ._time import time_unit_value, timestamps_as_float
from ._validation import check_device, check_layer_sizes

_DECAY_LR_FACTOR = 30.0  # learning rate of the decays' logits, relative to lr


@functools.cache
def _fast_adam(device_type):
    """Adam's fused kernel where this torch has it for the device, else foreach."""
    try:
        torch.optim.Adam(
            [torch.zeros(1, device=device_type, requires_grad=True)], fused=True
        )
    except (RuntimeError, TypeError, ValueError):
        return {"optimizer__foreach": True}
    return {"optimizer__fused": True}


def _decay_epochs(max_epochs):
    """Epochs spent learning the decays before the final network's max_epochs."""
    return max(1, max_epochs // 2)


def _finite_float32(X):
    """``X`` as float32 if it is a non-empty 2-D float ndarray finite in float32.

    Finiteness is checked after the cast: 1e39 is finite in float64 but
    overflows to infinity in float32. None for anything else.
    """
    if not (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.shape[0] > 0
        and X.dtype in (np.float32, np.float64)
    ):
        return None
    with np.errstate(over="ignore"):  # detected below
        X = X.astype(np.float32, copy=False)
    return X if bool(np.isfinite(X).all()) else None


def _check_n_classes(classes):
    """Refuse a single class, as scikit-learn's classifiers do."""
    if len(classes) < 2:
        raise ValueError(
            "The number of classes has to be greater than one; got "
            f"{len(classes)} class."
        )


def _check_classes(classes):
    """``classes`` of ``partial_fit`` sorted and unique; NaN or one class raise."""
    classes = np.unique(np.asarray(classes))
    if (
        classes.dtype.kind in "fc"
        and np.isnan(classes).any()
        or (classes.dtype == object and any(c != c for c in classes))
    ):
        raise ValueError(f"classes must not contain NaN, got {classes.tolist()}.")
    _check_n_classes(classes)
    return classes


_ABSENT = object()  # an attribute that _publish deletes
_READ_TRIES = 3  # reads of a model before predict waits for training to finish


def _schema(shell):
    """``n_features_in_`` and ``feature_names_in_`` recorded on a validation shell."""
    return {
        "n_features_in_": shell.n_features_in_,
        "feature_names_in_": shell.__dict__.get("feature_names_in_", _ABSENT),
    }


def _unit_mean(sample_weight):
    """Weights scaled to mean one: the loss then does not depend on their scale."""
    return sample_weight / sample_weight.mean()


class SignalAccumulativeClassifier(ClassifierMixin, BaseEstimator):
    """Classifier for streams: an MLP over each row and its accumulated signal.

    Every stream keeps an accumulator, a leaky integrator of its rows
    ``a_t = d * a_{t-1} + (1 - d) * x_t``, and the network classifies row
    ``t`` from ``[x_t, a_t]`` (one ``a_t`` per decay of a bank). The
    accumulator gives the model a memory of the stream at the cost of a
    moving average. It is carried from one call to the next: ``partial_fit``,
    ``predict`` and ``update_accumulators`` continue each stream where the
    previous call left it. Training runs on skorch.

    Parameters
    ----------
    decay : float or tuple of float, default=0.9
        Decay ``d`` in [0, 1) of the accumulator; a tuple gives a bank of
        timescales, one accumulator per decay. ``decay=0`` makes a memoryless
        MLP. The memory of the accumulator is about ``1 / (1 - d)`` rows.
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Width of each hidden layer.
    dropout : float, default=0.1
        Dropout probability after each hidden layer, in [0, 1).
    lr : float, default=1e-3
        Learning rate of Adam.
    batch_size : int, default=128
        Rows per mini-batch in training.
    max_epochs : int, default=10
        Passes over the data in ``fit``. ``partial_fit`` makes one, with the
        ``online_*`` parameters below.
    shuffle : bool, default=True
        Shuffle the rows before each epoch. The accumulated features are
        computed before training, so shuffling does not break the memory.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffling and the dropout. With an int, ``fit``
        and ``partial_fit`` are reproducible bit for bit on CPU. The estimator
        owns its generator: it neither seeds nor draws from torch's global
        generator, and a pickled copy continues exactly as the original.
    device : str or torch.device, default="cpu"
        Where the network is trained and run, e.g. ``"cuda"``.
    verbose : int, default=0
        Print skorch's per-epoch log (loss, accuracy, duration) when positive.
    learn_decay : bool, default=False
        Learn the decays in ``fit``: every accumulated feature (input feature
        x entry of the bank) gets its own decay, initialised from ``decay`` and
        trained jointly with an MLP by backpropagation through the scan, on
        shuffled windows of ``window`` consecutive rows of a stream (truncated
        backpropagation through time), for ``max(1, max_epochs // 2)`` epochs
        with a learning rate 30 times ``lr`` for the decays; they stay inside
        [0.001, 1 - 1e-6]. ``fit`` then trains the network for ``max_epochs``
        on the exact features of the start decays *and* the learned ones,
        rows shuffled, as with a fixed bank: learning adds timescales without
        taking away those of ``decay``. The decays are in ``decays_``;
        ``partial_fit`` keeps them as they are. Only with
        ``accumulator="input"``.
    window : int, default=64
        Rows per training window when ``learn_decay=True`` (at most the
        longest stream); the gradient reaches back at most this far, so it
        should exceed the memory ``1 / (1 - d)`` of the slowest decay.
    time_unit : float or duration, default=1.0
        With ``timestamps``, the decay over a gap ``dt`` is ``decay**(dt /
        time_unit)``: a gap of ten units forgets as much as ten rows. A
        number is in the unit of numeric timestamps. With datetime or
        timedelta timestamps (numpy ``datetime64``, pandas datetimes) it must
        be a duration: a string such as ``"1s"``, ``"20ms"``, ``"5min"``, a
        ``Timedelta``/``timedelta`` or a ``timedelta64``.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks for training, e.g. ``EarlyStopping``,
        ``LRScheduler``, :class:`EpochProgressBar` or ``TensorBoard``. They
        are used as given, as skorch uses them. ``save`` does not store
        them (they may hold files or writers); ``load`` sets None. Callbacks
        that monitor ``valid_loss`` or ``valid_acc`` (as ``EarlyStopping()``
        does by default) need ``early_stopping=True``, which makes the
        validation split. skorch's ``ProgressBar`` hooks every batch, which
        turns off the fast training loop; ``EpochProgressBar`` does not.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the streams (never part of a
        stream; with a single stream, the last ``validation_fraction`` of its
        rows) and stop ``fit`` when the validation accuracy has not improved
        by ``tol`` for ``n_iter_no_change`` epochs, keeping the weights of the
        best epoch, as ``MLPClassifier`` does. The history then has
        ``valid_loss`` and ``valid_acc``. ``partial_fit`` ignores it and
        trains on all its rows.
    validation_fraction : float, default=0.1
        Fraction of the streams held out with ``early_stopping=True``, in
        (0, 1); at least one stream, and at least one left for training.
    n_iter_no_change : int, default=10
        Epochs without an improvement of ``tol`` after which
        ``early_stopping`` stops. Unlike ``MLPClassifier``, training without
        ``early_stopping`` always runs ``max_epochs``.
    tol : float, default=1e-4
        Least improvement of the validation accuracy that counts.
    after_fit : {"warn", "continue", "reset"}, default="warn"
        What the streams of ``fit`` are afterwards. ``"continue"``: each is
        at its last training row, so predicting its next rows continues it.
        ``"warn"``: the same, but ``predict``, ``predict_proba`` and ``score``
        warn (:class:`StreamIdWarning`) when they get stream ids that ``fit``
        trained on, until ``partial_fit``, ``update_accumulators`` or
        ``reset_accumulators`` is called: held-out series numbered like the
        training series would otherwise start from a training series'
        memory. ``"reset"``: ``fit`` forgets every stream when it ends, so
        every stream (and the default stream) starts from zero.
    n_threads : int or None, default=1
        torch's intra-op threads during ``fit``, ``partial_fit``,
        ``predict``, ``predict_proba``, ``score`` and ``update_accumulators``,
        restored when the call returns (``torch.set_num_threads`` is global
        to the process, so do not run calls of estimators with different
        settings at once in threads of one process). The network is small,
        so one thread is about as fast as two on an idle machine and many
        times faster on a busy one. None: leave torch's setting alone.
    accumulator : {"input", "convolution"}, default="input"
        What each stream accumulates besides its raw rows. ``"input"``: the
        rows only, ``[x_t, a_t(x)]``, the fastest. ``"convolution"``: also
        the *shape* of the signal: causal dilated random convolutions of the
        stream (MiniRocket's kernels), thresholded, and accumulated with the
        decays ``convolution_decay``: the proportion of recent rows at which
        each convolution exceeds each of its thresholds. The thresholds are
        quantiles of the responses on the rows of ``fit`` (or of the first
        ``partial_fit`` call, which should then bring enough rows to show the
        signal's range). Each stream then also keeps its last rows (see
        ``max_dilation``).
    convolution_decay : float or tuple of float, default=0.9
        Decay(s) in [0, 1] of the convolution indicators' accumulators, with
        ``accumulator="convolution"``. 1 is the running mean since the
        stream's first row, MiniRocket's proportion of positive values (for
        series; its float32 count is exact up to 2^24 rows, so endless
        streams want a decay below 1); below 1 it forgets, as ``decay`` does.
    max_dilation : int or "auto", default=4
        Largest dilation of the convolutions, which are the powers of two up
        to it: with ``D`` the largest of them, a response spans ``8 * D + 1``
        rows (33 by default: local shape; longer spans overfit per-row labels
        on small data) and a stream keeps its last ``8 * D`` rows. ``"auto"``:
        about the median length of the streams in ``fit`` (or in the first
        ``partial_fit`` call) divided by 8, at most 32, which suits one label
        per whole series.
    n_thresholds : int, default=1
        Thresholds per convolution: the row model sees ``84 * n_dilations *
        n_thresholds`` indicators per entry of ``convolution_decay``.
    online_batch_size : int, default=16
        Rows of a ``partial_fit`` call per optimisation step: a call of ``n``
        rows makes ``ceil(n / online_batch_size)`` steps (fewer rows per
        step, so more steps, for a while after a drift), whatever
        ``batch_size``, which is for ``fit``.
    online_lr : float, default=1e-2
        Learning rate of Adam in ``partial_fit``. It is annealed as
        ``1 / sqrt(1 + t / 2000)`` over the ``t`` rows since the first call
        or the last drift, down to a tenth, and raised (up to five times)
        for a few hundred rows after a drift.
    online_replay : int, default=256
        Rows of the replay buffer: the most recent rows learned by
        ``partial_fit``. Each step adds ``online_batch_size`` rows drawn from
        it to the call's rows, so that a one-row call still steps on a
        mini-batch and a chunk of one class does not overwrite the others.
        A drift empties it. 0 turns replay off.
    online_scaling : bool, default=True
        Standardise the network's inputs in a model begun by
        ``partial_fit`` with running means and variances of its inputs,
        updated by every call and used by every prediction (inputs clipped
        to 5 standard deviations), as river's ``StandardScaler`` does: raw
        rows need no scaling in advance. It takes effect on the call that
        begins the model: ``fit`` never scales (use a ``Pipeline`` with a
        ``StandardScaler``), and ``partial_fit`` after ``fit`` keeps the
        network's unscaled inputs. The other ``online_*`` parameters may
        change between calls.
    online_drift : bool, default=True
        Watch the prequential loss of ``partial_fit`` (each call's loss
        before it is learned) for drift: when its fast average (50 rows)
        exceeds twice its slow average (1000 rows) and by 0.5, the replay
        buffer is emptied and the learning rate is raised, as above. A
        class that appears late makes such a rise, and is learned within
        tens of rows.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
    net_ : skorch.NeuralNet
        The trained network; ``net_.module_`` is the torch module and
        ``net_.history`` its training history.
    decays_ : ndarray of shape (n_decays, n_features_in_)
        Decay of every raw accumulator: ``decay`` broadcast; with
        ``learn_decay=True``, ``decay`` broadcast followed by the learned
        decays (``2 * len(decay)`` rows).
    n_iter_ : int
        Epochs trained since the last ``fit``, whatever stopped them
        (``max_epochs``, ``early_stopping`` or an ``EarlyStopping`` callback),
        plus one per ``partial_fit``.
    history_ : skorch.History
        One entry per epoch since the last ``fit``, with ``train_loss`` and
        ``train_acc`` (and ``valid_loss``, ``valid_acc`` with
        ``early_stopping=True``), e.g. ``clf.history_[:, "train_loss"]``.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The memoryless multilayer perceptron.
    SignalAccumulativeMLP : The original PyTorch module of the design.

    Notes
    -----
    Rows of ``X`` are time steps. Without ``stream_ids`` all rows are one
    stream; with ``stream_ids`` rows of several streams may be interleaved,
    each stream's rows in time order, and each stream has its own accumulator.
    A stream never seen before starts from zero, and its features are bias
    corrected: they are divided by ``1 - d^n`` after ``n`` rows, so that they
    are the weighted average of the rows seen (``a_0 = x_0``) instead of being
    shrunk towards zero at the start of a stream.

    ``fit`` forgets all streams; afterwards each stream's state is at its last
    row (see ``after_fit`` for held-out series that reuse training ids).
    ``partial_fit`` and ``update_accumulators`` advance the state;
    ``predict``, ``predict_proba`` and ``score`` start from it and change
    nothing, so a test-then-train loop (``predict`` then ``partial_fit`` on
    each chunk) is correct.

    With ``timestamps`` (increasing within each stream, also across calls) a
    row after a gap ``dt`` updates ``a_t = d^dt a_prev + (1 - d^dt) x_t``, with
    ``dt`` in units of ``time_unit``. A stream's first row counts as one unit
    after its (virtual) start; rows passed without timestamps count one unit
    each.

    Because rows depend on the rows before them, predictions depend on the
    order of the rows and on which rows are passed together, unless
    ``decay=0``.

    Serving: ``fit``, ``partial_fit``, ``update_accumulators`` and
    ``reset_accumulators`` on one estimator run one at a time (they share a
    lock), so concurrent callers lose no update. ``predict``,
    ``predict_proba`` and ``score`` may run from any number of threads, also
    beside those calls: they use an eval-mode copy of the weights taken when
    a training call ends, so they see the old or the new model, never a mix.
    Calls of a few rows skip the batch machinery (microseconds per row). A
    known stream costs ``4 * n_decays * n_features_in_ + 16`` bytes of state
    plus its id in a dict, whatever its length; with
    ``accumulator="convolution"``, ``4 * accumulators_[id].size + 16`` (the
    indicator accumulators and the buffer of its last rows as well).

    Examples
    --------
    >>> from sklearn_samlp import SignalAccumulativeClassifier
    >>> from sklearn_samlp.datasets import make_regime_streams
    >>> X, y, stream_ids = make_regime_streams(random_state=0)
    >>> train, test = stream_ids < 7, stream_ids >= 7  # whole streams held out
    >>> clf = SignalAccumulativeClassifier(decay=0.9, random_state=0)
    >>> clf = clf.fit(X[train], y[train], stream_ids=stream_ids[train])
    >>> clf.score(X[test], y[test], stream_ids=stream_ids[test])
    0.8...
    """

    _parameter_constraints: dict = {
        "decay": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "verbose": ["verbose"],
        "learn_decay": ["boolean"],
        "window": [Interval(Integral, 1, None, closed="left")],
        "time_unit": [
            np.timedelta64,  # first: numpy counts it as an Integral
            datetime.timedelta,
            str,
            Interval(Real, 0, None, closed="neither"),
        ],
        "callbacks": [list, None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "after_fit": [StrOptions({"warn", "continue", "reset"})],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "accumulator": [StrOptions({"input", "convolution"})],
        "convolution_decay": [Interval(Real, 0, 1, closed="both"), "array-like"],
        "max_dilation": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "n_thresholds": [Interval(Integral, 1, None, closed="left")],
        "online_batch_size": [Interval(Integral, 1, None, closed="left")],
        "online_lr": [Interval(Real, 0, None, closed="neither")],
        "online_replay": [Interval(Integral, 0, None, closed="left")],
        "online_scaling": ["boolean"],
        "online_drift": ["boolean"],
    }

    # Requested by default, as GroupKFold requests ``groups``: a stream's rows
    # mean nothing without their ids and times, so under metadata routing every
    # method that reads them gets them unless the user says otherwise.
    _STREAM_METADATA = {"stream_ids": True, "timestamps": True}
    __metadata_request__fit = _STREAM_METADATA
    __metadata_request__partial_fit = _STREAM_METADATA
    __metadata_request__predict = _STREAM_METADATA
    __metadata_request__predict_proba = _STREAM_METADATA
    __metadata_request__score = _STREAM_METADATA

    def __init__(
        self,
        decay=0.9,
        hidden_layer_sizes=(64, 64),
        dropout=0.1,
        lr=1e-3,
        batch_size=128,
        max_epochs=10,
        shuffle=True,
        random_state=None,
        device="cpu",
        verbose=0,
        learn_decay=False,
        window=64,
        time_unit=1.0,
        callbacks=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        after_fit="warn",
        n_threads=1,
        accumulator="input",
        convolution_decay=0.9,
        max_dilation=4,
        n_thresholds=1,
        online_batch_size=16,
        online_lr=1e-2,
        online_replay=256,
        online_scaling=True,
        online_drift=True,
    ):
        self.decay = decay
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.shuffle = shuffle
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.learn_decay = learn_decay
        self.window = window
        self.time_unit = time_unit
        self.callbacks = callbacks
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.after_fit = after_fit
        self.n_threads = n_threads
        self.accumulator = accumulator
        self.convolution_decay = convolution_decay
        self.max_dilation = max_dilation
        self.n_thresholds = n_thresholds

        self.online_batch_size = online_batch_size
        self.online_lr = online_lr
        self.online_replay = online_replay
        self.online_scaling = online_scaling
        self.online_drift = online_drift

    def _validate_params(self):
        super()._validate_params()
        # Beyond the constraints: every layer size, and a device that exists.
        check_layer_sizes("hidden_layer_sizes", self.hidden_layer_sizes)
        check_device("device", self.device)

    # ------------------------------------------------------------------ input

    def _validate_input(
        self,
        X,
        y="no_validation",
        *,
        stream_ids=None,
        timestamps=None,
        sample_weight=None,
        reset,
        into=None,
    ):
        """Validated ``X`` (as float32) and the per-row arguments of a call.

        ``into``: where ``validate_data`` records ``n_features_in_`` and
        ``feature_names_in_`` when ``reset`` (default: the estimator).
        """
        into = self if into is None else into
        no_y = isinstance(y, str) and y == "no_validation"
        # The common case of a fitted model, a float ndarray and (for partial_fit)
        # a 1-D label array, is checked in microseconds; anything else gets
        # scikit-learn's conversion and messages. Labels are then encoded
        # against classes_, which rejects any other label.
        X32 = None if reset else _finite_float32(X)
        fast = X32 is not None and (
            no_y or (type(y) is np.ndarray and y.shape == (X.shape[0],))
        )
        if fast:
            # A bare ndarray has no feature names: with none fitted either,
            # only the width is left to check (validate_data costs ~20 us).
            if "feature_names_in_" in self.__dict__ or X.shape[1] != getattr(
                self, "n_features_in_", None
            ):
                validate_data(self, X, skip_check_array=True, reset=False)
            X = X32
        elif no_y:
            with np.errstate(over="ignore"):  # float32 overflow: named by the check
                X = validate_data(into, X, dtype=np.float32, reset=reset)
        else:
            with np.errstate(over="ignore"):
                X, y = validate_data(into, X, y, dtype=np.float32, reset=reset)
            if reset:
                check_classification_targets(y)
        if no_y:
            y = None
        elif sample_weight is None:  # scikit-learn's check costs tens of us
            sample_weight = np.ones(X.shape[0], dtype=np.float32)
        else:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float32, ensure_non_negative=True
            )
        if stream_ids is not None:
            stream_ids = np.asarray(stream_ids)
            if stream_ids.shape != (X.shape[0],):
                raise ValueError(
                    "stream_ids must be 1-dimensional with one id per row of X: "
                    f"X has {X.shape[0]} rows, stream_ids has shape "
                    f"{stream_ids.shape}."
                )
        if timestamps is not None:
            timestamps = timestamps_as_float(timestamps, self.time_unit)
            timestamps = check_array(
                timestamps, ensure_2d=False, dtype=np.float64, input_name="timestamps"
            )
            if timestamps.shape != (X.shape[0],):
                raise ValueError(
                    "timestamps must be 1-dimensional with one time per row of X: "
                    f"X has {X.shape[0]} rows, timestamps has shape {timestamps.shape}."
                )
        return X, y, stream_ids, timestamps, sample_weight

    def _encode(self, y, classes):
        """Indices of ``y`` in ``classes``; a label not in ``classes`` raises."""
        codes = np.searchsorted(classes, y)
        codes = np.minimum(codes, len(classes) - 1)
        unseen = classes[codes] != y
        if np.any(unseen):
            raise ValueError(
                f"y contains labels not in classes_ {classes.tolist()}: "
                f"{np.unique(y[unseen]).tolist()}."
            )
        return codes

    # --------------------------------------------------------------- training

    def _initial_rng_state(self):
        """State of a torch generator seeded from ``random_state``."""
        if self.random_state is None:  # fresh entropy, not the global generators
            seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
        elif isinstance(self.random_state, Integral):
            seed = int(self.random_state)
        else:
            seed = int(self.random_state.randint(np.iinfo(np.int32).max))
        return torch.Generator().manual_seed(seed).get_state().numpy()

    @contextlib.contextmanager
    def _own_rng(self, rng_state):
        """Run torch with the estimator's generator; yield a dict with its end state.

        torch draws weights, shuffles and dropout masks from its global
        generators, so they are forked (saved and restored around the block)
        and seeded from the estimator's own state. The weights and shuffles
        are drawn on the CPU generator whatever the device; the CUDA one, for
        dropout masks only, is seeded from a hash of the state, not a draw
        from it, so that the CPU draws are those of a run on the CPU.
        """
        device = torch.device(self.device)
        cuda = [device.index or 0] if device.type == "cuda" else []
        out = {}
        with torch.random.fork_rng(devices=cuda):
            torch.set_rng_state(torch.from_numpy(rng_state))
            if cuda:
                seed = np.random.SeedSequence(rng_state).generate_state(1, np.uint64)
                torch.cuda.manual_seed(int(seed[0]))
            yield out
            out["rng_state"] = torch.get_rng_state().numpy()

    def _new_streams(self, X, stream_ids, rng_state):
        """Empty stream states; the convolutions' thresholds are placed on ``X``."""
        n_features = X.shape[1]
        decays = _check_decays(self.decay)
        if self.accumulator == "input":
            if self.learn_decay:  # one decay per feature, to be learned
                decays = np.repeat(np.asarray(decays)[:, None], n_features, axis=1)
            return StreamStates(decays, n_features, time_unit_value(self.time_unit))
        if self.learn_decay:
            raise ValueError(
                "learn_decay=True learns the decays of accumulator='input'; "
                "accumulator='convolution' uses fixed decays."
            )
        convolution_decays = _check_decays(
            self.convolution_decay, closed=True, name="convolution_decay"
        )
        codes = (
            np.zeros(len(X), dtype=np.intp)
            if stream_ids is None
            else _factorize(stream_ids, len(X))[1]
        )
        max_dilation = self.max_dilation
        if max_dilation == "auto":
            max_dilation = auto_max_dilation(np.bincount(codes))
        # Channel subsets and threshold samples come from the estimator's own
        # generator state, so that they are reproducible with random_state.
        rng = np.random.default_rng(np.asarray(rng_state, dtype=np.uint32))
        convolutions = CausalConvolutions.fit(
            X, codes, max_dilation, self.n_thresholds, rng
        )
        return ConvolutionStreams(
            decays,
            n_features,
            time_unit_value(self.time_unit),
            convolutions,
            convolution_decays,
        )

    def _net_params(self, n_classes):
        """skorch parameters shared by the decay learner and the final network."""
        return dict(
            module__n_classes=n_classes,
            module__hidden_layer_sizes=tuple(np.atleast_1d(self.hidden_layer_sizes)),
            module__dropout=self.dropout,
            criterion=WeightedCrossEntropy,
            optimizer=torch.optim.Adam,
            lr=self.lr,
            batch_size=self.batch_size,
            iterator_train__shuffle=self.shuffle,
            train_split=None,
            callbacks__valid_loss=None,  # there is no validation split
            device=self.device,
            **_fast_adam(torch.device(self.device).type),
        )

    def _build_net(self, streams, n_classes):
        """The network trained on the accumulated features of ``streams``."""
        # User callbacks are used as given, as skorch does: a TensorBoard
        # callback writes to the user's writer; skorch re-initialises them.
        callbacks = [("train_acc", TrainAccuracy()), *(self.callbacks or [])]
        quiet = {} if self.verbose else {"callbacks__print_log": None}
        params = self._net_params(n_classes)
        if self.early_stopping:  # fit sets the split's rows; see _holdout
            stop = StopOnValidation(self.n_iter_no_change, self.tol)
            callbacks.append(("early_stopping", stop))
            del params["callbacks__valid_loss"]
            params.update(train_split=StreamHoldout(), iterator_valid=BatchIterator)
        if self.verbose:
            quiet["callbacks__print_log__sink"] = print_plain_when_piped
        return TightLoopNet(
            module=MLPModule,
            module__n_inputs=streams.n_inputs,
            iterator_train=BatchIterator,
            max_epochs=self.max_epochs,
            callbacks=callbacks,
            verbose=self.verbose,
            **quiet,
            **params,
        )

    def _prepare(self, streams, X, y_codes, stream_ids, timestamps, sample_weight):
        """The training set of one call and the state update it leads to."""
        features, update = streams.features(X, stream_ids, timestamps, self.device)
        dataset = TensorBatches(
            features,
            torch.as_tensor(y_codes, dtype=torch.int64, device=self.device),
            None
            if np.all(sample_weight == sample_weight[0])  # the plain mean
            else torch.as_tensor(_unit_mean(sample_weight), device=self.device),
        )
        return dataset, update

    def _learn_decays(
        self, streams, X, y_codes, stream_ids, timestamps, sample_weight, n_classes,
        rng_state,
    ):  # fmt: skip
        """Learn one decay per accumulated feature on windows of the rows.

        Returns the streams of the start decays *and* the learned ones (the
        network sees both: learning adds timescales and cannot take away the
        ones the user chose), and the generator's state. The network trained
        alongside is discarded: on the rows of windows a mini-batch holds few
        streams, so ``fit`` then trains its network on the exact features of
        these decays, rows shuffled.
        """
        rows = streams.rows(stream_ids, timestamps, X.shape[0])
        windows = WindowBatches(
            X, y_codes, _unit_mean(sample_weight), rows, self.window, self.device
        )
        net = TightLoopNet(
            module=AccumulatorMLP,
            module__n_features=streams.n_features,
            module__initial_decays=streams.decay_matrix,
            iterator_train=WindowIterator,
            # Adam moves a parameter by about lr per step: the decays' logits
            # need a few units to travel between timescales.
            optimizer__param_groups=[
                ("decay_logit", {"lr": self.lr * _DECAY_LR_FACTOR})
            ],
            callbacks=[("refresh_windows", RefreshWindowStarts())],
            verbose=0,
            **self._net_params(n_classes),
        )
        with self._own_rng(rng_state) as rng:
            net.initialize()
            net.partial_fit(windows, epochs=_decay_epochs(self.max_epochs))
        with torch.no_grad():
            learned = net.module_.decays().double().cpu().numpy()
        decays = np.concatenate([streams.decay_matrix, learned])
        time_unit = time_unit_value(self.time_unit)
        return StreamStates(decays, X.shape[1], time_unit), rng["rng_state"]

    def _train(
        self, net, rng_state, dataset, epochs, initialize, valid=None, online=None
    ):
        """Train ``net``; return the online learner's next state and the RNG's.

        ``valid``: the rows held out for validation (``fit`` with
        ``early_stopping``), set on the net's split for this call only. With
        ``online`` (an :class:`OnlineState`, from ``partial_fit``) the pass
        over the rows is the online learner's. Nothing of the estimator
        changes here: :meth:`_publish` stores the results.
        """
        with self._own_rng(rng_state) as rng:
            if initialize:
                net.initialize()
            if valid is not None:
                net.train_split.valid = valid
            try:
                if online is None:
                    net.partial_fit(dataset, epochs=epochs)
                else:
                    online = online.learn(
                        net,
                        dataset,
                        batch_size=self.online_batch_size,
                        lr=self.online_lr,
                        replay=self.online_replay,
                        drift=self.online_drift,
                        logits_of=None if initialize else self._predictor,
                    )
            finally:
                if valid is not None:
                    net.train_split.valid = None
        weights = [p.detach().reshape(-1) for p in net.module_.parameters()]
        if not bool(torch.isfinite(torch.cat(weights)).all()):
            # As scikit-learn's SGD estimators: a ValueError, and nothing kept.
            raise ValueError(
                "Training diverged: the network's weights are no longer finite "
                "(NaN or infinity), so the estimator is left as it was before "
                "the call. Lower lr (online_lr for partial_fit) or scale X."
            )
        return online, rng["rng_state"]

    def _publish(self, fitted, commit=None):
        """Store a training call's results as one change, seen whole by predict.

        ``fitted`` maps attribute names to values (``_ABSENT``: delete it);
        ``commit``, ``(streams, update)``, advances streams that predict may
        be reading. The snapshot predict runs (weights, online scaling,
        streams, classes) is built first; the change itself is a few
        assignments between two steps of ``_generation``, which
        :meth:`_consistent` reads before and after.
        """
        predictor = inference_snapshot(
            fitted["net_"], fitted["_online"], fitted["_streams"], fitted["classes_"]
        )
        generation = self.__dict__.get("_generation", 0)
        self._generation = generation + 1  # odd: a change is being made
        try:
            if commit is not None:
                streams, update = commit
                streams.commit(update)
            for name, value in fitted.items():
                if value is _ABSENT:
                    self.__dict__.pop(name, None)
                else:
                    setattr(self, name, value)
            self._predictor = predictor
        finally:
            self._generation = generation + 2

    def _consistent(self, read):
        """``read()`` of one published model, read again if one was published during it.

        Predicting takes no lock, so that it runs beside training; a change
        published while it read (odd ``_generation``, or a new one) may have
        given it half of each model, so it reads again, and after a few tries
        holds the lock that training calls hold.
        """
        for _ in range(_READ_TRIES):
            generation = self.__dict__.get("_generation", 0)
            if generation % 2:
                continue
            try:
                result = read()
            except Exception:
                if self.__dict__.get("_generation", 0) == generation:
                    raise
                continue  # the error may come from the change: read again
            if self.__dict__.get("_generation", 0) == generation:
                return result
        with estimator_lock(self):
            return read()

    def _validation_shell(self):
        """A copy of the estimator's attributes for ``validate_data(reset=True)``.

        It records ``n_features_in_`` and ``feature_names_in_`` on the shell,
        so that the model being served keeps its own until the new one is
        published, and a call that fails leaves them as they were.
        """
        shell = object.__new__(type(self))
        shell.__dict__.update(self.__dict__)
        return shell

    @serialised
    @_fit_context(prefer_skip_nested_validation=True)
    @with_torch_threads
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        stream_ids: ArrayLike | None = None,
        timestamps: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> "SignalAccumulativeClassifier":
        """Forget all streams, then train for ``max_epochs`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows in time order within each stream.
        y : array-like of shape (n_samples,)
            Label of each row.
        stream_ids : array-like of shape (n_samples,), default=None
            Stream of each row (any hashable ids). None: ``X`` is one stream.
        timestamps : array-like of shape (n_samples,), default=None
            Time of each row, increasing within each stream. None: one unit
            per row.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the loss.

        Returns
        -------
        self : object
            The fitted estimator; each stream's state is at its last row
            (``after_fit="reset"``: every stream forgotten).

        Examples
        --------
        >>> from sklearn_samlp import SignalAccumulativeClassifier
        >>> from sklearn_samlp.datasets import make_regime_streams
        >>> X, y, ids = make_regime_streams(n_streams=3, random_state=0)
        >>> clf = SignalAccumulativeClassifier(max_epochs=2, random_state=0)
        >>> clf.fit(X, y, stream_ids=ids).n_iter_
        2
        """
        shell = self._validation_shell()
        X, y, stream_ids, timestamps, sample_weight = self._validate_input(
            X,
            y,
            stream_ids=stream_ids,
            timestamps=timestamps,
            sample_weight=sample_weight,
            reset=True,
            into=shell,
        )
        classes = np.unique(y)
        _check_n_classes(classes)
        y_codes = self._encode(y, classes)
        check_validation_monitors(self.callbacks, self.early_stopping)
        if self.early_stopping and X.shape[0] < 2:
            raise ValueError("early_stopping needs at least 2 rows to hold some out.")
        rng_state = self._initial_rng_state()
        # Everything stays local until _publish: a failure leaves the
        # estimator as it was, and predict serves the old model meanwhile.
        streams = self._new_streams(X, stream_ids, rng_state)
        if self.learn_decay:
            streams, rng_state = self._learn_decays(
                streams, X, y_codes, stream_ids, timestamps, sample_weight,
                len(classes), rng_state,
            )  # fmt: skip
        dataset, update = self._prepare(
            streams, X, y_codes, stream_ids, timestamps, sample_weight
        )
        net = self._build_net(streams, len(classes))
        valid = None
        if self.early_stopping:
            valid = self._validation_rows(stream_ids, X.shape[0], rng_state)
        online, rng_state = self._train(
            net, rng_state, dataset, self.max_epochs, initialize=True, valid=valid
        )
        streams.commit(update)  # not yet seen by predict
        if self.after_fit == "reset":
            streams.reset()
        self._publish(
            {
                **_schema(shell),
                "classes_": classes,
                "net_": net,
                "_streams": streams,
                "_rng_state": rng_state,
                "_online": online,
                "_fit_streams": (
                    known_streams(streams) if self.after_fit == "warn" else None
                ),
                "_timestamped": timestamps is not None,
                # early stopping may end before max_epochs
                "n_iter_": len(net.history),
            }
        )
        return self

    def _validation_rows(self, stream_ids, n_rows, rng_state):
        """Rows held out by ``early_stopping``: whole streams, or one stream's tail."""
        if stream_ids is None:
            codes, n_streams = np.zeros(n_rows, dtype=np.intp), 1
        else:
            ids, codes = _factorize(stream_ids, n_rows)
            n_streams = len(ids)
        # Its own generator, seeded from the estimator's: the training draws
        # stay those of early_stopping=False.
        generator = torch.Generator().set_state(torch.from_numpy(rng_state))
        return holdout_rows(codes, n_streams, self.validation_fraction, generator)

    @serialised
    @_fit_context(prefer_skip_nested_validation=True)
    @with_torch_threads
    def partial_fit(
        self, X, y, classes=None, stream_ids=None, timestamps=None, sample_weight=None
    ):
        """Learn ``X`` in one pass, continuing each stream from its state.

        A call, in order: computes the rows' features from each stream's
        carried accumulator; if the model has learned before and
        ``online_drift``, scores the call's loss under the model as it stands
        and updates the drift rule; updates the running input statistics
        (``online_scaling``, in a model begun by ``partial_fit``); then makes
        one pass over the rows in their order, ``online_batch_size`` rows per
        Adam step at ``online_lr`` (annealed, raised after a drift), each step
        topped up with ``online_batch_size`` rows replayed from the buffer of
        earlier rows; finally appends the rows to the replay buffer and
        advances the accumulators. It records one epoch in ``history_``.
        Nothing changes if the call raises before training.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The next rows, in time order within each stream.
        y : array-like of shape (n_samples,)
            Label of each row.
        classes : array-like of shape (n_classes,), default=None
            All labels that can ever occur. Required on the first call,
            ignored or checked afterwards.
        stream_ids : array-like of shape (n_samples,), default=None
            Stream of each row. None: the rows continue the default stream.
        timestamps : array-like of shape (n_samples,), default=None
            Time of each row, increasing within each stream and after the
            stream's previous rows. None: one unit per row.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the loss.

        Returns
        -------
        self : object
            The estimator, each stream's state advanced to its last row. A
            chunk of no rows changes nothing (no epoch, ``n_iter_`` stays).
        """
        first_call = not hasattr(self, "classes_")
        if first_call and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None:
            classes = _check_classes(classes)
            if not first_call and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"`classes={classes.tolist()}` is not the same as on the first "
                    f"call to partial_fit: {self.classes_.tolist()}."
                )
        else:
            classes = self.classes_
        if _num_samples(X) == 0 and _num_samples(y) == 0:
            return self  # a live stream may have nothing new: nothing to learn
        shell = self._validation_shell() if first_call else None
        X, y, stream_ids, timestamps, sample_weight = self._validate_input(
            X,
            y,
            stream_ids=stream_ids,
            timestamps=timestamps,
            sample_weight=sample_weight,
            reset=first_call,
            into=shell,
        )
        y_codes = self._encode(y, classes)
        if first_call:
            rng_state = self._initial_rng_state()
            streams = self._new_streams(X, stream_ids, rng_state)
            net = self._build_net(streams, len(classes))
        else:
            streams, net, rng_state = self._streams, self.net_, self._rng_state
        dataset, update = self._prepare(
            streams, X, y_codes, stream_ids, timestamps, sample_weight
        )
        online = getattr(self, "_online", None)
        if online is None:  # inputs are scaled only in a model begun online
            online = OnlineState(
                streams.n_inputs,
                scaling=first_call and self.online_scaling,
                replay=self.online_replay,
                drift=self.online_drift,
            )
        # A new net is discarded on failure; one trained on is put back.
        guard = contextlib.nullcontext() if first_call else rolled_back_on_error(net)
        with guard:
            online, rng_state = self._train(
                net, rng_state, dataset, 1, initialize=first_call, online=online
            )
            fitted = {
                "classes_": classes,
                "net_": net,
                "_streams": streams,
                "_rng_state": rng_state,
                "_online": online,
                "_fit_streams": None,  # the streams have moved on: no longer fit's
                "n_iter_": 1 if first_call else self.n_iter_ + 1,
            }
            if first_call:
                fitted.update(_schema(shell))
            if first_call or timestamps is not None:
                fitted["_timestamped"] = timestamps is not None
            self._publish(fitted, commit=(streams, update))
        return self

    # -------------------------------------------------------------- inference

    def _rows(self, X, stream_ids, timestamps, method=None):
        """Validated rows of an inference call: ``(X, stream_ids, timestamps)``.

        ``method``: the name of a predicting call, which warns about stream
        ids that are probably not what the caller means (see ``after_fit``).
        """
        if "_predictor" not in self.__dict__:  # set last by a successful fit
            check_is_fitted(self)
        X, _, stream_ids, timestamps, _ = self._validate_input(
            X, stream_ids=stream_ids, timestamps=timestamps, reset=False
        )
        if method is not None:
            if stream_ids is None:
                n_streams = len(known_streams(self._streams))
                if n_streams > 1:
                    warn_missing_stream_ids(n_streams, method)
            elif getattr(self, "_fit_streams", None):
                warn_reused_streams(self._fit_streams, stream_ids, method)
            if timestamps is None and getattr(self, "_timestamped", False):
                warn_missing_timestamps(method)
        return X, stream_ids, timestamps

    @serialised
    @with_torch_threads
    def update_accumulators(
        self,
        X: ArrayLike,
        stream_ids: ArrayLike | None = None,
        timestamps: ArrayLike | None = None,
    ) -> "SignalAccumulativeClassifier":
        """Advance the accumulators over unlabeled rows, without training.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        stream_ids : array-like of shape (n_samples,), default=None
        timestamps : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        rows = self._rows(X, stream_ids, timestamps)
        self._streams.commit(self._streams.advance(*rows, device=self.device))
        self._fit_streams = None  # the streams have moved on: no longer fit's
        return self

    @serialised
    def reset_accumulators(
        self, stream_ids: ArrayLike | None = None
    ) -> "SignalAccumulativeClassifier":
        """Forget all streams, or only the given ones; they restart from zero.

        Parameters
        ----------
        stream_ids : array-like, default=None
            Streams to forget. None forgets all, including the default stream.

        Returns
        -------
        self : object
        """
        check_is_fitted(self)
        self._streams.reset(None if stream_ids is None else np.asarray(stream_ids))
        self._fit_streams = None
        return self

    def predict_proba(
        self,
        X: ArrayLike,
        stream_ids: ArrayLike | None = None,
        timestamps: ArrayLike | None = None,
    ) -> np.ndarray:
        """Class probabilities of each row, from the carried state; changes nothing.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        stream_ids : array-like of shape (n_samples,), default=None
        timestamps : array-like of shape (n_samples,), default=None

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        logits, _ = self._logits(X, stream_ids, timestamps, "predict_proba")
        return torch.softmax(logits.to("cpu", torch.float64), dim=1).numpy()

    @with_torch_threads
    def _logits(self, X, stream_ids, timestamps, method):
        """Logits of the rows and the classes they index, from one snapshot."""

        def read():
            rows = self._rows(X, stream_ids, timestamps, method)
            predictor = self._predictor  # weights, scaling, streams, classes
            # The update is dropped at once: it is as large as the states.
            features = predictor.streams.features(*rows, device=self.device)[0]
            return predictor(features), predictor.classes

        return self._consistent(read)

    @with_torch_threads
    def _last_row_proba(self, X, stream_ids):
        """Class probabilities at the last row of each stream of ``X``; changes nothing.

        Returns the stream ids (sorted, where they sort) and their
        probabilities, shape (n_streams, n_classes): what
        :class:`SignalAccumulativeSeriesClassifier` reads, without the
        network's pass over the other rows.
        """

        def read():
            rows, ids = self._rows(X, stream_ids, None)[:2]
            predictor = self._predictor
            ids, features = predictor.streams.last_row_features(
                rows, ids, device=self.device
            )
            return ids, predictor(features)

        ids, logits = self._consistent(read)
        return ids, torch.softmax(logits.to("cpu", torch.float64), dim=1).numpy()

    def predict(
        self,
        X: ArrayLike,
        stream_ids: ArrayLike | None = None,
        timestamps: ArrayLike | None = None,
    ) -> np.ndarray:
        """Class of each row, from the carried state; changes nothing.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        stream_ids : array-like of shape (n_samples,), default=None
        timestamps : array-like of shape (n_samples,), default=None

        Returns
        -------
        y : ndarray of shape (n_samples,)

        Examples
        --------
        >>> from sklearn_samlp import SignalAccumulativeClassifier
        >>> from sklearn_samlp.datasets import make_regime_streams
        >>> X, y, ids = make_regime_streams(n_streams=4, random_state=0)
        >>> train, test = ids < 3, ids == 3
        >>> clf = SignalAccumulativeClassifier(max_epochs=2, random_state=0)
        >>> clf = clf.fit(X[train], y[train], stream_ids=ids[train])
        >>> clf.predict(X[test][:5], stream_ids=ids[test][:5]).shape
        (5,)
        """
        logits, classes = self._logits(X, stream_ids, timestamps, "predict")
        return classes[logits.argmax(dim=1).cpu().numpy()]

    def score(
        self,
        X: ArrayLike,
        y: ArrayLike,
        stream_ids: ArrayLike | None = None,
        timestamps: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> float:
        """Accuracy per row of ``predict(X, stream_ids)``; changes nothing.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        stream_ids : array-like of shape (n_samples,), default=None
        timestamps : array-like of shape (n_samples,), default=None
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        logits, classes = self._logits(X, stream_ids, timestamps, "score")
        y_pred = classes[logits.argmax(dim=1).cpu().numpy()]
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

    @property
    def history_(self) -> History:
        """skorch's training history: one entry per epoch since the last ``fit``.

        Each entry holds ``epoch``, ``train_loss``, ``train_acc``, ``dur`` and
        the per-batch records (and ``valid_loss``, ``valid_acc`` with
        ``early_stopping=True``); ``clf.history_[:, "train_loss"]`` lists a
        key over the epochs. It is ``net_.history``.
        """
        check_is_fitted(self)
        return self.net_.history

    @property
    def decays_(self) -> np.ndarray:
        """Decay of every accumulated feature, shape (n_decays, n_features_in_).

        Row ``k`` is entry ``k`` of the bank: ``decay`` broadcast over the
        features, or the decays learned with ``learn_decay=True``.
        """
        check_is_fitted(self)
        return self._streams.decay_matrix

    @property
    def accumulators_(self) -> dict:
        """Raw accumulator state of every known stream, as ``{stream_id: state}``.

        A state is ``[a(decay) for decay in the bank]`` concatenated, shape
        ``(n_decays * n_features_in_,)``. With ``accumulator="convolution"``
        it continues with the accumulated indicators (one block per entry of
        ``convolution_decay``; the running mean for 1),
        the stream's last ``8 * max(dilations)`` rows and the number of rows
        seen. The default stream's id is None.
        """
        check_is_fitted(self)
        streams = self._streams
        return {sid: streams.states[row].copy() for sid, row in streams.index.items()}

    # ------------------------------------------------------------ persistence

    def __getstate__(self):
        state = dict(super().__getstate__())  # may be __dict__ itself
        state.pop("_lock", None)  # locks cannot be pickled; a copy gets its own
        state.pop("_predictor", None)  # rebuilt from net_
        state.pop("_generation", None)  # of this object's publishing only
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "net_" in state:
            self._predictor = inference_snapshot(
                self.net_, self.__dict__.get("_online"), self._streams, self.classes_
            )
        # Unpickled where CUDA is missing, skorch moves the net to the CPU
        # (with a DeviceWarning); the estimator follows it there.
        if torch.device(self.device).type == "cuda" and not torch.cuda.is_available():
            self.device = "cpu"

    def save(self, path: str | os.PathLike) -> None:
        """Save the fitted estimator to one file that cannot execute code.

        The file holds the parameters, the weights, the optimizer state, the
        classes and every stream's accumulator, as tensors and JSON strings
        written by ``torch.save``; :meth:`load` reads it with
        ``torch.load(weights_only=True)``. Stream ids must be str, int, float,
        bool or None. The file is written to a temporary file in the same
        folder, then renamed into place: a save that fails leaves the file
        that was at ``path`` as it was.

        Parameters
        ----------
        path : str or path-like
            File to write; ``~`` is expanded and missing parent folders are
            created.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from sklearn_samlp import SignalAccumulativeClassifier
        >>> from sklearn_samlp.datasets import make_regime_streams
        >>> X, y, ids = make_regime_streams(n_streams=3, random_state=0)
        >>> clf = SignalAccumulativeClassifier(max_epochs=1, random_state=0)
        >>> clf = clf.fit(X, y, stream_ids=ids)
        >>> path = Path(tempfile.mkdtemp()) / "model.pt"
        >>> clf.save(path)
        >>> loaded = SignalAccumulativeClassifier.load(path)
        >>> new = [7] * 5  # a new stream, continued from the same state by both
        >>> bool((loaded.predict(X[:5], new) == clf.predict(X[:5], new)).all())
        True
        """
        check_is_fitted(self)
        save_estimator(self, path)

    @classmethod
    def load(
        cls, path: str | os.PathLike, device: str | torch.device | None = None
    ) -> "SignalAccumulativeClassifier":
        """Load an estimator saved with :meth:`save`.

        Parameters
        ----------
        path : str or path-like
        device : str or torch.device, default=None
            Where to put the network. None: the device it was saved from, or
            the CPU when that is a GPU that this machine lacks.

        Returns
        -------
        estimator : SignalAccumulativeClassifier
            Ready to predict and to continue with ``partial_fit`` exactly
            where the saved estimator stood.

        Raises
        ------
        ValueError
            If the file is truncated, is not a saved estimator, holds
            anything but tensors and plain data, or holds fields that
            contradict each other (classes, decays, weights, stream state).

        Examples
        --------
        See :meth:`save`.
        """
        return load_estimator(cls, path, device=device)
