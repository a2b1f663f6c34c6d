"""Fault suite: crafted files, faults in training and bad input change nothing.

Each defect found by trying the package as an attacker or an unlucky user
has its reproducer here.
"""

import datetime
import os
import socket
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest
import torch
from _forge import forge
from skorch.callbacks import Callback

from sklearn_samlp import SignalAccumulativeClassifier as C
from sklearn_samlp import SignalAccumulativeSeriesClassifier as S

rng = np.random.default_rng(0)
X = rng.normal(size=(64, 3)).astype(np.float32)
y = (X[:, 0] > 0).astype(int)


@pytest.fixture
def online_saved(tmp_path):
    m = C(hidden_layer_sizes=(8,), random_state=0, online_replay=16).partial_fit(
        X, y, classes=[0, 1]
    )
    m.partial_fit(X, y)
    path = tmp_path / "m.pt"
    m.save(path)
    return m, path


def test_crafted_optimizer_shapes_are_refused_in_a_subprocess(tmp_path):
    # The reproducer of the memory corruption: run apart, so a regression
    # kills the child, not pytest.
    code = textwrap.dedent(
        f"""
        import numpy as np, torch
        from sklearn_samlp import SignalAccumulativeClassifier as C
        rng = np.random.default_rng(0)
        X = rng.normal(size=(64, 3)).astype(np.float32); y = (X[:, 0] > 0).astype(int)
        m = C(hidden_layer_sizes=(8,), random_state=0).partial_fit(X, y, classes=[0, 1])
        m.save({str(tmp_path / "m.pt")!r})
        c = torch.load({str(tmp_path / "m.pt")!r}, weights_only=True)
        for st in c["optimizer_state"]["state"].values():
            st["exp_avg"] = torch.zeros(1); st["exp_avg_sq"] = torch.zeros(1)
        from sklearn_samlp._checkpoint import payload_digest
        c.pop("checksum"); c["checksum"] = payload_digest(c)
        torch.save(c, {str(tmp_path / "evil.pt")!r})
        try:
            C.load({str(tmp_path / "evil.pt")!r}).partial_fit(X, y)
        except ValueError as exc:
            print("REFUSED", exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "REFUSED" in out.stdout and "exp_avg" in out.stdout


@pytest.mark.parametrize(
    "field, value",
    [
        ("scaler_mean", lambda c: torch.full_like(c["scaler_mean"], float("nan"))),
        ("scaler_m2", lambda c: -torch.ones_like(c["scaler_m2"])),
        ("boost", lambda c: 1e30),
        ("age", lambda c: -1),
        ("buffer_y", lambda c: torch.full_like(c["buffer_y"], 7)),
        ("buffer_y", lambda c: c["buffer_y"][:-1]),
        ("buffer_X", lambda c: c["buffer_X"][:, :2]),
    ],
)
def test_poisoned_online_state_is_refused(online_saved, tmp_path, field, value):
    content = torch.load(online_saved[1], weights_only=True)
    online = content["online_state"]
    online[field] = value(online)
    forge(content, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match=f"online_state|{field}"):
        C.load(tmp_path / "evil.pt")


# -- Exceptions and interrupts during training leave the estimator as it was --

_HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_batch_begin",
    "on_grad_computed",
    "on_batch_end",
    "on_epoch_end",
    "on_train_end",
)


class Fault(Callback):
    """Raises ``exc`` from the hook its subclass overrides, once armed."""

    def __init__(self, exc=RuntimeError):
        self.exc, self.armed = exc, False

    def _maybe_raise(self, *args, **kwargs):
        if self.armed:
            raise self.exc("fault injected")


def _fault(hook, exc):
    # Only the one hook overridden: a net without batch hooks keeps its
    # plain training loop, whose faults are tested too.
    return type(f"FaultAt_{hook}", (Fault,), {hook: Fault._maybe_raise})(exc)


def _flatten(value, prefix=""):
    """Every leaf of a saved file's content, by path, as numpy or plain values."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}/{key}"))
        return out
    if isinstance(value, (list, tuple)):
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}/{i}"))
        return out
    if isinstance(value, torch.Tensor):
        return {prefix: value.detach().cpu().numpy().copy()}
    return {prefix: value}


def _fingerprint(clf, tmp_path, timestamps=None):
    """All a model is: its file, its history's length and its answers."""
    path = tmp_path / "fingerprint.pt"
    clf.save(path)
    content = _flatten(torch.load(path, weights_only=True))
    path.unlink()
    probe = X[:5]
    if timestamps is None:
        answers = clf.predict_proba(probe, stream_ids=np.array([0, 0, 1, 1, 2]))
    else:
        answers = clf.predict_proba(probe, timestamps=timestamps)
    return content, len(clf.history_), clf.n_iter_, answers


def _assert_same(before, after):
    content_a, *rest_a = before
    content_b, *rest_b = after
    assert content_a.keys() == content_b.keys()
    for key, value in content_a.items():
        np.testing.assert_array_equal(
            np.asarray(value), np.asarray(content_b[key]), key
        )
    assert rest_a[:2] == rest_b[:2]
    np.testing.assert_array_equal(rest_a[2], rest_b[2])


def _with_fault(hook, exc, started_by):
    fault = _fault(hook, exc)
    clf = C(
        hidden_layer_sizes=(8,),
        max_epochs=2,
        random_state=0,
        online_replay=16,
        callbacks=[("fault", fault)],
    )
    ids = np.arange(len(X)) % 3
    if started_by == "fit":
        clf.fit(X, y, stream_ids=ids)
    else:
        clf.partial_fit(X, y, classes=[0, 1], stream_ids=ids)
    clf.partial_fit(X[:20], y[:20], stream_ids=ids[:20])
    return clf


@pytest.mark.parametrize("exc", [RuntimeError, ValueError])
@pytest.mark.parametrize("hook", _HOOKS)
@pytest.mark.parametrize("started_by", ["fit", "partial_fit"])
@pytest.mark.parametrize("call", ["fit", "partial_fit"])
def test_a_fault_in_training_changes_nothing(tmp_path, exc, hook, started_by, call):
    clf = _with_fault(hook, exc, started_by)
    before = _fingerprint(clf, tmp_path)
    for _, callback in clf.net_.callbacks_:
        if isinstance(callback, Fault):
            callback.armed = True
    # fit builds a new net from the parameter: arm that one too.
    dict(clf.callbacks)["fault"].armed = True
    ids = np.arange(20) % 3
    with pytest.raises(exc, match="fault injected"):
        if call == "fit":
            clf.fit(X[:20], y[:20], stream_ids=ids)
        else:
            clf.partial_fit(X[20:40], y[20:40], stream_ids=ids)
    for _, callback in clf.net_.callbacks_:
        if isinstance(callback, Fault):
            callback.armed = False
    _assert_same(before, _fingerprint(clf, tmp_path))
    # and it still learns
    clf.partial_fit(X[20:40], y[20:40], stream_ids=ids)


def test_a_callbacks_keyboard_interrupt_stops_fit_as_in_skorch(tmp_path):
    # skorch's EarlyStopping asks to stop by raising KeyboardInterrupt: fit
    # ends with the epochs done, and the model is whole.
    stop = _fault("on_epoch_end", KeyboardInterrupt)
    stop.armed = True
    clf = C(hidden_layer_sizes=(8,), max_epochs=5, random_state=0,
            callbacks=[("stop", stop)])  # fmt: skip
    clf.fit(X, y)
    assert clf.n_iter_ == 1
    clf.save(tmp_path / "m.pt")
    np.testing.assert_array_equal(
        clf.predict_proba(X), C.load(tmp_path / "m.pt").predict_proba(X)
    )


@pytest.mark.parametrize("hook", ["on_batch_end", "on_epoch_end"])
@pytest.mark.parametrize("call", ["fit", "partial_fit"])
def test_sigint_propagates_and_changes_nothing(tmp_path, hook, call):
    # A real SIGINT, sent by the process to itself from inside training.
    code = textwrap.dedent(
        f"""
        import os, signal
        import numpy as np
        from skorch.callbacks import Callback
        from sklearn_samlp import SignalAccumulativeClassifier as C

        class Interrupt(Callback):
            armed = False
            def {hook}(self, net, **kwargs):
                if self.armed:
                    os.kill(os.getpid(), signal.SIGINT)

        rng = np.random.default_rng(0)
        X = rng.normal(size=(64, 3)).astype(np.float32); y = (X[:, 0] > 0).astype(int)
        interrupt = Interrupt()
        clf = C(hidden_layer_sizes=(8,), max_epochs=3, random_state=0,
                callbacks=[("interrupt", interrupt)])
        clf.partial_fit(X, y, classes=[0, 1])
        clf.save({str(tmp_path / "before.pt")!r})
        for _, cb in [("p", interrupt)] + list(clf.net_.callbacks_):
            if isinstance(cb, Interrupt):
                cb.armed = True
        try:
            clf.{call}(X[:32], y[:32])
        except KeyboardInterrupt:
            print("INTERRUPTED", clf.n_iter_, len(clf.history_))
        clf.save({str(tmp_path / "after.pt")!r})
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["INTERRUPTED", "1", "1"]
    before = _flatten(torch.load(tmp_path / "before.pt", weights_only=True))
    after = _flatten(torch.load(tmp_path / "after.pt", weights_only=True))
    assert before.keys() == after.keys()
    for key, value in before.items():
        np.testing.assert_array_equal(np.asarray(value), np.asarray(after[key]), key)


# -- Smaller defects, one reproducer each --


def test_classes_that_their_dtype_cannot_hold_are_refused(tmp_path):
    m = C(hidden_layer_sizes=(8,), max_epochs=1, random_state=0)
    m.fit(X, np.where(y == 1, "yes", "no"))
    m.save(tmp_path / "m.pt")
    content = torch.load(tmp_path / "m.pt", weights_only=True)
    for dtype, message in [("<U1", "changes the labels"), ("|i1", "cannot be held")]:
        forge({**content, "classes_dtype": dtype}, tmp_path / "evil.pt")
        with pytest.raises(ValueError, match=message):
            C.load(tmp_path / "evil.pt")
    forge(
        {**content, "classes": "[300, 1]", "classes_dtype": "|i1"}, tmp_path / "evil.pt"
    )
    with pytest.raises(ValueError, match="cannot be held"):  # not an OverflowError
        C.load(tmp_path / "evil.pt")


def test_float32_overflow_is_one_clear_error_without_a_warning():
    big = X.astype(np.float64)
    big[3, 1] = 1e39
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="too large for dtype\\('float32'\\)"):
            C(max_epochs=1).fit(big, y)
        with pytest.raises(ValueError, match="too large for dtype\\('float32'\\)"):
            S().fit(big.reshape(4, 1, 48), np.arange(4) % 2)


def test_series_values_whose_features_overflow_are_named(tmp_path):
    series = rng.normal(size=(10, 30))
    labels = np.arange(10) % 2
    clf = S(n_combinations=50, random_state=0).fit(series, labels)
    series[0, 3] = 3e38  # finite in float32; its convolutions are not
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="too large for float32.*Rescale X"):
            clf.predict(series)


def test_mixed_naive_and_aware_timestamps_are_refused():
    start = datetime.datetime(2024, 1, 1)
    times = np.array(
        [start + datetime.timedelta(minutes=i) for i in range(len(X))], dtype=object
    )
    times[5] = times[5].replace(tzinfo=datetime.timezone.utc)
    with pytest.raises(ValueError, match="mix timezone-aware and naive.*row 5"):
        C(max_epochs=1, time_unit="1min").fit(X, y, timestamps=times)
    # All aware: the same instants as naive UTC.
    aware = np.array(
        [t.replace(tzinfo=datetime.timezone.utc) for t in times], dtype=object
    )
    naive = np.array([t.replace(tzinfo=None) for t in times], dtype=object)
    a = C(max_epochs=1, time_unit="1min", random_state=0).fit(X, y, timestamps=aware)
    b = C(max_epochs=1, time_unit="1min", random_state=0).fit(X, y, timestamps=naive)
    later = [datetime.timedelta(minutes=len(X) + k) for k in range(3)]
    np.testing.assert_array_equal(
        a.predict_proba(X[:3], timestamps=[aware[0] + d for d in later]),
        b.predict_proba(X[:3], timestamps=[naive[0] + d for d in later]),
    )


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_stream_ids_that_no_file_can_hold_are_refused_at_fit(bad):
    ids = np.where(np.arange(len(X)) < 32, 1.0, bad)
    with pytest.raises(ValueError, match="stream_ids must not contain NaN or infinity"):
        C(max_epochs=1).fit(X, y, stream_ids=ids)
    m = C(max_epochs=1).partial_fit(X, y, classes=[0, 1], stream_ids=np.ones(len(X)))
    for n in (1, len(X)):  # the short path of a few rows, and the long one
        with pytest.raises(ValueError, match="NaN or infinity"):
            m.partial_fit(X[:n], y[:n], stream_ids=np.full(n, bad))


def _dead_pid():
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


@pytest.mark.skipif(os.name != "posix", reason="stale files are found by pid on POSIX")
def test_a_save_removes_the_temporary_files_of_killed_saves_only(tmp_path):
    m = C(hidden_layer_sizes=(8,), max_epochs=1, random_state=0).fit(X, y)
    host = socket.gethostname()
    stale = tmp_path / f".m.pt.{host}.{_dead_pid()}.abc123.tmp"
    running = tmp_path / f".m.pt.{host}.{os.getppid()}.def456.tmp"  # alive
    other = tmp_path / f".other.pt.{host}.{_dead_pid()}.ghi789.tmp"
    for path in (stale, running, other):
        path.write_bytes(b"half a model")
    m.save(tmp_path / "m.pt")
    assert not stale.exists()
    assert running.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["m.pt", running.name, other.name]
    )


def test_saving_through_a_symlink_writes_its_target(tmp_path):
    m = C(hidden_layer_sizes=(8,), max_epochs=1, random_state=0).fit(X, y)
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.pt"
    target.write_bytes(b"old")
    link = tmp_path / "model.pt"
    link.symlink_to(target)
    m.save(link)
    assert link.is_symlink() and link.resolve() == target.resolve()
    np.testing.assert_array_equal(C.load(target).predict_proba(X), m.predict_proba(X))


def test_one_changed_byte_in_the_weights_is_detected(tmp_path):
    m = C(hidden_layer_sizes=(8,), max_epochs=1, random_state=0).fit(X, y)
    m.save(tmp_path / "m.pt")
    data = bytearray((tmp_path / "m.pt").read_bytes())
    weights = m.net_.module_[0].weight.detach().numpy().tobytes()
    at = data.find(weights)
    assert at > 0
    data[at + 5] ^= 0x01  # one bit of one weight
    (tmp_path / "flipped.pt").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum does not match"):
        C.load(tmp_path / "flipped.pt")


# -- Concurrency windows: predict sees one published model, old or new --


def test_predict_serves_the_old_model_while_fit_trains_a_new_one():
    clf = C(hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X, y)
    expected = clf.predict_proba(X[:5])
    seen = []

    class Probe(Callback):
        def on_epoch_end(self, net, **kwargs):
            seen.append(clf.predict_proba(X[:5]))  # the old width, mid-fit

    clf.set_params(callbacks=[("probe", Probe())])
    clf.fit(np.hstack([X, X]), y)
    assert len(seen) == 2 and clf.n_features_in_ == 6
    for proba in seen:
        np.testing.assert_array_equal(proba, expected)


def test_a_predict_during_partial_fits_publish_sees_one_model(monkeypatch):
    from sklearn_samlp._streams import StreamStates

    ids = np.arange(len(X)) % 4
    clf = C(hidden_layer_sizes=(8,), random_state=0)
    clf.partial_fit(X, y, classes=[0, 1], stream_ids=ids)
    probe, probe_ids = X[:4], np.arange(4)
    seen = []
    commit = StreamStates.commit

    def commit_then_predict(self, update):
        commit(self, update)
        # Between the new state and the new weights: a reader in another
        # thread must not pair them with the old ones.
        reader = threading.Thread(
            target=lambda: seen.append(clf.predict_proba(probe, stream_ids=probe_ids))
        )
        reader.start()
        reader.join(timeout=0.3)
        readers.append(reader)

    readers = []
    monkeypatch.setattr(StreamStates, "commit", commit_then_predict)
    clf.partial_fit(X[:32], y[:32], stream_ids=ids[:32])
    monkeypatch.undo()
    for reader in readers:
        reader.join(timeout=30)
    assert len(seen) == 1
    np.testing.assert_array_equal(
        seen[0], clf.predict_proba(probe, stream_ids=probe_ids)
    )


def test_training_that_diverges_raises_and_keeps_the_model(tmp_path):
    clf = C(hidden_layer_sizes=(8,), random_state=0, online_replay=16)
    clf.partial_fit(X, y, classes=[0, 1])
    clf.set_params(online_lr=1e300)
    before = _fingerprint(clf, tmp_path)
    with pytest.raises(ValueError, match="Training diverged.*online_lr"):
        clf.partial_fit(X[:20], y[:20])
    _assert_same(before, _fingerprint(clf, tmp_path))
    with pytest.raises(ValueError, match="Training diverged"):
        C(hidden_layer_sizes=(8,), lr=1e300, max_epochs=2, random_state=0).fit(X, y)


def _nan_row():
    bad = X[:8].copy()
    bad[3, 1] = np.nan
    return bad


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.partial_fit(_nan_row(), y[:8]), "NaN"),
        (lambda m: m.partial_fit(X[:8], np.full(8, 5)), "not in classes_"),
        (lambda m: m.partial_fit(X[:8], y[:8], timestamps=np.arange(8.0)), "increase"),
        (lambda m: m.partial_fit(X[:8, :2], y[:8]), "features"),
        (lambda m: m.update_accumulators(_nan_row()), "NaN"),
        (lambda m: m.update_accumulators(X[:8], timestamps=np.arange(8.0)), "increase"),
    ],
    ids=[
        "NaN row",
        "new class",
        "time goes back",
        "width",
        "NaN update",
        "time update",
    ],
)
def test_bad_input_on_a_live_model_changes_nothing(tmp_path, call, message):
    clf = C(hidden_layer_sizes=(8,), random_state=0, online_replay=16)
    clf.partial_fit(X, y, classes=[0, 1], timestamps=np.arange(100.0, 100.0 + len(X)))
    later = 1000.0 + np.arange(5)
    before = _fingerprint(clf, tmp_path, timestamps=later)
    with pytest.raises(ValueError, match=message):
        call(clf)
    _assert_same(before, _fingerprint(clf, tmp_path, timestamps=later))
