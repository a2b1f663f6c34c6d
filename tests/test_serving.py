"""Concurrent callers and the frozen model that predictions run on."""

import sys
import threading

import numpy as np
import pytest
import torch

from sklearn_samlp import SignalAccumulativeClassifier
from sklearn_samlp._serving import FrozenModule


def _in_threads(n, target):
    errors = []

    def run(k):
        try:
            target(k)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_partial_fit_from_two_threads_loses_no_update(regime_streams):
    """The issue's reproducer (SIGSEGV, lost epochs), 20 runs instead of 1000."""
    X, y, _ = regime_streams
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: without the lock, a crash
    try:
        _two_threads_partial_fit(X, y)
    finally:
        sys.setswitchinterval(interval)


def _two_threads_partial_fit(X, y):
    for run in range(20):
        clf = SignalAccumulativeClassifier(
            hidden_layer_sizes=(8,), batch_size=32, random_state=run
        )
        clf.partial_fit(X[:200], y[:200], classes=[0, 1])

        def train(k):
            for call in range(5):
                rows = slice(200 * call, 200 * call + 200)
                clf.partial_fit(X[rows], y[rows], stream_ids=[f"t{k}"] * 200)

        _in_threads(2, train)
        assert clf.n_iter_ == 11
        assert clf._streams.elapsed[clf._streams.index["t0"]] == 1000
        assert clf._streams.elapsed[clf._streams.index["t1"]] == 1000


def test_update_accumulators_from_threads_loses_no_row(fitted_clf):
    X = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)

    def update(k):
        for row in X:
            fitted_clf.update_accumulators(row[None], stream_ids=["shared"])
            fitted_clf.update_accumulators(row[None], stream_ids=[f"own{k}"])

    _in_threads(3, update)
    index = fitted_clf._streams.index
    assert fitted_clf._streams.elapsed[index["shared"]] == 600
    for k in range(3):
        assert fitted_clf._streams.elapsed[index[f"own{k}"]] == 200


def test_predict_from_four_threads_equals_sequential(regime_streams, fitted_clf):
    X, _, ids = regime_streams
    expected = fitted_clf.predict_proba(X, stream_ids=ids)
    results = {}

    def predict(k):
        for _ in range(5):
            results.setdefault(k, []).append(
                fitted_clf.predict_proba(X, stream_ids=ids)
            )
            fitted_clf.predict(X[:1], stream_ids=ids[:1])

    _in_threads(4, predict)
    for outputs in results.values():
        for proba in outputs:
            np.testing.assert_array_equal(proba, expected)


def test_predict_beside_partial_fit_sees_one_whole_model(regime_streams):
    """Every prediction equals that of one model version: no mix, no dropout."""
    X, y, ids = regime_streams
    clf = SignalAccumulativeClassifier(
        hidden_layer_sizes=(32,), dropout=0.5, batch_size=16, random_state=0
    )
    clf.partial_fit(X[:300], y[:300], classes=[0, 1], stream_ids=ids[:300])
    probe, probe_ids = X[:4], np.array(["probe"] * 4)  # never trained on
    versions = [clf.predict_proba(probe, stream_ids=probe_ids)]
    seen, done = [], threading.Event()

    def train():
        try:
            for call in range(6):
                rows = slice(300 + 100 * call, 400 + 100 * call)
                clf.partial_fit(X[rows], y[rows], stream_ids=ids[rows])
                versions.append(clf.predict_proba(probe, stream_ids=probe_ids))
        finally:
            done.set()

    trainer = threading.Thread(target=train)
    trainer.start()
    while not done.is_set():
        seen.append(clf.predict_proba(probe, stream_ids=probe_ids))
    trainer.join()
    assert len(versions) == 7 and seen
    for proba in seen:
        assert any(np.array_equal(proba, v) for v in versions)
    assert clf.net_.module_.training  # the live module trained; predict did not care


@pytest.mark.parametrize("n_rows", [1, 5, 100])
def test_frozen_module_equals_the_module_in_eval_mode(fitted_clf, n_rows):
    module = fitted_clf.net_.module_
    frozen = FrozenModule(module)
    x = torch.randn(n_rows, module[0].in_features)
    with torch.no_grad():
        expected = module.eval()(x)
    torch.testing.assert_close(frozen(x), expected, rtol=1e-5, atol=1e-6)
    with torch.no_grad():  # later training does not reach the snapshot
        module[0].weight.add_(1.0)
    torch.testing.assert_close(frozen(x), expected, rtol=1e-5, atol=1e-6)


def test_frozen_module_copies_other_modules():
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh())
    frozen = FrozenModule(module)
    assert frozen.layers is None and not frozen.module.training
    x = torch.randn(2, 3)
    torch.testing.assert_close(frozen(x), module(x).detach())


def test_copies_get_their_own_lock_and_predictor(fitted_clf, regime_streams):
    import copy
    import pickle

    X, _, ids = regime_streams
    fitted_clf.update_accumulators(X[:3], stream_ids=ids[:3])  # creates the lock
    for clone in (copy.deepcopy(fitted_clf), pickle.loads(pickle.dumps(fitted_clf))):
        assert clone.__dict__.get("_lock") is not fitted_clf.__dict__["_lock"]
        np.testing.assert_array_equal(
            clone.predict_proba(X, stream_ids=ids),
            fitted_clf.predict_proba(X, stream_ids=ids),
        )
