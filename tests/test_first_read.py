"""What a new user trips on: routing to predict, timestamps after fit, warnings
repeated by a search, an empty chunk on a live stream (issue 23)."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_samlp import SignalAccumulativeClassifier, StreamIdWarning
from sklearn_samlp._stream_checks import _SHOWN
from sklearn_samlp.datasets import make_regime_streams

FAST = {"max_epochs": 2, "hidden_layer_sizes": (8,), "random_state": 0}


@pytest.fixture
def streams():
    return make_regime_streams(n_streams=6, n_steps=60, random_state=0)


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def test_stream_metadata_requested_by_default(streams, routing):
    """Through a pipeline in a search, stream_ids reach fit, score and predict."""
    X, y, ids = streams
    pipe = make_pipeline(StandardScaler(), SignalAccumulativeClassifier(**FAST))
    grid = {"signalaccumulativeclassifier__decay": [0.0, 0.9]}
    search = GridSearchCV(pipe, grid, cv=GroupKFold(3))
    search.fit(X, y, groups=ids, stream_ids=ids)
    new_ids = ids + 100  # new series: they start from zero, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        best = search.best_estimator_
        routed = best.predict_proba(X, stream_ids=new_ids)
        labels = best.predict(X, stream_ids=new_ids)
        score = best.score(X, y, stream_ids=new_ids)
    direct = best[-1].predict_proba(best[0].transform(X), stream_ids=new_ids)
    np.testing.assert_array_equal(routed, direct)
    one_stream = best[-1].predict_proba(
        best[0].transform(X), stream_ids=np.zeros(len(X)) + 100
    )
    assert not np.allclose(direct, one_stream)  # the ids made a difference
    assert score == np.mean(labels == y)
    requests = SignalAccumulativeClassifier().get_metadata_routing()
    for method in ("fit", "partial_fit", "predict", "predict_proba", "score"):
        request = getattr(requests, method).requests
        assert request["stream_ids"] is True and request["timestamps"] is True


def test_timestamps_going_back_name_the_remedy(streams):
    X, y, ids = streams
    ts = np.arange(len(X), dtype=float)
    clf = SignalAccumulativeClassifier(after_fit="continue", **FAST)
    clf.fit(X, y, stream_ids=ids, timestamps=ts)
    with pytest.raises(ValueError, match=r"reset_accumulators\(\)"):
        clf.score(X, y, stream_ids=ids, timestamps=ts)
    clf.reset_accumulators()
    clf.score(X, y, stream_ids=ids, timestamps=ts)  # the remedy works


def test_missing_timestamps_on_a_timestamped_model_warn(streams):
    X, y, ids = streams
    ts = np.arange(len(X), dtype=float)
    clf = SignalAccumulativeClassifier(after_fit="reset", **FAST)
    clf.fit(X, y, stream_ids=ids, timestamps=ts)
    with pytest.warns(UserWarning, match="without timestamps on a model trained"):
        clf.predict(X, stream_ids=ids)
    untimed = SignalAccumulativeClassifier(after_fit="reset", **FAST)
    untimed.fit(X, y, stream_ids=ids)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        untimed.predict(X, stream_ids=ids)


def test_a_search_without_routing_warns_once(streams):
    """Six candidates times three folds: one warning, not eighteen."""
    X, y, ids = streams
    _SHOWN.clear()
    grid = {"decay": [0.0, 0.5, 0.9], "dropout": [0.0, 0.1]}
    search = GridSearchCV(SignalAccumulativeClassifier(**FAST), grid, cv=GroupKFold(3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        search.fit(X, y, groups=ids, stream_ids=ids)
    stream_warnings = [w for w in caught if issubclass(w.category, StreamIdWarning)]
    assert len(stream_warnings) == 1
    assert "without stream_ids" in str(stream_warnings[0].message)
    with pytest.warns(StreamIdWarning):  # "always" (and "error") still see each one
        search.best_estimator_.score(X, y)
    _SHOWN.clear()


def test_empty_chunk_is_a_no_op(streams):
    X, y, ids = streams
    clf = SignalAccumulativeClassifier(**FAST)
    assert clf.partial_fit(X[:0], y[:0], classes=np.unique(y)) is clf
    assert not hasattr(clf, "classes_")
    clf.partial_fit(X, y, classes=np.unique(y), stream_ids=ids)
    before = clf.accumulators_, clf.n_iter_, len(clf.history_)
    assert clf.partial_fit(X[:0], y[:0], stream_ids=ids[:0]) is clf
    after = clf.accumulators_, clf.n_iter_, len(clf.history_)
    assert before[1:] == after[1:]
    for sid in before[0]:
        np.testing.assert_array_equal(before[0][sid], after[0][sid])
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X[:0], y[:0], classes=[0, 1])


def test_chunks_continue_the_stream_through_update_accumulators():
    """The Dask remedy (docs/scaling.md): predict a chunk, then advance the state."""
    X, y, _ = make_regime_streams(n_streams=1, n_steps=200, random_state=0)
    clf = SignalAccumulativeClassifier(decay=0.9, **FAST).fit(X[:100], y[:100])
    whole = clf.predict_proba(X[100:])
    chunked = []
    for start in range(100, 200, 25):
        chunked.append(clf.predict_proba(X[start : start + 25]))
        clf.update_accumulators(X[start : start + 25])
    np.testing.assert_allclose(np.vstack(chunked), whole, atol=1e-5)


def test_import_leaves_cli_dask_and_plotting_out():
    """``import sklearn_samlp`` costs torch and skorch, not what only some use."""
    import subprocess
    import sys

    code = (
        "import sys, sklearn_samlp; "
        "print(sorted(m for m in ('sklearn_samlp._cli', 'dask', 'matplotlib', "
        "'tensorboard', 'torch.utils.tensorboard') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
