# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score, f1_score
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_samlp import SignalAccumulativeClassifier, prequential_score
from sklearn_samlp.datasets import make_regime_streams


@pytest.fixture(scope="module")
def stream():
    """Three interleaved streams (time-major), with string labels."""
    X, y, ids = make_regime_streams(
        n_streams=3, n_steps=120, n_features=4, random_state=0
    )
    order = np.arange(len(y)).reshape(3, 120).T.ravel()
    labels = np.array(["a", "b", "c"])
    return X[order].astype(np.float32), labels[y[order]], ids[order]


def _clf():
    return SignalAccumulativeClassifier(
        decay=0.8, hidden_layer_sizes=(16,), batch_size=16, random_state=0
    )


def _hand_loop(clf, X, y, ids, chunk_size, metric, classes):
    """The protocol written out: predict then partial_fit each chunk."""
    scores, y_pred = [], []
    for start in range(0, len(y), chunk_size):
        rows = slice(start, start + chunk_size)
        if start == 0:
            clf.partial_fit(X[rows], y[rows], classes=classes, stream_ids=ids[rows])
            continue
        pred = clf.predict(X[rows], stream_ids=ids[rows])
        scores.append(metric(y[rows], pred))
        y_pred.append(pred)
        clf.partial_fit(X[rows], y[rows], stream_ids=ids[rows])
    return np.array(scores), np.concatenate(y_pred or [np.empty(0, dtype=y.dtype)])


@pytest.mark.parametrize("chunk_size", [50, 97, 360, 1000])
def test_prequential_score_matches_hand_written_loop(stream, chunk_size):
    X, y, ids = stream
    clf = _clf()
    result = prequential_score(clf, X, y, ids, chunk_size=chunk_size)
    ref = _clf()
    scores, y_pred = _hand_loop(
        ref, X, y, ids, chunk_size, lambda a, b: np.mean(a == b), np.unique(y)
    )

    n_chunks = -(-len(y) // chunk_size)
    assert result.scores.shape == (n_chunks,)
    assert np.isnan(result.scores[0])
    assert_array_equal(result.scores[1:], scores)
    assert_array_equal(result.chunk_starts, np.arange(n_chunks) * chunk_size)
    assert_array_equal(
        result.chunk_stops, np.minimum(np.arange(1, n_chunks + 1) * chunk_size, len(y))
    )
    first = min(chunk_size, len(y))
    assert_array_equal(result.predicted, np.arange(len(y)) >= first)
    assert_array_equal(result.y_pred[first:], y_pred)
    assert_array_equal(result.y_pred[:first], "a")  # classes_[0] fills them
    assert result.y_pred.dtype.kind == "U"
    # clf is trained in place: it ends where the hand loop ends.
    assert clf.n_iter_ == ref.n_iter_ == n_chunks
    assert_array_equal(
        clf.predict_proba(X[:30], stream_ids=ids[:30]),
        ref.predict_proba(X[:30], stream_ids=ids[:30]),
    )


def _chunks_of(y, chunk_size):
    return [y[i : i + chunk_size] for i in range(0, len(y), chunk_size)]


def test_prequential_score_fitted_estimator_scores_first_chunk(stream):
    X, y, ids = stream
    # The scored rows continue the training streams.
    clf = _clf().set_params(max_epochs=2, after_fit="continue")
    clf.fit(X[:120], y[:120], stream_ids=ids[:120])
    ref = clone(clf).fit(X[:120], y[:120], stream_ids=ids[:120])
    result = prequential_score(clf, X[120:], y[120:], ids[120:], chunk_size=60)

    assert np.all(np.isfinite(result.scores))
    assert result.predicted.all()
    for i, (y_chunk, start) in enumerate(
        zip(_chunks_of(y[120:], 60), result.chunk_starts)
    ):
        rows = slice(120 + start, 120 + start + 60)
        pred = ref.predict(X[rows], stream_ids=ids[rows])
        assert_array_equal(result.y_pred[start : start + 60], pred)
        assert result.scores[i] == np.mean(pred == y_chunk)
        ref.partial_fit(X[rows], y[rows], stream_ids=ids[rows])


@pytest.mark.parametrize(
    "scoring, metric",
    [
        ("balanced_accuracy", balanced_accuracy_score),
        ("f1_macro", lambda a, b: f1_score(a, b, average="macro")),
        (cohen_kappa_score, cohen_kappa_score),
    ],
)
def test_prequential_score_scoring(stream, scoring, metric):
    X, y, ids = stream
    result = prequential_score(_clf(), X, y, ids, chunk_size=90, scoring=scoring)
    expected = [
        metric(y[s:e], result.y_pred[s:e])
        for s, e in zip(result.chunk_starts[1:], result.chunk_stops[1:])
    ]
    assert_array_equal(result.scores[1:], expected)


def test_prequential_score_proba_scorer(stream):
    # A scorer on probabilities gets predict_proba of the chunk, with its ids.
    X, y, ids = stream
    X, y, ids = X[:180], y[:180], ids[:180]
    result = prequential_score(_clf(), X, y, ids, chunk_size=90, scoring="neg_log_loss")
    ref = _clf().partial_fit(X[:90], y[:90], classes=np.unique(y), stream_ids=ids[:90])
    proba = ref.predict_proba(X[90:], stream_ids=ids[90:])
    true_class = np.searchsorted(ref.classes_, y[90:])
    log_loss = -np.mean(np.log(proba[np.arange(90), true_class]))
    assert result.scores[1] == pytest.approx(-log_loss)


def test_prequential_score_classes(stream):
    X, y, ids = stream
    classes = np.array(["a", "b", "c", "d"])
    clf = _clf()
    prequential_score(clf, X[:100], y[:100], ids[:100], chunk_size=50, classes=classes)
    assert_array_equal(clf.classes_, classes)
    # Without classes, the labels of the whole y are used for the first call,
    # even those that only occur after the first chunk.
    first = np.flatnonzero(y != y[0])[0]
    clf = _clf()
    prequential_score(clf, X, y, ids, chunk_size=first)
    assert_array_equal(clf.classes_, ["a", "b", "c"])


def test_prequential_score_without_stream_ids():
    # Any scikit-learn incremental classifier works when stream_ids is None.
    X, y, _ = make_regime_streams(n_streams=1, n_steps=400, random_state=1)
    clf = SGDClassifier(random_state=0)
    result = prequential_score(clf, X, y, chunk_size=100)
    ref = SGDClassifier(random_state=0).partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    for i in range(1, 4):
        rows = slice(100 * i, 100 * (i + 1))
        assert_array_equal(result.y_pred[rows], ref.predict(X[rows]))
        assert result.scores[i] == ref.score(X[rows], y[rows])
        ref.partial_fit(X[rows], y[rows])
    # SignalAccumulativeClassifier: one stream, the same as stream_ids=zeros.
    a = prequential_score(_clf(), X, y, chunk_size=150)
    b = prequential_score(_clf(), X, y, np.zeros(len(y)), chunk_size=150)
    assert_array_equal(a.scores, b.scores)
    assert_array_equal(a.y_pred, b.y_pred)


def test_prequential_score_pandas(stream):
    pd = pytest.importorskip("pandas")
    X, y, ids = stream
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    a = prequential_score(_clf(), frame, pd.Series(y), pd.Series(ids), chunk_size=120)
    b = prequential_score(_clf(), X, y, ids, chunk_size=120)
    assert_array_equal(a.scores, b.scores)
    assert_array_equal(a.y_pred, b.y_pred)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"chunk_size": 0}, "chunk_size"),
        ({"scoring": "not_a_scorer"}, "scoring"),
        ({"scoring": 3}, "scoring"),
    ],
)
def test_prequential_score_invalid_params(stream, kwargs, match):
    X, y, ids = stream
    with pytest.raises(InvalidParameterError, match=match):
        prequential_score(_clf(), X, y, ids, **kwargs)


def test_prequential_score_invalid_input(stream):
    X, y, ids = stream
    with pytest.raises(InvalidParameterError, match="clf"):
        prequential_score(object(), X, y, ids)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        prequential_score(_clf(), X, y[:-1], ids)
    with pytest.raises(ValueError, match="at least one row"):
        prequential_score(_clf(), X[:0], y[:0], ids[:0])


def test_prequential_score_told_the_rows_continue_the_training_streams():
    import warnings

    from sklearn_samlp import StreamIdWarning

    X, y, ids = make_regime_streams(n_streams=3, n_steps=200, random_state=0)
    first = np.arange(len(X)) < len(X) // 2
    clf = SignalAccumulativeClassifier(max_epochs=2, random_state=0)
    clf.fit(X[first], y[first], stream_ids=ids[first])
    with pytest.warns(StreamIdWarning, match="that fit trained on"):
        prequential_score(clone(clf).fit(X[first], y[first], stream_ids=ids[first]),
                          X[~first], y[~first], stream_ids=ids[~first])  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", StreamIdWarning)
        told = prequential_score(
            clf, X[~first], y[~first], stream_ids=ids[~first], continue_streams=True
        )
    assert np.all(np.isfinite(told.scores))
