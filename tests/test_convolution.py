"""The convolution accumulator: causal convolutions, accumulators, estimator."""

import io

import joblib
import numpy as np
import pytest
import torch

from sklearn_samlp import SignalAccumulativeClassifier
from sklearn_samlp._convolution import _KERNELS, CausalConvolutions
from sklearn_samlp._convolution_streams import ConvolutionStreams
from sklearn_samlp._streams import StreamStates
from sklearn_samlp.datasets import make_regime_streams

CHEAP = dict(
    accumulator="convolution",
    max_dilation=4,
    n_thresholds=2,
    max_epochs=3,
    hidden_layer_sizes=(16,),
    random_state=0,
)


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 3)).astype(np.float32)
    ids = rng.integers(0, 4, size=240)
    return X, ids


@pytest.fixture(scope="module")
def convolutions(rows):
    X, ids = rows
    return CausalConvolutions.fit(X, ids, 4, 3, np.random.default_rng(1))


def naive_indicators(x, convolutions):
    """Responses by a loop over rows (float64), the first row repeated before."""
    history = convolutions.history
    padded = np.concatenate([np.repeat(x[:1], history, 0), x]).astype(np.float64)
    responses = []
    for i, dilation in enumerate(convolutions.dilations):
        for k in range(len(_KERNELS)):
            mask = convolutions.channel_masks[i, k]
            taps = [
                padded[history + np.arange(len(x)) - (8 - j) * dilation] @ mask
                for j in range(9)
            ]
            responses.append(_KERNELS[k].astype(np.float64) @ np.stack(taps))
    responses = np.stack(responses, axis=1)
    above = responses[:, :, None] > convolutions.thresholds[None]
    return above.reshape(len(x), -1).astype(np.float64)


def streams(convolutions, convolution_decays=(0.9, 1.0)):
    return ConvolutionStreams((0.5, 0.9), 3, 1.0, convolutions, convolution_decays)


def test_accumulated_indicators_match_a_loop_over_rows(rows, convolutions):
    X, ids = rows
    x = X[ids == 2]
    features, _ = streams(convolutions).features(x)
    indicators = naive_indicators(x, convolutions)
    n_outputs = convolutions.n_outputs
    first = 3 + 6  # the row and its two raw accumulators
    ema, state = [], np.zeros(n_outputs)
    for t, row in enumerate(indicators):
        state = 0.9 * state + 0.1 * row
        ema.append(state / (1 - 0.9 ** (t + 1)))
    running_mean = np.cumsum(indicators, axis=0) / np.arange(1, len(x) + 1)[:, None]
    got = features.numpy()
    np.testing.assert_allclose(got[:, first : first + n_outputs], ema, atol=1e-5)
    np.testing.assert_allclose(got[:, first + n_outputs :], running_mean, atol=1e-6)


def test_interleaved_streams_equal_streams_one_by_one(rows, convolutions):
    X, ids = rows
    together, _ = streams(convolutions).features(X, ids)
    for sid in np.unique(ids):
        alone, _ = streams(convolutions).features(X[ids == sid])
        torch.testing.assert_close(together[torch.as_tensor(ids == sid)], alone)


@pytest.mark.parametrize("cuts", [(1,), (7, 8, 100), tuple(range(1, 240, 13))])
def test_any_split_into_calls_gives_the_same_features(rows, convolutions, cuts):
    X, ids = rows
    whole, _ = streams(convolutions).features(X, ids)
    state = streams(convolutions)
    parts = []
    for chunk in np.split(np.arange(len(X)), cuts):
        features, update = state.features(X[chunk], ids[chunk])
        state.commit(update)
        parts.append(features)
    torch.testing.assert_close(torch.cat(parts), whole, atol=1e-6, rtol=1e-5)


def test_shape_features_ignore_the_level_of_a_stream(rows, convolutions):
    X, ids = rows
    features, _ = streams(convolutions).features(X[ids == 1])
    shifted, _ = streams(convolutions).features(X[ids == 1] + 5.0)
    shape = slice(3 + 6, None)
    torch.testing.assert_close(features[:, shape], shifted[:, shape])


def test_a_constant_stream_responds_zero(convolutions):
    responses, _ = convolutions.responses(
        torch.full((20, 3), 0.1), np.zeros(20, dtype=int), np.zeros((1, 32, 3)), [True]
    )
    assert torch.all(responses == 0)


def test_arrays_round_trip_and_inconsistent_arrays_are_refused(convolutions):
    arrays = convolutions.to_arrays()
    again = CausalConvolutions.from_arrays(3, arrays)
    np.testing.assert_array_equal(again.thresholds, convolutions.thresholds)
    assert again.dilations == convolutions.dilations
    with pytest.raises(ValueError, match="shape"):
        CausalConvolutions.from_arrays(4, arrays)
    with pytest.raises(ValueError, match="invalid"):
        CausalConvolutions.from_arrays(
            3, {**arrays, "thresholds": np.full_like(arrays["thresholds"], np.nan)}
        )


# ---------------------------------------------------------------- estimator


@pytest.fixture(scope="module")
def regime():
    return make_regime_streams(n_streams=4, n_steps=150, random_state=0)


@pytest.fixture(scope="module")
def fitted(regime):
    X, y, ids = regime
    # Its streams stay at their last training row; the tests predict them on purpose.
    clf = SignalAccumulativeClassifier(after_fit="continue", **CHEAP)
    return clf.fit(X, y, stream_ids=ids)


def test_network_sees_row_raw_and_shape_accumulators(fitted, regime):
    X = regime[0]
    n_outputs = 84 * 3 * 2  # dilations 1, 2, 4; two thresholds
    assert fitted.net_.module_[0].in_features == X.shape[1] * 2 + n_outputs
    assert fitted.accumulators_[0].shape == (
        X.shape[1] + n_outputs + 32 * X.shape[1] + 1,
    )


def test_predictions_continue_across_calls(fitted, regime):
    X, _, ids = regime
    clf = joblib.load(_dumped(fitted))
    whole = fitted.predict_proba(X, stream_ids=ids)
    clf.reset_accumulators()
    parts = []
    for chunk in np.array_split(np.arange(len(X)), 7):
        parts.append(clf.predict_proba(X[chunk], stream_ids=ids[chunk]))
        clf.update_accumulators(X[chunk], stream_ids=ids[chunk])
    # fitted's streams are at their last row: compare with a fresh start.
    fresh = joblib.load(_dumped(fitted)).reset_accumulators()
    np.testing.assert_allclose(
        np.concatenate(parts), fresh.predict_proba(X, stream_ids=ids), atol=1e-5
    )
    assert not np.allclose(whole, fresh.predict_proba(X, stream_ids=ids))


def test_reset_streams_start_fresh(fitted, regime):
    X, _, ids = regime
    clf = joblib.load(_dumped(fitted))
    clf.reset_accumulators([1])
    rows = ids == 1
    fresh = joblib.load(_dumped(fitted)).reset_accumulators()
    np.testing.assert_allclose(
        clf.predict_proba(X[rows], stream_ids=ids[rows]),
        fresh.predict_proba(X[rows], stream_ids=ids[rows]),
        atol=1e-6,
    )


def _dumped(estimator):
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    buffer.seek(0)
    return buffer


def test_save_load_and_pickle_resume_exactly(fitted, regime, tmp_path):
    X, y, ids = regime
    fitted.save(tmp_path / "m.pt")
    loaded = SignalAccumulativeClassifier.load(tmp_path / "m.pt")
    unpickled = joblib.load(_dumped(fitted))
    original = joblib.load(_dumped(fitted))
    for clf in (original, loaded, unpickled):
        clf.partial_fit(X[:100], y[:100], stream_ids=ids[:100])
    expected = original.predict_proba(X[100:], stream_ids=ids[100:])
    for clf in (loaded, unpickled):
        np.testing.assert_array_equal(
            clf.predict_proba(X[100:], stream_ids=ids[100:]), expected
        )


def test_thresholds_are_reproducible_and_seeded(regime):
    X, y, ids = regime
    fits = [
        SignalAccumulativeClassifier(**{**CHEAP, "random_state": seed}).fit(
            X, y, stream_ids=ids
        )
        for seed in (0, 0, 1)
    ]
    masks = [clf._streams.convolutions.channel_masks for clf in fits]
    np.testing.assert_array_equal(masks[0], masks[1])
    assert not np.array_equal(masks[0], masks[2])


def test_partial_fit_places_thresholds_on_its_first_call(regime):
    X, y, ids = regime
    clf = SignalAccumulativeClassifier(**CHEAP)
    clf.partial_fit(X[:200], y[:200], classes=np.unique(y), stream_ids=ids[:200])
    thresholds = clf._streams.convolutions.thresholds.copy()
    clf.partial_fit(X[200:], y[200:], stream_ids=ids[200:])
    np.testing.assert_array_equal(clf._streams.convolutions.thresholds, thresholds)
    assert clf.n_iter_ == 2


def test_failed_call_changes_nothing(fitted, regime):
    X, y, ids = regime
    clf = joblib.load(_dumped(fitted))
    before = clf.accumulators_
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:10, :3], y[:10], stream_ids=ids[:10])
    after = clf.accumulators_
    assert before.keys() == after.keys()
    for sid in before:
        np.testing.assert_array_equal(before[sid], after[sid])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(learn_decay=True), "learn_decay"),
        (dict(convolution_decay=1.5), "convolution_decay"),
        (dict(convolution_decay=(0.9, -0.1)), "convolution_decay"),
        (dict(max_dilation=0), "max_dilation"),
        (dict(accumulator="learnt"), "accumulator"),
    ],
)
def test_bad_parameters_are_refused(regime, params, match):
    X, y, ids = regime
    clf = SignalAccumulativeClassifier(**{**CHEAP, **params})
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y, stream_ids=ids)
    assert not hasattr(clf, "classes_")


def test_one_row_of_many_streams_equals_the_streams_one_by_one(convolutions):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 3)).astype(np.float32)
    together, _ = streams(convolutions).features(X, np.arange(50))
    for k in (0, 17, 49):
        alone, _ = streams(convolutions).features(X[k : k + 1])
        torch.testing.assert_close(together[k : k + 1], alone)


def test_pickles_hold_no_device_caches(fitted, regime):
    X, _, ids = regime
    fitted.predict(X[:5], stream_ids=ids[:5])  # fills the cache
    assert fitted._streams.convolutions._weights
    copy = joblib.load(_dumped(fitted))
    assert copy._streams.convolutions._weights == {}


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(convolution_decay=0.5), "convolution decays in the file"),
        (dict(accumulator="input"), "accumulator='input' contradicts"),
    ],
)
def test_load_refuses_parameters_that_contradict_the_saved_state(
    fitted, tmp_path, change, match
):
    clf = joblib.load(_dumped(fitted)).set_params(**change)
    clf.save(tmp_path / "m.pt")
    with pytest.raises(ValueError, match=match):
        SignalAccumulativeClassifier.load(tmp_path / "m.pt")


@pytest.mark.parametrize("timed", [False, True])
def test_last_row_features_equal_the_features_of_the_last_rows(
    rows, convolutions, timed
):
    X, ids = rows
    times = np.cumsum(np.random.default_rng(4).uniform(0.5, 2.0, len(X)))
    t = times if timed else None
    for state in (streams(convolutions), StreamStates((0.5, 0.9), 3)):
        first = state.features(X[:100], ids[:100], None if t is None else t[:100])
        state.commit(first[1])
        rest = slice(100, None)
        features, _ = state.features(X[rest], ids[rest], None if t is None else t[rest])
        got_ids, last = state.last_row_features(
            X[rest], ids[rest], None if t is None else t[rest]
        )
        assert got_ids == np.unique(ids[rest]).tolist()
        last_rows = [np.flatnonzero(ids[rest] == sid)[-1] for sid in got_ids]
        torch.testing.assert_close(last, features[last_rows], atol=1e-6, rtol=1e-5)
