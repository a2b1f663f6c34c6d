"""The accumulator scan against a naive loop."""

import numpy as np
import pytest
import torch

from sklearn_samlp._accumulate import scan_codes
from sklearn_samlp._streams import StreamStates, _factorize

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}


def naive_scan(X, decay, a0):
    a = np.array(a0, dtype=np.float64)
    out = np.empty(X.shape, dtype=np.float64)
    for t, x in enumerate(X):
        a = decay * a + (1 - decay) * x
        out[t] = a
    return out, a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_rows", [1, 7, 32, 33, 1025, 40_000])
@pytest.mark.parametrize("decay", [0.0, 0.5, 0.9, 0.999])
def test_matches_naive_loop(dtype, n_rows, decay):
    rng = np.random.default_rng(n_rows)
    X = rng.normal(size=(n_rows, 3)).astype(dtype)
    a0 = rng.normal(size=3).astype(dtype)
    states, final = scan_codes(X, decay, initial_states=a0)
    expected, expected_final = naive_scan(X.astype(np.float64), decay, a0)
    assert states.dtype == dtype and final.dtype == dtype
    np.testing.assert_allclose(states, expected, **TOL[dtype])
    np.testing.assert_allclose(final, expected_final, **TOL[dtype])


def test_zero_decay_is_identity():
    X = np.random.default_rng(0).normal(size=(100, 4))
    states, final = scan_codes(X, 0.0, initial_states=np.full(4, 7.0))
    np.testing.assert_array_equal(states, X)
    np.testing.assert_array_equal(final, X[-1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunks_with_carried_state_equal_one_shot(dtype):
    X = np.random.default_rng(1).normal(size=(5000, 5)).astype(dtype)
    whole, whole_final = scan_codes(X, (0.8, 0.99))
    state, parts = None, []
    for chunk in np.array_split(X, [1, 2, 100, 999, 3000]):
        part, state = scan_codes(chunk, (0.8, 0.99), initial_states=state)
        parts.append(part)
    np.testing.assert_allclose(np.concatenate(parts), whole, **TOL[dtype])
    np.testing.assert_allclose(state, whole_final, **TOL[dtype])


def test_decay_bank_stacks_per_decay():
    X = np.random.default_rng(2).normal(size=(300, 2))
    decays = (0.0, 0.7, 0.95)
    states, final = scan_codes(X, decays)
    assert states.shape == (300, 6) and final.shape == (1, 6)
    for k, decay in enumerate(decays):
        expected, _ = naive_scan(X, decay, np.zeros(2))
        np.testing.assert_allclose(states[:, 2 * k : 2 * k + 2], expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_interleaved_streams_equal_separate_streams(dtype):
    rng = np.random.default_rng(3)
    ids = rng.choice(
        np.array(["x", "y", "z", 7], dtype=object),
        size=4000,
        p=[0.85, 0.1, 0.049, 0.001],
    )
    X = rng.normal(size=(4000, 3)).astype(dtype)
    init = {"y": np.ones(6), 7: np.full(6, -2.0), "absent": np.zeros(6)}
    uniques, codes = _factorize(ids, len(ids))
    h0 = np.array([init.get(sid, np.zeros(6)) for sid in uniques])
    states, final = scan_codes(X, (0.5, 0.97), codes, h0)
    final = dict(zip(uniques, final))
    assert set(final) == set(ids.tolist())
    for sid in set(ids.tolist()):
        rows = ids == sid
        a0 = init.get(sid, np.zeros(6))
        for k, decay in enumerate((0.5, 0.97)):
            cols = slice(3 * k, 3 * k + 3)
            expected, expected_final = naive_scan(X[rows], decay, a0[cols])
            np.testing.assert_allclose(states[rows][:, cols], expected, **TOL[dtype])
            np.testing.assert_allclose(final[sid][cols], expected_final, **TOL[dtype])


def test_streams_absent_from_a_call_keep_their_state():
    X = np.ones((4, 1))
    init = np.array([[1.0], [2.0], [3.0]])
    _, final = scan_codes(X, 0.5, codes=np.array([0, 0, 2, 2]), initial_states=init)
    np.testing.assert_allclose(final.ravel(), [1.0, 2.0, 1.5])


def test_torch_tensors_in_torch_tensors_out():
    X = torch.randn(500, 3, dtype=torch.float64)
    states, final = scan_codes(X, 0.9, codes=np.arange(500) % 3)
    assert isinstance(states, torch.Tensor) and isinstance(final, torch.Tensor)
    expected, _ = scan_codes(X.numpy(), 0.9, codes=np.arange(500) % 3)
    np.testing.assert_allclose(states.numpy(), expected, rtol=1e-12)


def test_gradients_flow_through_the_scan():
    X = torch.randn(100, 2, requires_grad=True)
    states, _ = scan_codes(X, 0.9)
    states.sum().backward()
    assert X.grad is not None and torch.isfinite(X.grad).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    X = torch.randn(3000, 4, dtype=torch.float64)
    codes = np.arange(3000) % 5
    cpu, cpu_final = scan_codes(X, (0.5, 0.9), codes=codes)
    gpu, gpu_final = scan_codes(X.cuda(), (0.5, 0.9), codes=codes)
    assert gpu.is_cuda
    torch.testing.assert_close(gpu.cpu(), cpu)
    torch.testing.assert_close(gpu_final.cpu(), cpu_final)


def test_empty_input_returns_initial_state():
    states, final = scan_codes(np.empty((0, 3)), 0.5, initial_states=np.ones(3))
    assert states.shape == (0, 3)
    np.testing.assert_array_equal(final, np.ones(3))


@pytest.mark.parametrize("decay", [1.0, -0.1, float("nan"), ()])
def test_bad_decay(decay):
    with pytest.raises(ValueError, match="decay"):
        StreamStates(decay, 2)


def test_bad_shapes():
    with pytest.raises(ValueError, match="2-dimensional"):
        scan_codes(np.ones(3), 0.5)
    with pytest.raises(ValueError, match="initial_states"):
        scan_codes(np.ones((3, 2)), 0.5, initial_states=np.ones(3))
    with pytest.raises(ValueError, match="stream_ids"):
        _factorize([1, 2], 3)


def naive_irregular(X, decays, a0, steps):
    a = np.array(a0, dtype=np.float64)
    out = np.empty(X.shape, dtype=np.float64)
    for t, (x, s) in enumerate(zip(X, steps)):
        g = decays**s
        a = g * a + (1 - g) * x
        out[t] = a
    return out, a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_rows", [1, 31, 200, 3000])
def test_irregular_steps_match_naive_loop(dtype, n_rows):
    rng = np.random.default_rng(n_rows)
    X = rng.normal(size=(n_rows, 3)).astype(dtype)
    steps = rng.exponential(2.0, size=n_rows) + 1e-3
    a0 = rng.normal(size=6)
    states, final = scan_codes(X, (0.5, 0.95), initial_states=a0, steps=steps)
    for k, decay in enumerate((0.5, 0.95)):
        cols = slice(3 * k, 3 * k + 3)
        expected, expected_final = naive_irregular(X, decay, a0[cols], steps)
        np.testing.assert_allclose(states[:, cols], expected, **TOL[dtype])
        np.testing.assert_allclose(final[cols], expected_final, **TOL[dtype])


def test_unit_steps_equal_step_indexed_scan():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(2000, 4))
    codes = rng.integers(0, 3, size=2000)
    plain = scan_codes(X, (0.0, 0.7, 0.99), codes)
    timed = scan_codes(X, (0.0, 0.7, 0.99), codes, steps=np.ones(2000))
    for a, b in zip(plain, timed):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_a_gap_forgets_as_much_as_that_many_steps():
    X = np.array([[1.0], [0.0], [0.0], [0.0], [5.0]])
    stepwise, _ = scan_codes(X, 0.8)
    gapped, _ = scan_codes(X[[0, 4]], 0.8, steps=[1.0, 4.0])
    # With zero rows in between, a gap of 4 decays the state like 4 steps,
    # but the row after the gap weighs as much as the 3 skipped rows and itself.
    np.testing.assert_allclose(
        gapped[1, 0], 0.8**4 * stepwise[0, 0] + (1 - 0.8**4) * 5.0
    )


@pytest.mark.parametrize("with_steps", [False, True])
def test_per_feature_decays_match_naive_loop(with_steps):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(1500, 3))
    codes = rng.integers(0, 2, size=1500)
    bank = np.array([[0.1, 0.5, 0.9], [0.99, 0.0, 0.7]])
    steps = rng.uniform(0.5, 3.0, size=1500) if with_steps else np.ones(1500)
    states, final = scan_codes(X, bank, codes, steps=steps if with_steps else None)
    for code in (0, 1):
        rows = codes == code
        for k in range(2):
            cols = slice(3 * k, 3 * k + 3)
            expected, expected_final = naive_irregular(
                X[rows], bank[k], np.zeros(3), steps[rows]
            )
            np.testing.assert_allclose(
                states[rows][:, cols], expected, rtol=1e-10, atol=1e-12
            )
            np.testing.assert_allclose(
                final[code, cols], expected_final, rtol=1e-10, atol=1e-12
            )


def test_bad_steps():
    with pytest.raises(ValueError, match="positive"):
        scan_codes(np.ones((3, 1)), 0.5, steps=[1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="steps"):
        scan_codes(np.ones((3, 1)), 0.5, steps=[1.0, 1.0])
