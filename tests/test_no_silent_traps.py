"""Results that used to come out wrong without an error or a warning."""

import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV, GroupKFold
from skorch.callbacks import Callback, EarlyStopping

from sklearn_samlp import (
    EpochProgressBar,
    SignalAccumulativeClassifier,
    StreamIdWarning,
)
from sklearn_samlp._console import print_plain_when_piped
from sklearn_samlp._holdout import holdout_rows
from sklearn_samlp.datasets import make_regime_streams

FAST = dict(max_epochs=3, hidden_layer_sizes=(16,), batch_size=64, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y, ids = make_regime_streams(
        n_streams=6, n_steps=120, n_features=3, random_state=0
    )
    return X.astype(np.float32), y, ids


# ------------------------------------------------------------------- time


def _times(n, seed=0):
    """Irregular gaps of about 20 ms, as seconds since 2024-03-01 UTC."""
    gaps = np.random.default_rng(seed).exponential(0.02, n)
    return pd.Timestamp("2024-03-01", tz="UTC").timestamp() + np.cumsum(gaps)


@pytest.mark.parametrize(
    "as_datetimes",
    [
        lambda s: pd.Series(pd.to_datetime(s, unit="s")),
        lambda s: pd.DatetimeIndex(pd.to_datetime(s, unit="s", utc=True)),
        lambda s: pd.to_datetime(s, unit="s").to_numpy(),  # datetime64[ns]
    ],
    ids=["Series", "tz-aware DatetimeIndex", "datetime64"],
)
@pytest.mark.parametrize(
    "time_unit", ["20ms", pd.Timedelta(milliseconds=20), np.timedelta64(20, "ms")]
)
def test_datetime_timestamps_equal_float_seconds(data, as_datetimes, time_unit):
    X, y, ids = data
    seconds = _times(len(X))
    by_seconds = SignalAccumulativeClassifier(time_unit=0.02, **FAST)
    by_seconds.fit(X, y, stream_ids=ids, timestamps=seconds)
    by_dates = SignalAccumulativeClassifier(time_unit=time_unit, **FAST)
    by_dates.fit(X, y, stream_ids=ids, timestamps=as_datetimes(seconds))
    # Equal up to float rounding of seconds since 1970 (about 1e-7 s). A new
    # stream without timestamps on a timestamped model: one unit per row.
    with pytest.warns(UserWarning, match="without timestamps"):
        np.testing.assert_allclose(
            by_dates.predict_proba(X[:50], stream_ids=np.full(50, 99)),
            by_seconds.predict_proba(X[:50], stream_ids=np.full(50, 99)),
            atol=1e-4,
        )
    states = by_dates.accumulators_
    for sid, state in by_seconds.accumulators_.items():
        np.testing.assert_allclose(states[sid], state, atol=1e-4)


def test_datetimes_keep_the_memory(data):
    """The 20 ms gaps decay as one row each, not as 20 000 000 units."""
    X, y, ids = data
    seconds = _times(len(X))
    clf = SignalAccumulativeClassifier(time_unit="20ms", **FAST)
    dates = pd.Series(pd.to_datetime(seconds, unit="s"))
    clf.fit(X[ids == 0], y[ids == 0], timestamps=dates[ids == 0])
    memoryless = X[ids == 0][-1]
    assert np.abs(clf.accumulators_[None] - memoryless).max() > 0.05


def test_time_unit_mismatches_are_errors(data):
    X, y, _ = data
    dates = pd.to_datetime(_times(len(X)), unit="s")
    with pytest.raises(ValueError, match="pass time_unit as a duration"):
        SignalAccumulativeClassifier(**FAST).fit(X, y, timestamps=dates)
    with pytest.raises(ValueError, match="timestamps must be datetimes"):
        SignalAccumulativeClassifier(time_unit="1s", **FAST).fit(
            X, y, timestamps=np.arange(len(X), dtype=float)
        )
    with pytest.raises(ValueError, match="is not a duration"):
        SignalAccumulativeClassifier(time_unit="20 parsecs", **FAST).fit(
            X, y, timestamps=dates
        )


def test_duration_time_unit_survives_save_and_load(data, tmp_path):
    X, y, ids = data
    dates = pd.Series(pd.to_datetime(_times(len(X)), unit="s"))
    clf = SignalAccumulativeClassifier(
        time_unit=pd.Timedelta("20ms"), after_fit="continue", **FAST
    )
    clf.fit(X, y, stream_ids=ids, timestamps=dates)
    clf.save(tmp_path / "m.pt")
    loaded = SignalAccumulativeClassifier.load(tmp_path / "m.pt")
    later = dates.iloc[-1] + pd.to_timedelta(np.arange(1, 11), unit="s")
    np.testing.assert_array_equal(
        loaded.predict_proba(X[:10], stream_ids=ids[-10:], timestamps=later),
        clf.predict_proba(X[:10], stream_ids=ids[-10:], timestamps=later),
    )


# -------------------------------------------------------------- stream ids


def test_predicting_streams_that_fit_trained_on_warns(data):
    X, y, ids = data
    clf = SignalAccumulativeClassifier(**FAST).fit(X, y, stream_ids=ids)
    with pytest.warns(StreamIdWarning, match="reset_accumulators"):
        clf.score(X, y, stream_ids=ids)
    with warnings.catch_warnings():
        warnings.simplefilter("error", StreamIdWarning)
        clf.predict(X, stream_ids=ids + 100)  # new ids start fresh
        clf.reset_accumulators()
        clf.predict(X, stream_ids=ids)
        clf.set_params(after_fit="continue").fit(X, y, stream_ids=ids)
        clf.predict(X, stream_ids=ids)  # a continuation, on purpose


def test_after_fit_reset_starts_every_stream_fresh(data):
    X, y, ids = data
    times = np.arange(len(X), dtype=float)
    reset = SignalAccumulativeClassifier(after_fit="reset", **FAST)
    # fit(...).score(...) on the same timestamps raised before: the streams
    # continued past the last training time.
    score = reset.fit(X, y, stream_ids=ids, timestamps=times).score(
        X, y, stream_ids=ids, timestamps=times
    )
    cont = SignalAccumulativeClassifier(after_fit="continue", **FAST)
    cont.fit(X, y, stream_ids=ids, timestamps=times).reset_accumulators()
    assert score == cont.score(X, y, stream_ids=ids, timestamps=times)
    assert reset.accumulators_ == {}


def test_predicting_without_stream_ids_on_many_streams_warns(data):
    X, y, ids = data
    clf = SignalAccumulativeClassifier(**FAST).fit(X, y, stream_ids=ids)
    with pytest.warns(StreamIdWarning, match="metadata routing"):
        clf.predict(X)


def test_unrouted_grid_search_warns_and_routed_does_not(data):
    X, y, ids = data
    search = GridSearchCV(
        SignalAccumulativeClassifier(**FAST), {"decay": [0.9]}, cv=GroupKFold(2)
    )
    with pytest.warns(StreamIdWarning, match="without stream_ids"):
        search.fit(X, y, stream_ids=ids, groups=ids)
    with sklearn.config_context(enable_metadata_routing=True):
        clf = SignalAccumulativeClassifier(**FAST)
        clf.set_fit_request(stream_ids=True).set_score_request(stream_ids=True)
        search = GridSearchCV(clf, {"decay": [0.9]}, cv=GroupKFold(2), refit=False)
        with warnings.catch_warnings():
            warnings.simplefilter("error", StreamIdWarning)
            search.fit(X, y, stream_ids=ids, groups=ids)


# ---------------------------------------------------------- early stopping


def test_holdout_keeps_streams_whole():
    codes = np.repeat(np.arange(10), 7)
    generator = torch.Generator().manual_seed(0)
    valid = holdout_rows(codes, 10, 0.2, generator)
    per_stream = [set(valid[codes == c]) for c in range(10)]
    assert all(len(s) == 1 for s in per_stream)  # never a stream cut in two
    assert sum(s == {True} for s in per_stream) == 2
    tail = holdout_rows(np.zeros(10, dtype=int), 1, 0.3)
    np.testing.assert_array_equal(tail.nonzero()[0], [7, 8, 9])


def test_n_iter_counts_the_epochs_trained(data):
    X, y, ids = data
    stop = EarlyStopping(monitor="train_loss", patience=1, threshold=10.0)
    clf = SignalAccumulativeClassifier(
        **{**FAST, "max_epochs": 50}, callbacks=[stop]
    ).fit(X, y, stream_ids=ids)
    assert clf.n_iter_ == len(clf.history_) < 50


def test_early_stopping_holds_out_streams_and_stops(data):
    X, y, ids = data
    params = {**FAST, "max_epochs": 200, "lr": 1e-2}
    clf = SignalAccumulativeClassifier(
        early_stopping=True, validation_fraction=0.3, n_iter_no_change=3, **params
    ).fit(X, y, stream_ids=ids)
    history = clf.history_
    assert clf.n_iter_ == len(history) < 200
    batches = history[0, "batches"]
    valid_rows = sum(b["valid_batch_size"] for b in batches if "valid_batch_size" in b)
    assert valid_rows == 2 * 120  # ceil(0.3 * 6) streams, whole
    assert set(history[0]) >= {"valid_loss", "valid_acc", "train_acc"}
    # skorch's EarlyStopping with its defaults (valid_loss) now works.
    default = SignalAccumulativeClassifier(
        early_stopping=True, callbacks=[EarlyStopping()], **params
    ).fit(X, y, stream_ids=ids)
    assert default.n_iter_ == len(default.history_) < 200
    # partial_fit afterwards trains on all of its rows, as MLPClassifier does.
    clf.partial_fit(X, y, stream_ids=ids + 100)
    assert "valid_acc" not in clf.history_[-1]
    assert clf.n_iter_ == len(history)


def test_validation_monitor_without_split_is_a_clear_error(data):
    X, y, ids = data
    clf = SignalAccumulativeClassifier(callbacks=[EarlyStopping()], **FAST)
    with pytest.raises(ValueError, match="early_stopping=True"):
        clf.fit(X, y, stream_ids=ids)


def test_early_stopping_is_reproducible(data):
    X, y, ids = data
    params = dict(early_stopping=True, n_iter_no_change=2, **{**FAST, "max_epochs": 30})
    a = SignalAccumulativeClassifier(**params).fit(X, y, stream_ids=ids)
    b = SignalAccumulativeClassifier(**params).fit(X, y, stream_ids=ids)
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_array_equal(
        a.predict_proba(X, stream_ids=ids + 10), b.predict_proba(X, stream_ids=ids + 10)
    )


# ----------------------------------------------------------------- threads


class _RecordThreads(Callback):
    def on_epoch_end(self, net, **kwargs):
        net.history.record("threads", torch.get_num_threads())


def test_n_threads_is_applied_and_restored(data):
    X, y, ids = data
    before = torch.get_num_threads()
    clf = SignalAccumulativeClassifier(
        n_threads=1, callbacks=[_RecordThreads()], **FAST
    )
    clf.fit(X, y, stream_ids=ids)
    assert clf.history_[:, "threads"] == [1] * 3
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n_threads"):
        clf.set_params(n_threads=0).fit(X, y)
    assert torch.get_num_threads() == before


# ----------------------------------------------------------------- console


def test_epoch_log_is_plain_when_piped(data, capsys):
    X, y, ids = data
    clf = SignalAccumulativeClassifier(
        verbose=1, callbacks=[EpochProgressBar()], **FAST
    )
    clf.fit(X, y, stream_ids=ids)
    out, err = capsys.readouterr()
    assert "train_loss" in out and "\x1b[" not in out
    assert err == ""  # no bar when stderr is not a terminal
    print_plain_when_piped("\x1b[36m0.5\x1b[0m")
    assert capsys.readouterr().out == "0.5\n"


def test_epoch_progress_bar_keeps_the_fast_loop(data, monkeypatch):
    X, y, ids = data
    clf = SignalAccumulativeClassifier(callbacks=[EpochProgressBar()], **FAST)
    clf.fit(X, y, stream_ids=ids)
    assert not clf.net_._listens_to_batches()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    bar = EpochProgressBar()
    bar.on_train_begin(clf.net_)
    assert not bar.bar_.disable
    bar.on_train_end(clf.net_)


# -------------------------------------------------------------- small ones


def test_loading_a_non_model_file_says_so(tmp_path):
    for name, content in [("notes.txt", b"hello\n"), ("empty.pt", b"")]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match="not a model file written by"):
            SignalAccumulativeClassifier.load(tmp_path / name)


def test_save_and_load_expand_the_home_folder(data, tmp_path, monkeypatch):
    X, y, _ = data
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    clf = SignalAccumulativeClassifier(**FAST).fit(X, y)
    clf.save("~/models/m.pt")
    assert (tmp_path / "home" / "models" / "m.pt").is_file()
    assert not (tmp_path / "~").exists()
    assert SignalAccumulativeClassifier.load("~/models/m.pt").n_iter_ == 3


def test_package_is_typed():
    from importlib.resources import files

    assert files("sklearn_samlp").joinpath("py.typed").is_file()
    hints = SignalAccumulativeClassifier.fit.__annotations__
    assert {"X", "y", "stream_ids", "return"} <= set(hints)
