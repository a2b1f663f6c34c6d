"""Scaling out with Dask: parallel searches and blockwise incremental fitting.

Every test runs on one real ``LocalCluster`` of two single-threaded worker
processes. The functions sent to the workers are library functions
(``torch.get_num_threads``, ``os.getenv``): cloudpickle would pickle a function
of this module by reference, and the workers cannot import the test modules.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import os

import joblib
import numpy as np
import pytest
import sklearn
import torch
from scipy.stats import uniform
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    RandomizedSearchCV,
    TimeSeriesSplit,
)

from sklearn_samlp import SignalAccumulativeClassifier
from sklearn_samlp.datasets import make_regime_streams

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")

# Cheap instances: each of the searches' fits takes a fraction of a second.
CHEAP = {"max_epochs": 3, "batch_size": 64, "random_state": 0}
GRID = {
    "decay": [0.0, 0.9],
    "dropout": [0.0, 0.2],
    "hidden_layer_sizes": [(8,), (16, 16)],
}
DISTRIBUTIONS = {
    "decay": uniform(0.5, 0.49),
    "dropout": [0.0, 0.2],
    "hidden_layer_sizes": [(8,), (16, 16)],
}
SCORE_KEYS = ("mean_test_score", "std_test_score", "rank_test_score") + tuple(
    f"split{k}_test_score" for k in range(3)
)


@pytest.fixture(scope="module")
def client():
    """Two worker processes with one thread each, as on a 2-core machine."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        # Import torch and the package in the workers once, up front.
        client.run(__import__, "sklearn_samlp")
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def streams():
    X, y, stream_ids = make_regime_streams(
        n_streams=6, n_steps=200, n_features=4, random_state=0
    )
    return X.astype(np.float32), y, stream_ids


@pytest.fixture
def one_torch_thread():
    """Run the serial baseline on one thread, like each worker.

    Not needed for the results to agree, but torch's default of one thread per
    core makes a busy 2-core machine many times slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def routed(estimator):
    """Ask the search to pass ``stream_ids`` to ``fit`` and ``score``."""
    return estimator.set_fit_request(stream_ids=True).set_score_request(stream_ids=True)


def assert_same_search(serial, parallel):
    assert parallel.best_params_ == serial.best_params_
    assert parallel.cv_results_["params"] == serial.cv_results_["params"]
    for key in SCORE_KEYS:
        np.testing.assert_array_equal(
            parallel.cv_results_[key], serial.cv_results_[key]
        )


# ----------------------------------------------------------------- threads


def test_workers_run_torch_on_one_thread(client):
    # distributed's nanny exports these to each worker process before it
    # starts (config "distributed.nanny.pre-spawn-environ"), so torch's
    # OpenMP pool has one thread and two workers do not oversubscribe two cores.
    pre_spawn = dask.config.get("distributed.nanny.pre-spawn-environ")
    assert pre_spawn["OMP_NUM_THREADS"] == pre_spawn["MKL_NUM_THREADS"] == 1

    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        assert set(client.run(os.getenv, name).values()) == {"1"}
    # In the worker processes' main threads ...
    assert set(client.run(torch.get_num_threads).values()) == {1}
    # ... and in the task threads that fit the estimators.
    futures = [client.submit(torch.get_num_threads, pure=False) for _ in range(4)]
    assert client.gather(futures) == [1] * 4


# ----------------------------------------------------------------- searches


def test_grid_search_on_dask_matches_serial(client, streams, one_torch_thread):
    X, y, stream_ids = streams
    with sklearn.config_context(enable_metadata_routing=True):

        def make_search(n_jobs=None):
            return GridSearchCV(
                routed(SignalAccumulativeClassifier(**CHEAP)),
                GRID,
                cv=GroupKFold(n_splits=3),
                n_jobs=n_jobs,
            )

        serial = make_search(n_jobs=1).fit(
            X, y, groups=stream_ids, stream_ids=stream_ids
        )
        with joblib.parallel_backend("dask"):
            parallel = make_search().fit(X, y, groups=stream_ids, stream_ids=stream_ids)

    assert len(parallel.cv_results_["params"]) == 8
    assert_same_search(serial, parallel)

    # stream_ids reached fit and score: the first split, by hand.
    train, test = next(GroupKFold(n_splits=3).split(X, y, groups=stream_ids))
    clf = SignalAccumulativeClassifier(**CHEAP, **parallel.best_params_)
    clf.fit(X[train], y[train], stream_ids=stream_ids[train])
    score = clf.score(X[test], y[test], stream_ids=stream_ids[test])
    assert score == parallel.cv_results_["split0_test_score"][parallel.best_index_]


def test_randomized_search_on_dask_matches_serial(client, streams, one_torch_thread):
    X, y, stream_ids = streams
    with sklearn.config_context(enable_metadata_routing=True):

        def make_search(n_jobs=None):
            # TimeSeriesSplit: a test fold continues the training streams.
            clf = SignalAccumulativeClassifier(after_fit="continue", **CHEAP)
            return RandomizedSearchCV(
                routed(clf),
                DISTRIBUTIONS,
                n_iter=4,
                cv=TimeSeriesSplit(n_splits=3),
                n_jobs=n_jobs,
                random_state=0,
            )

        serial = make_search(n_jobs=1).fit(X, y, stream_ids=stream_ids)
        with joblib.parallel_backend("dask"):
            parallel = make_search().fit(X, y, stream_ids=stream_ids)

    assert_same_search(serial, parallel)


# -------------------------------------------------------------- Incremental


@pytest.fixture(scope="module")
def one_stream():
    X, y, _ = make_regime_streams(
        n_streams=1, n_steps=600, n_features=4, random_state=1
    )
    return X.astype(np.float32), y


INCREMENTAL = {
    "decay": 0.9,
    "hidden_layer_sizes": (16,),
    "batch_size": 32,
    "random_state": 0,
}
CHUNK = 160  # 600 rows: blocks of 160, 160, 160 and 120


def by_hand(X, y):
    """``partial_fit`` over the same blocks, in order, in this process."""
    clf = SignalAccumulativeClassifier(**INCREMENTAL)
    for start in range(0, len(X), CHUNK):
        clf.partial_fit(
            X[start : start + CHUNK], y[start : start + CHUNK], classes=[0, 1, 2]
        )
    return clf


def as_dask(X, y):
    return (
        da.from_array(X, chunks=(CHUNK, X.shape[1])),
        da.from_array(y, chunks=(CHUNK,)),
    )


def assert_same_weights(a, b):
    state_a, state_b = a.net_.module_.state_dict(), b.net_.module_.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        torch.testing.assert_close(state_a[key], state_b[key], rtol=0, atol=0)


def test_incremental_fits_blocks_in_order(client, one_stream):
    # dask_ml._partial.fit chains partial_fit(block i) on the model returned
    # for block i - 1, with blocks in range(n_blocks) order unless
    # shuffle_blocks; the chain runs on the cluster, so the estimator travels
    # between the workers pickled, accumulators and generator state included.
    X, y = one_stream
    Xd, yd = as_dask(X, y)
    incremental = dask_ml_wrappers.Incremental(
        SignalAccumulativeClassifier(**INCREMENTAL), shuffle_blocks=False
    )
    incremental.fit(Xd, yd, classes=[0, 1, 2])
    fitted, expected = incremental.estimator_, by_hand(X, y)

    assert fitted.n_iter_ == Xd.numblocks[0] == 4
    # Incremental copies only instance attributes ending in "_"; the
    # accumulators (a property over private state) stay on estimator_.
    assert not hasattr(incremental, "accumulators_")
    assert fitted.accumulators_.keys() == expected.accumulators_.keys() == {None}
    np.testing.assert_array_equal(
        fitted.accumulators_[None], expected.accumulators_[None]
    )
    assert_same_weights(fitted, expected)
    # On a NumPy array Incremental predicts with the estimator on all rows.
    np.testing.assert_array_equal(incremental.predict(X), expected.predict(X))
    np.testing.assert_array_equal(
        incremental.predict_proba(X), expected.predict_proba(X)
    )

    # The comparison sees the order: shuffled blocks give another model.
    shuffled = dask_ml_wrappers.Incremental(
        SignalAccumulativeClassifier(**INCREMENTAL), shuffle_blocks=True, random_state=0
    ).fit(Xd, yd, classes=[0, 1, 2])
    assert not np.array_equal(
        shuffled.estimator_.accumulators_[None], expected.accumulators_[None]
    )


def test_incremental_predicts_dask_blocks_independently(client, one_stream):
    # ParallelPostFit.predict maps the fitted estimator over the blocks: every
    # block starts from the state at the end of training, not from the block
    # before it, so block-wise predictions differ from one pass over all rows.
    X, y = one_stream
    Xd, yd = as_dask(X, y)
    incremental = dask_ml_wrappers.Incremental(
        SignalAccumulativeClassifier(**INCREMENTAL), shuffle_blocks=False
    ).fit(Xd, yd, classes=[0, 1, 2])
    fitted = incremental.estimator_

    blockwise = incremental.predict_proba(Xd).compute()
    per_block = [
        fitted.predict_proba(X[i : i + CHUNK]) for i in range(0, len(X), CHUNK)
    ]
    np.testing.assert_array_equal(blockwise, np.concatenate(per_block))
    assert not np.allclose(blockwise, fitted.predict_proba(X))


def test_incremental_passes_stream_ids_whole_to_every_block(client, one_stream):
    # Incremental passes fit keyword arguments unchanged to each block's
    # partial_fit, so per-row arguments such as stream_ids cannot be used.
    X, y = one_stream
    Xd, yd = as_dask(X, y)
    incremental = dask_ml_wrappers.Incremental(
        SignalAccumulativeClassifier(**INCREMENTAL), shuffle_blocks=False
    )
    with pytest.raises(ValueError, match="one id per row of X: X has 160 rows"):
        incremental.fit(Xd, yd, classes=[0, 1, 2], stream_ids=np.zeros(len(X)))
