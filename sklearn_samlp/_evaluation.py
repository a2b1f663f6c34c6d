"""Prequential (test-then-train) evaluation of an incremental classifier."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.metrics import get_scorer, get_scorer_names
from sklearn.utils import Bunch, _safe_indexing, indexable
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._stream_checks import StreamIdWarning

__all__ = ["prequential_score"]


def _is_fitted(estimator):
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def _estimator_has(method):
    return lambda self: hasattr(self.estimator, method)


class _ChunkResponses(ClassifierMixin, BaseEstimator):
    """A fitted classifier's responses on one chunk, shown to a scorer.

    A scorer calls ``predict(X)`` (or ``predict_proba``, ...) without the
    chunk's ``stream_ids``; this stand-in answers with the estimator's
    responses on the chunk, with its stream ids, and computes each one once.
    It exposes only the response methods the estimator has, so that scorers
    pick the same method they would pick for the estimator.
    """

    def __init__(self, estimator, X, stream_ids):
        self.estimator = estimator
        self.X = X
        self.stream_ids = stream_ids

    @property
    def classes_(self):
        return self.estimator.classes_

    def _response(self, method):
        cache = self.__dict__.setdefault("_cache", {})
        if method not in cache:
            kwargs = {} if self.stream_ids is None else {"stream_ids": self.stream_ids}
            cache[method] = getattr(self.estimator, method)(self.X, **kwargs)
        return cache[method]

    def predict(self, X):
        return self._response("predict")

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        return self._response("predict_proba")

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        return self._response("predict_log_proba")

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        return self._response("decision_function")


@validate_params(
    {
        "clf": [HasMethods(["partial_fit", "predict"])],
        "X": ["array-like"],
        "y": ["array-like"],
        "stream_ids": ["array-like", None],
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
        "scoring": [StrOptions(set(get_scorer_names())), callable],
        "classes": ["array-like", None],
        "continue_streams": ["boolean"],
    },
    prefer_skip_nested_validation=False,  # clf's own parameters are validated
)
def prequential_score(
    clf,
    X,
    y,
    stream_ids=None,
    *,
    chunk_size=100,
    scoring="accuracy",
    classes=None,
    continue_streams=False,
):
    """Evaluate a classifier on a stream by testing, then training, on each chunk.

    The rows are cut into consecutive chunks of ``chunk_size`` rows. Each
    chunk is first predicted by the model as it stands, and the predictions
    are scored; then the model is trained on the chunk with ``partial_fit``.
    Every prediction is thus made by a model that has not seen the row, and
    the scores follow the model as it learns. This is the prequential, or
    progressive validation, protocol of river's ``progressive_val_score``,
    applied to chunks instead of single rows.

    ``clf`` is trained in place, as in river: afterwards it is the model at
    the end of the stream. Pass ``sklearn.base.clone(clf)`` to keep ``clf``.

    Parameters
    ----------
    clf : estimator
        A classifier with ``partial_fit`` and ``predict``, fitted or not. With
        ``stream_ids``, its ``partial_fit`` and response methods must accept
        ``stream_ids`` as :class:`~sklearn_samlp.SignalAccumulativeClassifier`
        does; without, any scikit-learn incremental classifier works.

    X : array-like of shape (n_samples, n_features)
        The rows of the stream, in time order within each stream.

    y : array-like of shape (n_samples,)
        The label of each row.

    stream_ids : array-like of shape (n_samples,), default=None
        The stream of each row, passed on to ``clf``. None: ``stream_ids`` is
        not passed, and for ``SignalAccumulativeClassifier`` all rows are one
        stream.

    chunk_size : int, default=100
        Rows per chunk; the last chunk holds what is left. Chunks follow the
        row order, whatever stream a row belongs to.

    scoring : str or callable, default="accuracy"
        How each chunk is scored. A str is a scorer name accepted by
        :func:`sklearn.metrics.get_scorer`, such as ``"accuracy"``,
        ``"balanced_accuracy"`` or ``"f1_macro"``; the scorer is given the
        estimator's responses on the chunk (with its stream ids). Scorers
        that need every class in every chunk, such as ``"roc_auc_ovr"`` or
        ``"neg_log_loss"``, fail on chunks that lack a class. A callable is
        a metric ``score_func(y_true, y_pred)`` on the labels of the chunk,
        e.g. :func:`sklearn.metrics.cohen_kappa_score` (not a scorer object
        made by :func:`~sklearn.metrics.make_scorer`).

    classes : array-like of shape (n_classes,), default=None
        All the labels, passed to the first call to ``partial_fit``. None:
        the labels that occur in ``y``, when ``clf`` is not fitted yet (the
        first ``partial_fit`` needs them); nothing is passed when ``clf`` is
        fitted.

    continue_streams : bool, default=False
        Whether the rows continue the streams that ``clf`` was fitted on
        (their ids, each stream's next rows). True silences the
        ``StreamIdWarning`` that
        :class:`~sklearn_samlp.SignalAccumulativeClassifier` gives, after
        ``fit`` with ``after_fit="warn"``, when it predicts rows of training
        streams; False keeps it, since held-out series numbered like the
        training ones would start from the training streams' memory.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        scores : ndarray of shape (n_chunks,)
            The score of each chunk. If ``clf`` was not fitted, the first
            chunk is not predicted, since there is no model yet: it only
            trains the model, and its score is NaN. Every other score is a
            number. ``np.nanmean(result.scores)`` is the mean score.
        chunk_starts : ndarray of shape (n_chunks,)
            Index of the first row of each chunk.
        chunk_stops : ndarray of shape (n_chunks,)
            One past the index of the last row of each chunk: the number of
            rows the model has been trained on after that chunk.
        y_pred : ndarray of shape (n_samples,)
            The prediction of each row, made before training on its chunk.
            Rows of an unpredicted first chunk hold ``clf.classes_[0]`` so
            that the array stays of the labels' type, without NaN; use
            ``predicted`` to leave them out.
        predicted : ndarray of shape (n_samples,), dtype bool
            Whether each row was predicted: False exactly for the rows of an
            unpredicted first chunk.

    See Also
    --------
    sklearn.model_selection.cross_val_score : Scores on held-out folds
        instead of on the future of a stream.

    Notes
    -----
    Chunking trades the granularity of the evaluation for speed: each chunk
    is one ``partial_fit`` call, i.e. one pass over the chunk in steps of
    ``online_batch_size`` rows for
    :class:`~sklearn_samlp.SignalAccumulativeClassifier`. ``chunk_size=1``
    is river's protocol: predict one row, then learn it. Prediction does
    not advance that estimator's accumulators, and ``partial_fit`` then
    advances them over the chunk, so each stream's memory is carried from
    chunk to chunk exactly as in a single pass.

    References
    ----------
    .. [1] A. P. Dawid (1984). "Present position and potential developments:
       some personal views: statistical theory: the prequential approach".
       Journal of the Royal Statistical Society, Series A, 147(2).
    .. [2] river: ``river.evaluate.progressive_val_score``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_samlp import SignalAccumulativeClassifier, prequential_score
    >>> from sklearn_samlp.datasets import make_regime_streams
    >>> X, y, stream_ids = make_regime_streams(n_streams=4, n_steps=150,
    ...                                        random_state=0)
    >>> clf = SignalAccumulativeClassifier(decay=0.9, random_state=0)
    >>> result = prequential_score(clf, X, y, stream_ids, chunk_size=100)
    >>> result.scores.shape, result.chunk_stops[:3]
    ((6,), array([100, 200, 300]))
    >>> bool(np.isnan(result.scores[0])), int(result.predicted.sum())
    (True, 500)
    >>> bool(np.all((result.scores[1:] >= 0) & (result.scores[1:] <= 1)))
    True
    """
    X, y, stream_ids = indexable(X, y, stream_ids)
    y = np.asarray(y)
    n_samples = y.shape[0]
    if n_samples == 0:
        raise ValueError("prequential_score needs at least one row, got 0.")
    if scoring == "accuracy":  # the default; per-row chunks skip the scorer's checks
        scorer, score_func = None, None
    elif isinstance(scoring, str):
        scorer, score_func = get_scorer(scoring), None
    else:
        scorer, score_func = None, scoring

    first_fit = not _is_fitted(clf)
    if first_fit and classes is None:
        classes = np.unique(y)

    with warnings.catch_warnings():
        if continue_streams:  # told so: the warning has nothing to add
            warnings.filterwarnings("ignore", category=StreamIdWarning)
        return _test_then_train(
            clf, X, y, stream_ids, chunk_size, scorer, score_func, classes, first_fit
        )


def _test_then_train(
    clf, X, y, stream_ids, chunk_size, scorer, score_func, classes, first_fit
):
    """:func:`prequential_score`'s loop over the chunks."""
    n_samples = y.shape[0]
    starts = np.arange(0, n_samples, chunk_size)
    stops = np.minimum(starts + chunk_size, n_samples)
    scores = np.full(len(starts), np.nan)
    y_pred, predicted = [], np.ones(n_samples, dtype=bool)
    for i, (start, stop) in enumerate(zip(starts, stops)):
        rows = slice(start, stop)
        X_chunk = X[rows] if isinstance(X, np.ndarray) else _safe_indexing(X, rows)
        y_chunk = y[rows]
        ids_chunk = None if stream_ids is None else _safe_indexing(stream_ids, rows)
        kwargs = {} if ids_chunk is None else {"stream_ids": ids_chunk}

        if i == 0 and first_fit:
            y_pred.append(None)  # filled once the model knows its classes
            predicted[rows] = False
        elif scorer is None and score_func is None:
            pred = np.asarray(clf.predict(X_chunk, **kwargs))
            scores[i] = np.mean(pred == y_chunk)
            y_pred.append(pred)
        else:
            responses = _ChunkResponses(clf, X_chunk, ids_chunk)
            if scorer is not None:
                scores[i] = scorer(responses, X_chunk, y_chunk)
            else:
                scores[i] = score_func(y_chunk, responses.predict(X_chunk))
            y_pred.append(np.asarray(responses.predict(X_chunk)))

        if classes is not None and i == 0:
            kwargs["classes"] = classes
        clf.partial_fit(X_chunk, y_chunk, **kwargs)

    if len(y_pred) and y_pred[0] is None:
        y_pred[0] = np.full(stops[0] - starts[0], clf.classes_[0])
    y_pred = np.concatenate(y_pred) if y_pred else np.empty(0, dtype=y.dtype)
    return Bunch(
        scores=scores,
        chunk_starts=starts,
        chunk_stops=stops,
        y_pred=y_pred,
        predicted=predicted,
    )
