"""The causal MultiRocket-Hydra features: streaming equals whole series."""

import numpy as np
import pytest
import torch

from sklearn_samlp import _rocket_pooling as pooling
from sklearn_samlp._rocket import StreamingRocket, spread_dilations


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 3, 60)).astype(np.float32)
    X[:, :, 10:25] = 1.5  # a constant stretch responds exactly 0
    lengths = np.array([60, 41, 9, 3, 60])
    for k, n in enumerate(lengths):
        X[k, :, n:] = 0.0
    return X, lengths


@pytest.fixture(scope="module")
def rocket(series):
    X, lengths = series
    return StreamingRocket.fit(
        X, lengths, n_combinations=168, n_groups=2, rng=np.random.default_rng(1)
    )


def test_chunks_read_as_the_whole_series(rocket, series):
    X, lengths = series
    whole = rocket.transform(X, lengths)
    state = rocket.initial_state(len(X), X.shape[1])
    for start, stop in [(0, 1), (1, 17), (17, 40), (40, 60)]:
        chunk = np.clip(lengths, start, stop) - start
        state = rocket.update(state, X[:, :, start:stop], chunk)
    np.testing.assert_array_equal(rocket.read(state), whole)


def test_update_leaves_the_given_state_unchanged(rocket, series):
    X, lengths = series
    state = rocket.update(
        rocket.initial_state(len(X)), X[:, :, :20], np.minimum(lengths, 20)
    )
    before = [t.clone() for t in state._tensors()]
    rocket.update(state, X[:, :, 20:], lengths - np.minimum(lengths, 20))
    for a, b in zip(before, state._tensors()):
        assert torch.equal(a, b)


def test_prefix_reads_equal_truncated_series(rocket, series):
    X, lengths = series
    at = rocket.transform(X, lengths, at=(0.5, 1.0))
    half = np.clip(np.ceil(0.5 * lengths), 1, lengths).astype(int)
    np.testing.assert_array_equal(at[0], rocket.transform(X, half))
    np.testing.assert_array_equal(at[1], rocket.transform(X, lengths))


def test_a_series_does_not_depend_on_the_others(rocket, series):
    X, lengths = series
    whole = rocket.transform(X, lengths)
    np.testing.assert_array_equal(rocket.transform(X[2:3], lengths[2:3]), whole[2:3])


def test_pools_of_a_known_series():
    """PPV, MPV, MIPV and LSPV of a hand-computed response."""
    response = torch.tensor([[[1.0, 3.0, -1.0, 2.0, 2.0, 2.0]]], dtype=torch.float64)
    sums = torch.zeros((1, 1, pooling.N_SUMS), dtype=torch.float64)
    biases = torch.tensor([[1.5]], dtype=torch.float64)
    pooling.pool(response, biases, torch.tensor([6]), torch.tensor([0]), sums)
    # positive values 1.5, 0.5, 0.5, 0.5 at rows 1, 3, 4, 5; longest stretch 3
    np.testing.assert_allclose(sums[0, 0].numpy(), [4, 3.0, 13, 3, 3])


def test_numba_and_torch_pools_agree():
    gen = torch.Generator().manual_seed(0)
    response = torch.randn((4, 84, 30), generator=gen, dtype=torch.float64)
    response[:, :, 5:12] = 0.0
    biases = torch.randn((84, 3), generator=gen, dtype=torch.float64)
    biases[:, 0] = 0.0
    lengths, seen = torch.tensor([30, 0, 7, 19]), torch.tensor([0, 4, 11, 2])
    a = torch.zeros((4, 84 * 3, pooling.N_SUMS), dtype=torch.float64)
    a[..., 3] = 2.0
    a[..., 4] = 5.0
    b = a.clone()
    pooling.pool(response, biases, lengths, seen, a)
    pooling._pool_torch(response, biases, lengths, seen, b)
    torch.testing.assert_close(a, b)
    counts_a = torch.zeros((4, 2 * 16), dtype=torch.float64)
    counts_b = counts_a.clone()
    hydra = response[:, :16]
    pooling.count(hydra, lengths, counts_a)
    pooling._hydra_torch(hydra, lengths, counts_b)
    torch.testing.assert_close(counts_a, counts_b)


def test_saved_arrays_rebuild_the_same_features(rocket, series):
    X, lengths = series
    again = StreamingRocket.from_arrays(rocket.n_channels, rocket.to_arrays())
    np.testing.assert_array_equal(
        again.transform(X, lengths), rocket.transform(X, lengths)
    )
    arrays = rocket.to_arrays()
    arrays["biases"] = arrays["biases"] * np.nan
    with pytest.raises(ValueError, match="invalid"):
        StreamingRocket.from_arrays(rocket.n_channels, arrays)


def test_wrong_channels_is_a_clear_error(rocket, series):
    X, _ = series
    with pytest.raises(ValueError, match="channels"):
        rocket.update(rocket.initial_state(len(X)), X[:, :2])


def test_dilations_spread_to_the_length():
    assert spread_dilations(9) == (1,)
    assert max(spread_dilations(1500)) == (1500 - 1) // 8


@pytest.mark.parametrize("n_classes", [2, 3])
def test_ridge_head_probabilities_follow_its_decisions(n_classes):
    from sklearn_samlp._series_head import RidgeHead

    rng = np.random.default_rng(0)
    codes = np.arange(120) % n_classes
    X = rng.normal(size=(120, 30)) + 4.0 * np.eye(30)[codes]
    head = RidgeHead().fit(X, codes, n_classes, None)
    proba = head.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(
        proba.argmax(axis=1), head.decision_function(X).argmax(axis=1)
    )
    assert np.mean(proba.argmax(axis=1) == codes) > 0.9
    assert 0 < head.temperature_ < np.exp(8)
