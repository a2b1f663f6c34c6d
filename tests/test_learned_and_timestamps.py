"""Learned decays (learn_decay=True) and irregular time (timestamps=)."""

import pickle

import numpy as np
import pytest
import torch

from sklearn_samlp import SignalAccumulativeClassifier
from sklearn_samlp._accumulate import _local_scan, scan_codes
from sklearn_samlp._learned import AccumulatorMLP, WindowBatches
from sklearn_samlp.datasets import make_regime_streams

FAST = dict(max_epochs=3, hidden_layer_sizes=(16,), batch_size=64, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y, ids = make_regime_streams(
        n_streams=4, n_steps=150, n_features=3, random_state=0
    )
    times = np.cumsum(np.random.default_rng(0).exponential(1.0, len(X)))
    return X.astype(np.float32), y, ids, times


# ------------------------------------------------------------ learned decays


def test_differentiable_window_scan_is_exact_against_fixed_scan():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 50, 3))
    decays = np.array([0.2, 0.9, 0.99])
    h0 = rng.normal(size=(4, 3))
    steps = rng.uniform(0.5, 2.0, size=(4, 50))
    for window_steps in (None, steps):
        local, carry = _local_scan(
            torch.as_tensor(X),
            torch.as_tensor(decays),
            None if window_steps is None else torch.as_tensor(window_steps),
        )
        states = (local + carry * torch.as_tensor(h0)[:, None, :]).numpy()
        for w in range(4):
            expected, _ = scan_codes(
                X[w],
                decays[None, :],
                initial_states=h0[w],
                steps=None if window_steps is None else window_steps[w],
            )
            np.testing.assert_allclose(states[w], expected, rtol=1e-10, atol=1e-12)


def test_window_training_features_equal_the_fixed_decay_features(data):
    """With frozen decays, the windows see exactly the features predict uses."""
    X, y, ids, times = data
    for timestamps in (None, times):
        t_fit = None if timestamps is None else timestamps[:300]
        t_new = None if timestamps is None else timestamps[300:]
        clf = SignalAccumulativeClassifier(
            learn_decay=True, window=16, decay=(0.5, 0.9), **FAST
        )
        clf.fit(X[:300], y[:300], stream_ids=ids[:300], timestamps=t_fit)
        hidden = FAST["hidden_layer_sizes"]
        module = AccumulatorMLP(3, clf.decays_, 3, hidden, clf.dropout)
        module.eval()
        module.mlp.load_state_dict(clf.net_.module_.state_dict())
        with torch.no_grad():
            module.decay_logit.copy_(torch.logit(torch.as_tensor(clf.decays_)))
        n_new = len(X) - 300
        rows = clf._streams.rows(ids[300:], t_new, n_new)
        windows = WindowBatches(
            X[300:], np.zeros(n_new, int), np.ones(n_new), rows, 16, "cpu"
        )
        windows.refresh(module.decays().double().detach().numpy())
        inputs = {
            "windows": windows.X,
            "initial_states": windows.initial_states,
            "elapsed": windows.elapsed,
        }
        if windows.steps is not None:
            inputs["steps"] = windows.steps
        with torch.no_grad():
            logits = module(**inputs)[windows.sample_weight.reshape(-1) > 0]
        order = np.argsort(rows.codes, kind="stable")  # windows hold rows by stream
        proba = torch.softmax(logits.double(), dim=1).numpy()
        expected = clf.predict_proba(X[300:], stream_ids=ids[300:], timestamps=t_new)
        np.testing.assert_allclose(proba, expected[order], rtol=1e-4, atol=1e-5)


def test_decays_are_learned_and_the_gradient_reaches_them(data):
    X, y, ids, _ = data
    clf = SignalAccumulativeClassifier(learn_decay=True, decay=0.5, **FAST).fit(
        X, y, stream_ids=ids
    )
    assert clf.decays_.shape == (2, 3)  # the start decay, then the learned ones
    np.testing.assert_array_equal(clf.decays_[0], [0.5] * 3)
    assert np.all((clf.decays_ > 0) & (clf.decays_ < 1))
    assert not np.allclose(clf.decays_[1], 0.5, atol=1e-3)
    fixed = SignalAccumulativeClassifier(decay=(0.5, 0.9), **FAST).fit(X, y)
    np.testing.assert_array_equal(fixed.decays_, [[0.5] * 3, [0.9] * 3])


def test_learned_decays_stay_inside_the_unit_interval_from_a_bank(data):
    """A decay pushed towards 1 used to round to 1.0 in float32 and crash."""
    X, y, ids, _ = data
    clf = SignalAccumulativeClassifier(
        learn_decay=True, decay=(0.5, 0.9, 0.99999), **{**FAST, "lr": 0.5}
    ).fit(X, y, stream_ids=ids)
    assert clf.decays_.shape == (6, 3)
    learned = clf.decays_[3:].astype(np.float32)
    assert np.all((learned > 0) & (learned < 1))
    assert np.any(learned > 0.9999)  # pushed to the bound, not past it
    clf.partial_fit(X[:50], y[:50], stream_ids=ids[:50])  # the state update too


def test_learned_decays_on_a_task_with_memory_beat_a_bad_start():
    X, y, ids = make_regime_streams(random_state=1)
    train, test = ids < 7, ids >= 7
    scores = {}
    for learn in (False, True):
        clf = SignalAccumulativeClassifier(decay=0.3, learn_decay=learn, random_state=0)
        clf.fit(X[train], y[train], stream_ids=ids[train])
        scores[learn] = clf.score(X[test], y[test], stream_ids=ids[test])
    assert scores[True] > scores[False] + 0.05, scores


def test_learned_model_state_persistence_and_chunking(data, tmp_path):
    X, y, ids, _ = data
    whole = SignalAccumulativeClassifier(learn_decay=True, decay=0.8, window=8, **FAST)
    whole.fit(X, y, stream_ids=ids)
    # fit's state is at the last row, with the decays learned
    for sid in np.unique(ids):
        _, final = scan_codes(
            X[ids == sid],
            whole.decays_,
            initial_states=np.zeros(whole.decays_.size, np.float32),
        )
        np.testing.assert_allclose(
            whole.accumulators_[sid], final, rtol=1e-5, atol=1e-6
        )
    whole.save(tmp_path / "m.pt")
    loaded = SignalAccumulativeClassifier.load(tmp_path / "m.pt")
    copied = pickle.loads(pickle.dumps(whole))
    np.testing.assert_array_equal(loaded.decays_, whole.decays_)
    learned = whole.decays_
    for est in (whole, loaded, copied):
        est.partial_fit(X[:100], y[:100], stream_ids=ids[:100])
    np.testing.assert_array_equal(whole.decays_, learned)  # partial_fit keeps them
    expected = whole.predict_proba(X, stream_ids=ids)
    np.testing.assert_array_equal(loaded.predict_proba(X, stream_ids=ids), expected)
    np.testing.assert_array_equal(copied.predict_proba(X, stream_ids=ids), expected)


# ---------------------------------------------------------------- timestamps


def test_unit_timestamps_equal_no_timestamps(data):
    X, y, ids, _ = data
    position, following = np.zeros(len(X)), np.zeros(len(X))
    for sid in np.unique(ids):
        n = (ids == sid).sum()
        position[ids == sid] = 10.0 + np.arange(n)
        following[ids == sid] = 10.0 + n + np.arange(n)  # the same stream, continued
    params = {**FAST, "after_fit": "continue"}  # the predictions continue the streams
    plain = SignalAccumulativeClassifier(**params).fit(X, y, stream_ids=ids)
    timed = SignalAccumulativeClassifier(time_unit=2.0, **params).fit(
        X, y, stream_ids=ids, timestamps=2 * position
    )
    for name, value in plain.accumulators_.items():
        np.testing.assert_allclose(
            timed.accumulators_[name], value, rtol=1e-5, atol=1e-6
        )
    np.testing.assert_allclose(
        timed.predict_proba(X, stream_ids=ids, timestamps=2 * following),
        plain.predict_proba(X, stream_ids=ids),
        rtol=1e-5,
        atol=1e-6,
    )


def test_timestamps_features_match_a_naive_loop(data):
    X, y, ids, times = data
    clf = SignalAccumulativeClassifier(decay=0.8, **FAST).fit(X[:100], y[:100])
    clf.reset_accumulators()
    rows = ids == 0
    features = clf._streams.features(X[rows], None, times[rows])[0].numpy()
    a, total, previous = np.zeros(3), 0.0, times[rows][0] - 1.0
    for t, (x, time) in enumerate(zip(X[rows].astype(float), times[rows])):
        g = 0.8 ** (time - previous)
        a, total, previous = g * a + (1 - g) * x, g * total + (1 - g), time
        np.testing.assert_allclose(features[t, 3:], a / total, rtol=2e-5, atol=1e-6)


def test_timestamps_must_increase_and_failure_changes_nothing(data):
    X, y, ids, times = data
    clf = SignalAccumulativeClassifier(**FAST).fit(
        X[:100], y[:100], timestamps=times[:100]
    )
    before = clf.accumulators_[None].copy(), clf._streams.last_time.copy()
    with pytest.raises(ValueError, match="timestamps must increase"):
        clf.update_accumulators(
            X[:5], timestamps=times[:5]
        )  # earlier than the last row
    with pytest.raises(ValueError, match="timestamps"):
        clf.partial_fit(X[100:105], y[100:105], timestamps=times[100:104])
    with pytest.raises(ValueError, match="timestamps must increase"):
        clf.predict(X[100:103], timestamps=[times[100], times[100], times[101]])
    np.testing.assert_array_equal(clf.accumulators_[None], before[0])
    np.testing.assert_array_equal(clf._streams.last_time, before[1])
    clf.update_accumulators(X[100:105], timestamps=times[100:105])
    assert clf._streams.last_time[0] == times[104]
