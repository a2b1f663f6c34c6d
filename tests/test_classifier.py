"""SignalAccumulativeClassifier: streams, compatibility, persistence, bad input."""

import copy
import pickle
import subprocess
import sys

import joblib
import numpy as np
import pytest
import sklearn
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_samlp import SignalAccumulativeClassifier, StreamIdWarning
from sklearn_samlp._accumulate import scan_codes

FAST = dict(max_epochs=3, hidden_layer_sizes=(16,), batch_size=64, random_state=0)


@pytest.fixture(scope="module")
def streams(regime_streams):
    return regime_streams


def snapshot(clf):
    """Everything a failed call must leave untouched."""
    return copy.deepcopy(
        {
            "weights": {k: v.clone() for k, v in clf.net_.module_.state_dict().items()},
            "optimizer": clf.net_.optimizer_.state_dict(),
            "accumulators": clf.accumulators_,
            "elapsed": clf._streams.elapsed.copy(),
            "last_time": clf._streams.last_time.copy(),
            "rng": clf._rng_state.copy(),
            "fitted": {
                k: v
                for k, v in vars(clf).items()
                if k.endswith("_") and k not in ("net_", "_streams")
            },
        }
    )


def assert_same_snapshot(a, b):
    for key in a["weights"]:
        torch.testing.assert_close(a["weights"][key], b["weights"][key], rtol=0, atol=0)
    assert a["accumulators"].keys() == b["accumulators"].keys()
    for sid in a["accumulators"]:
        np.testing.assert_array_equal(a["accumulators"][sid], b["accumulators"][sid])
    np.testing.assert_array_equal(a["elapsed"], b["elapsed"])
    np.testing.assert_array_equal(a["last_time"], b["last_time"])
    np.testing.assert_array_equal(a["rng"], b["rng"])
    assert a["fitted"].keys() == b["fitted"].keys()
    for key, value in a["fitted"].items():
        np.testing.assert_array_equal(value, b["fitted"][key])
    assert repr(a["optimizer"]) == repr(b["optimizer"])


# ------------------------------------------------------------------ learning


def test_accumulator_beats_memoryless_model(streams):
    X, y, ids = streams
    train, test = slice(0, 900), slice(900, None)
    scores = {}
    for decay in (0.0, 0.9):
        # The test rows continue the training streams: their memory is the point.
        clf = SignalAccumulativeClassifier(
            decay=decay, max_epochs=10, random_state=0, after_fit="continue"
        )
        clf.fit(X[train], y[train], stream_ids=ids[train])
        scores[decay] = clf.score(X[test], y[test], stream_ids=ids[test])
    assert scores[0.9] > scores[0.0] + 0.1, scores
    assert scores[0.9] > 0.85, scores


def test_decay_zero_features_are_the_rows(streams):
    X, y, ids = streams
    clf = SignalAccumulativeClassifier(decay=0.0, **FAST).fit(X, y, stream_ids=ids)
    features = clf._streams.features(X, ids)[0].numpy()
    np.testing.assert_array_equal(features, np.hstack([X, X]))


def test_features_are_bias_corrected_averages():
    X = np.arange(6, dtype=np.float32).reshape(-1, 1)
    clf = SignalAccumulativeClassifier(decay=0.5, **FAST).fit(X, np.arange(6) % 2)
    clf.reset_accumulators()
    features = clf._streams.features(X)[0].numpy()
    weights = 0.5 ** np.arange(6)[::-1]
    expected = [
        np.dot(X[: t + 1, 0], weights[-t - 1 :]) / weights[-t - 1 :].sum()
        for t in range(6)
    ]
    np.testing.assert_allclose(features[:, 1], expected, rtol=1e-6)
    assert features[0, 1] == X[0, 0]  # a_0 = x_0


# ------------------------------------------------------------- stream state


def test_fit_leaves_each_stream_at_its_last_row(streams):
    X, y, ids = streams
    clf = SignalAccumulativeClassifier(decay=(0.5, 0.9), **FAST).fit(
        X, y, stream_ids=ids
    )
    for sid in np.unique(ids):
        rows = X[ids == sid]
        _, expected = scan_codes(
            rows, (0.5, 0.9), initial_states=np.zeros(8, np.float32)
        )
        np.testing.assert_allclose(clf.accumulators_[sid], expected, rtol=1e-5)


def test_fit_resets_state(streams):
    X, y, ids = streams
    clf = SignalAccumulativeClassifier(**FAST).fit(X, y, stream_ids=ids)
    clf.update_accumulators(X[:5], stream_ids=["other"] * 5)
    clf.fit(X[:30], y[:30])
    assert list(clf.accumulators_) == [None]


@pytest.mark.parametrize("chunk_sizes", [[1, 99, 500, 600], [300, 300, 300, 300]])
def test_partial_fit_chunks_carry_the_state_of_one_call(streams, chunk_sizes):
    X, y, ids = streams
    whole = SignalAccumulativeClassifier(**FAST)
    whole.partial_fit(X, y, classes=[0, 1], stream_ids=ids)
    chunked = SignalAccumulativeClassifier(**FAST)
    for rows in np.split(np.arange(len(X)), np.cumsum(chunk_sizes)[:-1]):
        chunked.partial_fit(X[rows], y[rows], classes=[0, 1], stream_ids=ids[rows])
    assert whole.accumulators_.keys() == chunked.accumulators_.keys()
    for sid, state in whole.accumulators_.items():
        np.testing.assert_allclose(
            chunked.accumulators_[sid], state, rtol=1e-5, atol=1e-6
        )
    assert chunked.n_iter_ == len(chunk_sizes)


def test_prediction_is_pure(streams):
    X, y, ids = streams
    # Predicting the training streams continues them, on purpose: it must not move them.
    clf = SignalAccumulativeClassifier(after_fit="continue", **FAST)
    clf.fit(X, y, stream_ids=ids)
    before = snapshot(clf)
    clf.predict(X[:50], stream_ids=ids[:50])
    clf.predict_proba(X[:50], stream_ids=["new"] * 50)
    with pytest.warns(StreamIdWarning, match="without stream_ids"):
        clf.score(X[:50], y[:50])  # the default stream of a multi-stream model
    assert_same_snapshot(before, snapshot(clf))


@pytest.mark.parametrize("chunk", [1, 7, 128, 1000])
def test_chunked_prediction_equals_whole(streams, chunk):
    X, y, ids = streams
    # The rest of the rows continue the training streams.
    clf = SignalAccumulativeClassifier(after_fit="continue", **FAST).fit(
        X[:600], y[:600], stream_ids=ids[:600]
    )
    rest, rest_ids = X[600:], ids[600:]
    whole = clf.predict_proba(rest, stream_ids=rest_ids)
    parts = []
    for start in range(0, len(rest), chunk):
        part = slice(start, start + chunk)
        parts.append(clf.predict_proba(rest[part], stream_ids=rest_ids[part]))
        clf.update_accumulators(rest[part], stream_ids=rest_ids[part])
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=1e-4, atol=1e-6)


def test_test_then_train_loop_predicts_before_learning(streams):
    X, y, ids = streams
    clf = SignalAccumulativeClassifier(**FAST).partial_fit(
        X[:300], y[:300], classes=[0, 1], stream_ids=ids[:300]
    )
    expected = clf.predict(X[300:600], stream_ids=ids[300:600])
    state = clf.accumulators_
    clf.partial_fit(X[300:600], y[300:600], stream_ids=ids[300:600])
    assert not all(np.array_equal(state[s], clf.accumulators_[s]) for s in state)
    assert expected.shape == (300,)


def test_reset_accumulators(streams):
    X, y, ids = streams
    clf = SignalAccumulativeClassifier(**FAST).fit(X, y, stream_ids=ids)
    fresh = clf.predict_proba(X[:3], stream_ids=["new"] * 3)
    clf.reset_accumulators(["s0", "unknown"])
    assert set(clf.accumulators_) == {"s1", "s2"}
    np.testing.assert_array_equal(
        clf.predict_proba(X[:3], stream_ids=["s0"] * 3), fresh
    )
    clf.reset_accumulators()
    assert clf.accumulators_ == {}


def test_stream_ids_of_any_hashable_type(streams):
    X, y, _ = streams
    mixed = np.array([1, "1", 2.5, None] * (len(X) // 4), dtype=object)
    clf = SignalAccumulativeClassifier(**FAST).fit(X, y, stream_ids=mixed)
    assert set(clf.accumulators_) == {1, "1", 2.5, None}


@pytest.mark.parametrize("labels", [["cat", "dog"], [True, False], [-3, 7]])
def test_labels(streams, labels):
    X, y, ids = streams
    labelled = np.asarray(labels)[y]
    clf = SignalAccumulativeClassifier(**FAST).fit(X, labelled, stream_ids=ids)
    np.testing.assert_array_equal(clf.classes_, np.unique(labelled))
    clf.reset_accumulators()  # predict the training series again, from their start
    assert set(clf.predict(X, stream_ids=ids)) <= set(labelled)


# --------------------------------------------------------------- randomness


def test_random_state_makes_fit_and_partial_fit_bit_reproducible(streams):
    X, y, ids = streams
    for method in ("fit", "partial_fit"):
        a, b = (SignalAccumulativeClassifier(**FAST) for _ in range(2))
        kwargs = {"classes": [0, 1]} if method == "partial_fit" else {}
        for clf in (a, b):
            getattr(clf, method)(X, y, stream_ids=ids, **kwargs)
            getattr(clf, "partial_fit")(X, y, stream_ids=ids)
        for pa, pb in zip(a.net_.module_.parameters(), b.net_.module_.parameters()):
            assert torch.equal(pa, pb)


def test_global_generators_are_neither_seeded_nor_consumed(streams):
    X, y, ids = streams
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    SignalAccumulativeClassifier(max_epochs=2, random_state=None).fit(
        X, y, stream_ids=ids
    )
    SignalAccumulativeClassifier(**FAST).fit(X, y, stream_ids=ids).partial_fit(
        X, y, stream_ids=ids
    )
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), np_state))


def test_pickled_copy_continues_exactly(streams):
    X, y, ids = streams
    clf = SignalAccumulativeClassifier(**FAST).fit(
        X[:600], y[:600], stream_ids=ids[:600]
    )
    copy_ = pickle.loads(pickle.dumps(clf))
    for est in (clf, copy_):
        est.partial_fit(X[600:], y[600:], stream_ids=ids[600:])
    np.testing.assert_array_equal(
        clf.predict_proba(X, stream_ids=ids), copy_.predict_proba(X, stream_ids=ids)
    )


def test_joblib_in_a_fresh_process_predicts_and_resumes_identically(streams, tmp_path):
    X, y, ids = streams
    # The copy continues the training streams, exactly as the original does.
    clf = SignalAccumulativeClassifier(after_fit="continue", **FAST).fit(
        X[:600], y[:600], stream_ids=ids[:600]
    )
    joblib.dump(clf, tmp_path / "clf.joblib")
    np.savez(tmp_path / "data.npz", X=X, y=y, ids=ids)
    script = f"""
import joblib, numpy as np
d = np.load({str(tmp_path / "data.npz")!r})
clf = joblib.load({str(tmp_path / "clf.joblib")!r})
p1 = clf.predict_proba(d["X"][600:], stream_ids=d["ids"][600:])
clf.partial_fit(d["X"][600:], d["y"][600:], stream_ids=d["ids"][600:])
p2 = clf.predict_proba(d["X"], stream_ids=d["ids"])
np.savez({str(tmp_path / "out.npz")!r}, p1=p1, p2=p2)
"""
    subprocess.run([sys.executable, "-c", script], check=True)
    out = np.load(tmp_path / "out.npz")
    np.testing.assert_array_equal(
        out["p1"], clf.predict_proba(X[600:], stream_ids=ids[600:])
    )
    clf.partial_fit(X[600:], y[600:], stream_ids=ids[600:])
    np.testing.assert_array_equal(out["p2"], clf.predict_proba(X, stream_ids=ids))


# ------------------------------------------------------------ compatibility


def test_pipeline_gridsearch_timeseriessplit_parallel(streams):
    X, y, _ = streams
    pipe = make_pipeline(StandardScaler(), SignalAccumulativeClassifier(**FAST))
    grid = {
        "signalaccumulativeclassifier__decay": [0.0, 0.9],
        "signalaccumulativeclassifier__dropout": [0.0, 0.2],
    }
    search = GridSearchCV(pipe, grid, cv=TimeSeriesSplit(3), n_jobs=2).fit(X, y)
    assert search.best_params_["signalaccumulativeclassifier__decay"] in (0.0, 0.9)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    clone(search.best_estimator_)


def test_metadata_routing_passes_stream_ids(streams, monkeypatch):
    X, y, ids = streams
    seen = []
    original = SignalAccumulativeClassifier.score

    def recording_score(self, X, y, stream_ids=None, sample_weight=None):
        seen.append(stream_ids)
        return original(self, X, y, stream_ids=stream_ids, sample_weight=sample_weight)

    monkeypatch.setattr(SignalAccumulativeClassifier, "score", recording_score)
    with sklearn.config_context(enable_metadata_routing=True):
        clf = SignalAccumulativeClassifier(**FAST).set_fit_request(stream_ids=True)
        clf.set_score_request(stream_ids=True)
        search = GridSearchCV(clf, {"decay": [0.0, 0.9]}, cv=GroupKFold(3))
        search.fit(X, y, stream_ids=ids, groups=ids)
    assert len(seen) == 6 and all(s is not None and len(set(s)) == 1 for s in seen)
    assert set(search.best_estimator_.accumulators_) == set(ids)


def test_pandas_feature_names(streams):
    pd = pytest.importorskip("pandas")
    X, y, ids = streams
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = SignalAccumulativeClassifier(**FAST).fit(frame, y, stream_ids=pd.Series(ids))
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(frame[["d", "c", "b", "a"]])


def test_sample_weight_is_honoured(streams):
    X, y, ids = streams
    weight = (y == 1).astype(float)  # class 0 carries no weight at all
    # Each prediction runs the training series again, from their start.
    clf = SignalAccumulativeClassifier(**{**FAST, "max_epochs": 5}).fit(
        X, y, stream_ids=ids, sample_weight=weight
    )
    clf.reset_accumulators()
    assert (clf.predict(X, stream_ids=ids) == 1).mean() > 0.95
    a = SignalAccumulativeClassifier(**FAST).fit(
        X, y, stream_ids=ids, sample_weight=np.full(len(y), 3.0)
    )
    b = SignalAccumulativeClassifier(**FAST).fit(X, y, stream_ids=ids)
    a.reset_accumulators()
    b.reset_accumulators()
    np.testing.assert_allclose(
        a.predict_proba(X, stream_ids=ids),
        b.predict_proba(X, stream_ids=ids),
        rtol=1e-5,
        atol=1e-6,
    )


# -------------------------------------------------------------- save / load


def test_save_load_round_trip_and_resume(streams, tmp_path):
    X, y, ids = streams
    # The loaded copy continues the training streams, exactly as the original does.
    clf = SignalAccumulativeClassifier(
        decay=(0.5, 0.9), after_fit="continue", **FAST
    ).fit(X[:600], y[:600], stream_ids=ids[:600])
    path = tmp_path / "sub" / "model.pt"
    clf.save(path)
    loaded = SignalAccumulativeClassifier.load(path)
    assert loaded.get_params() == clf.get_params()
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    for sid, state in clf.accumulators_.items():
        np.testing.assert_array_equal(loaded.accumulators_[sid], state)
    np.testing.assert_array_equal(
        loaded.predict_proba(X[600:], stream_ids=ids[600:]),
        clf.predict_proba(X[600:], stream_ids=ids[600:]),
    )
    for est in (clf, loaded):
        est.partial_fit(X[600:], y[600:], stream_ids=ids[600:])
    np.testing.assert_array_equal(
        loaded.predict_proba(X, stream_ids=ids), clf.predict_proba(X, stream_ids=ids)
    )


def test_save_keeps_label_and_id_types(streams, tmp_path):
    X, y, _ = streams
    ids = np.array([1, "1"] * (len(X) // 2), dtype=object)
    clf = SignalAccumulativeClassifier(**FAST).fit(
        X, np.array(["a", "b"])[y], stream_ids=ids
    )
    clf.save(tmp_path / "m.pt")
    loaded = SignalAccumulativeClassifier.load(tmp_path / "m.pt")
    assert set(loaded.accumulators_) == {1, "1"}
    assert loaded.classes_.tolist() == ["a", "b"]


def test_load_refuses_a_file_that_would_run_code(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pt"
    torch.save(
        {"format": "sklearn_samlp.SignalAccumulativeClassifier", "payload": Exploit()},
        path,
    )
    with pytest.raises(ValueError, match="Refusing"):
        SignalAccumulativeClassifier.load(path)
    assert not marker.exists()
    torch.load(
        path, weights_only=False
    )  # the payload is real: a plain unpickler runs it
    assert marker.exists()


def test_load_refuses_truncated_and_foreign_files(streams, tmp_path):
    X, y, _ = streams
    path = tmp_path / "m.pt"
    SignalAccumulativeClassifier(**FAST).fit(X, y).save(path)
    data = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable model file"):
        SignalAccumulativeClassifier.load(tmp_path / "cut.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a saved SignalAccumulativeClassifier"):
        SignalAccumulativeClassifier.load(tmp_path / "other.pt")


# ---------------------------------------------------------------- bad input


@pytest.fixture
def fitted(streams):
    X, y, ids = streams
    return SignalAccumulativeClassifier(**FAST).fit(X, y, stream_ids=ids)


def _bad_calls(X, y, ids):
    nan = X[:10].copy()
    nan[3, 1] = np.nan
    inf = X[:10].copy()
    inf[0, 0] = np.inf
    return [
        ("partial_fit", (nan, y[:10]), {}, "NaN"),
        ("partial_fit", (inf, y[:10]), {}, "infinity"),
        ("partial_fit", (X[:10, :3], y[:10]), {}, "features"),
        ("partial_fit", (X[:0], y[:1]), {}, "0 sample"),  # X[:0], y[:0]: a no-op
        ("partial_fit", (X[0], y[:1]), {}, "2D array"),
        ("partial_fit", (X[:10], y[:9]), {}, "inconsistent numbers of samples"),
        ("partial_fit", (X[:10], y[:10]), {"stream_ids": ids[:9]}, "stream_ids"),
        (
            "partial_fit",
            (X[:10], y[:10]),
            {"sample_weight": np.ones(9)},
            "sample_weight",
        ),
        ("partial_fit", (X[:10], np.full(10, 5)), {}, "not in classes_"),
        ("partial_fit", (X[:10], y[:10]), {"classes": [0, 1, 2]}, "classes"),
        ("fit", (nan, y[:10]), {}, "NaN"),
        ("fit", (X[:10, :3], y[:10]), {"stream_ids": ids[:3]}, "stream_ids"),
        ("fit", (X[:10], y[:10]), {"sample_weight": -np.ones(10)}, "(?i)negative"),
        ("predict", (X[:10, :3],), {}, "features"),
        ("predict", (nan,), {}, "NaN"),
        ("update_accumulators", (inf,), {"stream_ids": ids[:10]}, "infinity"),
        ("update_accumulators", (X[:10],), {"stream_ids": ids[:5]}, "stream_ids"),
    ]


@pytest.mark.parametrize("case", range(17))
def test_bad_input_raises_and_changes_nothing(streams, fitted, case):
    X, y, ids = streams
    method, args, kwargs, message = _bad_calls(X, y, ids)[case]
    before = snapshot(fitted)
    with pytest.raises(ValueError, match=message):
        getattr(fitted, method)(*args, **kwargs)
    assert_same_snapshot(before, snapshot(fitted))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"decay": 1.0}, "decay"),
        ({"decay": (0.5, 1.2)}, "decay"),
        ({"dropout": -0.1}, "dropout"),
        ({"lr": 0}, "lr"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_invalid_parameters_raise_and_change_nothing(streams, fitted, params, message):
    X, y, ids = streams
    before = snapshot(fitted)
    fitted.set_params(**params)
    with pytest.raises(ValueError, match=message):
        fitted.fit(X, y, stream_ids=ids)
    assert_same_snapshot(before, snapshot(fitted))


def test_partial_fit_needs_classes_on_first_call(streams):
    X, y, _ = streams
    clf = SignalAccumulativeClassifier(**FAST)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    assert not hasattr(clf, "classes_") and not hasattr(clf, "n_features_in_")
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X, y, classes=[0, 2])
    assert not hasattr(clf, "classes_") and not hasattr(clf, "n_features_in_")


def test_unsaveable_stream_ids(streams, tmp_path):
    X, y, _ = streams
    ids = [(0, 1)] * len(X)
    ids_array = np.empty(len(X), dtype=object)
    ids_array[:] = ids
    clf = SignalAccumulativeClassifier(**FAST).fit(X, y, stream_ids=ids_array)
    with pytest.raises(TypeError, match="stream ids"):
        clf.save(tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()


def test_callbacks_are_used_as_given_and_not_saved(streams, tmp_path):
    from skorch.callbacks import Callback

    class Counter(Callback):
        def __init__(self):
            self.epochs = 0

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    X, y, ids = streams
    counter = Counter()
    clf = SignalAccumulativeClassifier(callbacks=[counter], **FAST).fit(X, y)
    clf.partial_fit(X, y)
    assert counter.epochs == FAST["max_epochs"] + 1
    clf.save(tmp_path / "m.pt")
    assert SignalAccumulativeClassifier.load(tmp_path / "m.pt").callbacks is None


def test_tight_training_loop_equals_skorchs_loop(streams):
    """Without batch callbacks the epoch is a plain loop; it must train identically."""
    from skorch.callbacks import Callback

    class ListensToBatches(Callback):  # forces skorch's own loop
        def on_batch_end(self, net, **kwargs):
            pass

    X, y, ids = streams
    # Predictions continue the streams: they compare the weights and the stream states.
    params = {**FAST, "after_fit": "continue"}
    tight = SignalAccumulativeClassifier(**params).fit(X, y, stream_ids=ids)
    skorch_loop = SignalAccumulativeClassifier(callbacks=[ListensToBatches()], **params)
    skorch_loop.fit(X, y, stream_ids=ids)
    np.testing.assert_array_equal(
        tight.predict_proba(X, stream_ids=ids),
        skorch_loop.predict_proba(X, stream_ids=ids),
    )
    for key in ("train_loss", "train_acc", "train_batch_count"):
        assert tight.history_[:, key] == skorch_loop.history_[:, key]
    assert (
        tight.history_[-1, "batches", :, "train_batch_size"]
        == (skorch_loop.history_[-1, "batches", :, "train_batch_size"])
    )
