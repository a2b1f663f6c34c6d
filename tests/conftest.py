# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import copy
from contextlib import contextmanager

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Run the suite with one intra-op thread, then restore the count.

    The test models are tiny: extra intra-op threads only add synchronisation,
    which dominates when another process holds a core (tens of times slower on
    two cores). The library itself never changes the thread count.
    """
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


# Cheap settings for the estimator in tests that need a fitted model, not a good one.
FAST = dict(max_epochs=3, hidden_layer_sizes=(16,), batch_size=64, random_state=0)


@pytest.fixture(scope="session")
def fast_params():
    return dict(FAST)


@pytest.fixture(scope="session")
def regime_streams():
    """Three interleaved streams whose label is a slowly switching hidden regime."""
    rng = np.random.default_rng(0)
    n_steps, n_streams, n_features = 400, 3, 4
    means = rng.normal(scale=0.8, size=(2, n_features))
    X, y, ids = [], [], []
    for t in range(n_steps):
        for s in range(n_streams):
            regime = (t // 100 + s) % 2
            X.append(means[regime] + rng.normal(size=n_features))
            y.append(regime)
            ids.append(f"s{s}")
    return np.asarray(X, np.float32), np.asarray(y), np.asarray(ids)


@pytest.fixture
def fitted_clf(regime_streams):
    from sklearn_samlp import SignalAccumulativeClassifier

    X, y, ids = regime_streams
    # Tests predict its streams to compare states (threads, failed calls): on purpose.
    clf = SignalAccumulativeClassifier(after_fit="continue", **FAST)
    return clf.fit(X, y, stream_ids=ids)


def _state_of(clf):
    """Everything a failed call must leave untouched (None parts when unfitted)."""
    state = {k: v for k, v in vars(clf).items() if k.endswith("_")}
    if hasattr(clf, "net_"):
        state["weights"] = {
            k: v.clone() for k, v in clf.net_.module_.state_dict().items()
        }
        state["optimizer"] = repr(clf.net_.optimizer_.state_dict())
        streams = clf._streams
        state["streams"] = (
            dict(streams.index),
            streams.states.copy(),
            streams.elapsed.copy(),
            streams.last_time.copy(),
        )
        state["rng"] = clf._rng_state.copy()
        del state["net_"]
    return copy.deepcopy(state)


def _assert_same(a, b, path="state"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _assert_same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (u, v) in enumerate(zip(a, b)):
            _assert_same(u, v, f"{path}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=path)
    else:
        assert a == b, path


@pytest.fixture
def unchanged():
    """``with unchanged(clf): ...`` asserts that the block left ``clf`` as it was."""

    @contextmanager
    def check(clf):
        before = _state_of(clf)
        yield
        _assert_same(before, _state_of(clf))

    return check
