# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_samlp.datasets import make_regime_streams


def _ema_per_stream(X, stream_ids, decay=0.9):
    """Exponential moving average restarted at zero for every stream."""
    A = np.empty_like(X)
    for s in np.unique(stream_ids):
        rows = np.flatnonzero(stream_ids == s)
        a = np.zeros(X.shape[1])
        for i in rows:
            a = decay * a + (1 - decay) * X[i]
            A[i] = a
    return A


def test_shapes_dtypes_and_layout():
    X, y, stream_ids = make_regime_streams(
        n_streams=3, n_steps=7, n_features=4, n_classes=5, random_state=0
    )
    assert X.shape == (21, 4) and X.dtype == np.float64
    assert y.shape == (21,) and y.dtype.kind == "i"
    assert stream_ids.shape == (21,) and stream_ids.dtype.kind == "i"
    np.testing.assert_array_equal(stream_ids, np.repeat([0, 1, 2], 7))
    assert set(np.unique(y)) <= set(range(5))


def test_defaults_are_small():
    X, y, stream_ids = make_regime_streams(random_state=0)
    assert 1000 <= X.shape[0] <= 5000
    assert len(np.unique(stream_ids)) == 10
    assert len(np.unique(y)) == 3


def test_deterministic_under_seed():
    a = make_regime_streams(random_state=42)
    b = make_regime_streams(random_state=42)
    c = make_regime_streams(random_state=43)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.allclose(a[0], c[0])
    rs = np.random.RandomState(42)
    np.testing.assert_array_equal(make_regime_streams(random_state=rs)[0], a[0])


def test_switch_probability_extremes():
    _, y, sid = make_regime_streams(
        n_streams=4, n_steps=50, switch_prob=0.0, random_state=0
    )
    for s in range(4):
        assert len(np.unique(y[sid == s])) == 1
    _, y, sid = make_regime_streams(
        n_streams=4, n_steps=50, switch_prob=1.0, random_state=0
    )
    for s in range(4):
        assert np.all(np.diff(y[sid == s]) != 0)


def test_starting_regimes_are_balanced():
    _, y, sid = make_regime_streams(n_streams=6, n_steps=3, n_classes=3, random_state=0)
    starts = y[::3]
    np.testing.assert_array_equal(np.bincount(starts, minlength=3), [2, 2, 2])


def test_noise_free_rows_are_unit_norm_means():
    X, y, _ = make_regime_streams(
        n_streams=6, n_steps=20, n_features=5, noise=0.0, random_state=0
    )
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0)
    means = np.array([X[y == k][0] for k in range(3)])
    for k in range(3):
        np.testing.assert_allclose(
            X[y == k], np.broadcast_to(means[k], X[y == k].shape)
        )


@pytest.mark.parametrize(
    "params",
    [
        {"n_streams": 0},
        {"n_steps": 0},
        {"n_features": 0},
        {"n_classes": 1},
        {"switch_prob": 1.5},
        {"noise": -1.0},
        {"random_state": "seed"},
    ],
)
def test_invalid_parameters(params):
    with pytest.raises(InvalidParameterError):
        make_regime_streams(**params)


def test_memory_matters():
    """A moving average of past rows predicts far better than one row."""
    X, y, sid = make_regime_streams(random_state=0)
    A = _ema_per_stream(X, sid, decay=0.9)
    train, test = sid < 5, sid >= 5
    raw = LogisticRegression().fit(X[train], y[train]).score(X[test], y[test])
    ema = LogisticRegression().fit(A[train], y[train]).score(A[test], y[test])
    assert ema - raw >= 0.15, (raw, ema)
    assert ema >= 0.75


def test_two_regimes_are_antipodal():
    # Centring removes the component shared by all regimes.
    X, y, _ = make_regime_streams(
        n_streams=4, n_steps=10, n_classes=2, noise=0.0, random_state=1
    )
    np.testing.assert_allclose(X[y == 0][0], -X[y == 1][0])
