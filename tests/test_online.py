# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_samlp import SignalAccumulativeClassifier, prequential_score
from sklearn_samlp._online import RunningScaler

SMALL = dict(hidden_layer_sizes=(16,), random_state=0)


@pytest.fixture(scope="module")
def raw_stream():
    """One unscaled stream: two regimes of 200 rows, features far from unit scale."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 0, 1], 100)
    means = np.array([[0.0, 0.0, 0.0], [1.0, -1.0, 0.5]])
    X = means[y] + 0.5 * rng.normal(size=(len(y), 3))
    X = X * np.array([1000.0, 0.01, 5.0]) + np.array([3e4, -2.0, 0.0])
    return X.astype(np.float64), y


def _online_snapshot(clf):
    online = clf._online
    scaler = online.scaler
    return {
        "scaler": (scaler.n, scaler.mean.copy(), scaler.m2.copy()),
        "buffer": (online.buffer_X.clone(), online.buffer_y.clone()),
        "drift": (online.fast_loss, online.slow_loss, online.boost, online.n_drifts),
        "weights": {k: v.clone() for k, v in clf.net_.module_.state_dict().items()},
        "n_iter": clf.n_iter_,
    }


def _assert_same(a, b):
    assert a["scaler"][0] == b["scaler"][0]
    assert_array_equal(a["scaler"][1], b["scaler"][1])
    assert_array_equal(a["scaler"][2], b["scaler"][2])
    for x, y in zip(a["buffer"], b["buffer"]):
        assert torch.equal(x, y)
    np.testing.assert_array_equal(a["drift"], b["drift"])  # NaN equals NaN here
    for key, value in a["weights"].items():
        assert torch.equal(value, b["weights"][key])
    assert a["n_iter"] == b["n_iter"]


# ------------------------------------------------------------ steps per call


@pytest.mark.parametrize("n_rows", [1, 7, 100, 1000])
@pytest.mark.parametrize("batch_size", [4, 128])
def test_steps_per_call_follow_the_rows_not_batch_size(raw_stream, n_rows, batch_size):
    X, y = raw_stream
    X = np.resize(X, (n_rows, X.shape[1]))
    y = np.resize(y, n_rows)
    clf = SignalAccumulativeClassifier(
        batch_size=batch_size, online_batch_size=8, online_drift=False, **SMALL
    )
    clf.partial_fit(X, y, classes=[0, 1])
    assert clf.history_[-1, "train_batch_count"] == -(-n_rows // 8)
    clf.partial_fit(X, y)  # one pass again, now topped up with replayed rows
    assert clf.history_[-1, "train_batch_count"] == -(-n_rows // 8)
    replayed = min(8, n_rows)  # the buffer holds the previous call's rows
    sizes = clf.history_[-1, "batches", :, "train_batch_size"]
    assert sum(sizes) == n_rows + replayed * len(sizes)


def test_one_row_chunks_learn(raw_stream):
    X, y = raw_stream
    clf = SignalAccumulativeClassifier(**SMALL)
    for i in range(len(X)):
        clf.partial_fit(X[i : i + 1], y[i : i + 1], classes=[0, 1])
    assert clf.n_iter_ == len(X)
    assert clf.score(X[-100:], y[-100:]) > 0.9


def test_new_class_is_learned_as_soon_as_it_appears():
    rng = np.random.default_rng(1)
    means = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    old = rng.integers(0, 2, 600)
    new = np.full(60, 2)
    y = np.concatenate([old, new])
    X = (means[y] + 0.3 * rng.normal(size=(len(y), 2))).astype(np.float32)
    clf = SignalAccumulativeClassifier(decay=0.0, **SMALL)
    for start in range(0, 600, 50):
        rows = slice(start, start + 50)
        clf.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
    assert not np.any(clf.predict(X[600:]) == 2)
    for start in range(600, 630, 10):  # 30 rows of the new class, 10 at a time
        rows = slice(start, start + 10)
        clf.partial_fit(X[rows], y[rows])
    assert np.mean(clf.predict(X[630:]) == 2) >= 0.9
    assert clf._online.n_drifts >= 1


# ------------------------------------------------------------------ scaling


def test_running_scaler_equals_batch_statistics():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=5.0, scale=[1.0, 100.0], size=(500, 2))
    scaler = RunningScaler(2)
    for rows in np.array_split(np.arange(500), [1, 2, 50, 333]):
        scaler = scaler.updated(torch.as_tensor(X[rows]))
    np.testing.assert_allclose(scaler.mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaler.m2 / scaler.n, X.var(axis=0), rtol=1e-10)


def test_partial_fit_is_invariant_to_the_scale_of_raw_rows(raw_stream):
    X, y = raw_stream
    Xu = (X - X.mean(axis=0)) / X.std(axis=0)
    a = SignalAccumulativeClassifier(**SMALL)
    b = SignalAccumulativeClassifier(**SMALL)
    for start in range(0, 300, 50):
        rows = slice(start, start + 50)
        a.partial_fit(X[rows], y[rows], classes=[0, 1])
        b.partial_fit(Xu[rows], y[rows], classes=[0, 1])
    np.testing.assert_allclose(
        a.predict_proba(X[300:]), b.predict_proba(Xu[300:]), atol=1e-3
    )
    assert a.score(X[300:], y[300:]) > 0.8


def test_fit_leaves_inputs_unscaled_and_partial_fit_continues_so(raw_stream):
    X, y = raw_stream
    clf = SignalAccumulativeClassifier(max_epochs=2, **SMALL).fit(X, y)
    assert clf._online is None
    clf.partial_fit(X[:50], y[:50])
    assert clf._online.scaler is None
    clf.fit(X, y)
    assert clf._online is None


def test_scaling_can_be_switched_off(raw_stream):
    X, y = raw_stream
    clf = SignalAccumulativeClassifier(online_scaling=False, **SMALL)
    clf.partial_fit(X[:50], y[:50], classes=[0, 1])
    assert clf._online.scaler is None


@pytest.mark.parametrize("how", ["save", "pickle"])
def test_online_state_is_saved_and_continues_exactly(raw_stream, tmp_path, how):
    X, y = raw_stream
    clf = SignalAccumulativeClassifier(**SMALL)
    for start in range(0, 200, 40):
        rows = slice(start, start + 40)
        clf.partial_fit(X[rows], y[rows], classes=[0, 1])
    if how == "save":
        clf.save(tmp_path / "m.pt")
        copy_ = SignalAccumulativeClassifier.load(tmp_path / "m.pt")
    else:
        copy_ = pickle.loads(pickle.dumps(clf))
    _assert_same(_online_snapshot(clf), _online_snapshot(copy_))
    for est in (clf, copy_):
        est.partial_fit(X[200:300], y[200:300])
    _assert_same(_online_snapshot(clf), _online_snapshot(copy_))
    assert_array_equal(clf.predict_proba(X[300:]), copy_.predict_proba(X[300:]))


def test_failing_partial_fit_leaves_the_online_state_untouched(raw_stream):
    X, y = raw_stream
    clf = SignalAccumulativeClassifier(**SMALL)
    clf.partial_fit(X[:100], y[:100], classes=[0, 1])
    before = _online_snapshot(clf)
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X[100:150], np.full(50, 7))
    bad = X[100:150].copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError):
        clf.partial_fit(bad, y[100:150])
    _assert_same(before, _online_snapshot(clf))


@pytest.mark.parametrize(
    "param, value",
    [
        ("online_batch_size", 0),
        ("online_lr", 0.0),
        ("online_replay", -1),
        ("online_scaling", "yes"),
        ("online_drift", 2),
    ],
)
def test_online_parameters_are_validated(raw_stream, param, value):
    X, y = raw_stream
    clf = SignalAccumulativeClassifier(**{param: value})
    with pytest.raises(InvalidParameterError, match=param):
        clf.partial_fit(X[:10], y[:10], classes=[0, 1])


# ------------------------------------------------------- prequential, 1 row


def test_prequential_chunk_size_one_equals_a_manual_loop(raw_stream):
    X, y = raw_stream
    X, y = X[:150], y[:150]
    clf = SignalAccumulativeClassifier(**SMALL)
    result = prequential_score(clf, X, y, chunk_size=1)
    clf = SignalAccumulativeClassifier(**SMALL)
    expected = []
    for i in range(len(X)):
        if i:
            expected.append(clf.predict(X[i : i + 1])[0])
        clf.partial_fit(X[i : i + 1], y[i : i + 1], classes=[0, 1])
    assert_array_equal(result.y_pred[1:], expected)
    assert not result.predicted[0] and result.predicted[1:].all()
    assert_array_equal(result.scores[1:], (np.array(expected) == y[1:]).astype(float))
    assert np.isnan(result.scores[0])


def test_sample_weight_may_come_and_go_between_calls(raw_stream):
    X, y = raw_stream
    clf = SignalAccumulativeClassifier(**SMALL)
    clf.partial_fit(X[:50], y[:50], classes=[0, 1])
    weights = np.linspace(0.5, 2.0, 50)
    clf.partial_fit(X[50:100], y[50:100], sample_weight=weights)
    assert clf._online.buffer_w is not None and len(clf._online.buffer_w) == 100
    clf.partial_fit(X[100:150], y[100:150])
    torch.testing.assert_close(
        clf._online.buffer_w[-50:], torch.ones(50), rtol=0, atol=0
    )
    # A zero weight removes a row from the loss, replayed or not.
    clf.partial_fit(X[150:200], y[150:200], sample_weight=np.r_[0.0, np.ones(49)])
    assert clf._online.buffer_w[-50] == 0


def test_online_parameters_may_change_between_calls(raw_stream):
    X, y = raw_stream
    clf = SignalAccumulativeClassifier(online_batch_size=8, **SMALL)
    clf.partial_fit(X[:40], y[:40], classes=[0, 1])
    assert len(clf._online.buffer_X) == 40
    clf.set_params(online_replay=0, online_batch_size=20, online_drift=False)
    clf.partial_fit(X[40:80], y[40:80])
    assert clf._online.buffer_X is None
    assert clf.history_[-1, "batches", :, "train_batch_size"] == [20, 20]
