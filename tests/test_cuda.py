"""Devices: training and inference on CUDA, and moving models between devices.

The tests marked ``needs_cuda`` run only where torch sees a GPU. The others run
everywhere and cover the device plumbing that a machine without a GPU meets: a
file or pickle written on a GPU machine, read on a CPU.

Where CUDA runs: the network (training and inference) and ``scan_codes`` on
CUDA tensors. The estimator computes the accumulated features with NumPy on
the CPU and copies them to the device, so its ``accumulators_`` are the same
whatever the device.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import json
import os
import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
import torch
from skorch.exceptions import DeviceWarning

from sklearn_samlp import SignalAccumulativeClassifier
from sklearn_samlp._accumulate import scan_codes
from sklearn_samlp.datasets import make_regime_streams

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
without_cuda = pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks a machine without CUDA"
)
needs_learn_decay = pytest.mark.skipif(
    "learn_decay" not in SignalAccumulativeClassifier().get_params(),
    reason="the estimator has no learn_decay parameter",
)
CUDA = pytest.param("cuda", marks=needs_cuda)

# dropout=0: the CUDA generator draws other masks than the CPU one, and without
# dropout CPU and CUDA training differ by rounding only.
CHEAP = {
    "max_epochs": 3,
    "batch_size": 64,
    "hidden_layer_sizes": (16,),
    "dropout": 0.0,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def streams():
    X, y, stream_ids = make_regime_streams(
        n_streams=3, n_steps=300, n_features=4, random_state=0
    )
    return X.astype(np.float32), y, stream_ids


def fitted(streams, device="cpu", **params):
    # The tests predict the training streams, continued, to compare a model
    # with its copy on another device.
    X, y, stream_ids = streams
    params = {**CHEAP, "after_fit": "continue", **params}
    clf = SignalAccumulativeClassifier(device=device, **params)
    return clf.fit(X, y, stream_ids=stream_ids)


def parameter_devices(clf):
    return {p.device.type for p in clf.net_.module_.parameters()}


def tensors_in(obj):
    """Every tensor in nested dicts, lists and tuples."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from tensors_in(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from tensors_in(value)


def assert_same_predictions(proba, expected, atol=1e-5):
    """Close probabilities; equal classes except at near ties."""
    np.testing.assert_allclose(proba, expected, rtol=1e-4, atol=atol)
    top2 = np.sort(expected, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 10 * atol
    np.testing.assert_array_equal(proba.argmax(1)[clear], expected.argmax(1)[clear])


# ------------------------------------------------------------------- CUDA


@needs_cuda
@pytest.mark.parametrize(
    "params", [{}, pytest.param({"learn_decay": True}, marks=needs_learn_decay)]
)
def test_fit_predict_on_cuda(streams, params):
    X, y, stream_ids = streams
    clf = fitted(streams, "cuda", **params)
    assert parameter_devices(clf) == {"cuda"}
    proba = clf.predict_proba(X, stream_ids=stream_ids)
    assert isinstance(proba, np.ndarray) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.predict(X, stream_ids=stream_ids).dtype == y.dtype
    # Same initial weights and batches as on the CPU: only rounding differs.
    on_cpu = fitted(streams, "cpu", **params)
    assert_same_predictions(proba, on_cpu.predict_proba(X, stream_ids=stream_ids), 1e-3)


@needs_cuda
def test_partial_fit_on_cuda_carries_the_same_state(streams):
    X, y, _ = streams
    chunks = [slice(0, 400), slice(400, 900)]
    on_cuda = SignalAccumulativeClassifier(device="cuda", **CHEAP)
    on_cpu = SignalAccumulativeClassifier(device="cpu", **CHEAP)
    for rows in chunks:
        on_cuda.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
        on_cpu.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
    assert parameter_devices(on_cuda) == {"cuda"}
    # The accumulators are computed on the CPU whatever the device.
    np.testing.assert_array_equal(
        on_cuda.accumulators_[None], on_cpu.accumulators_[None]
    )


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "decays, steps",
    [(0.9, None), ((0.5, 0.99), None), ((0.5, 0.99), "irregular")],
)
def test_scan_codes_on_cuda_matches_cpu(dtype, decays, steps):
    generator = torch.Generator().manual_seed(0)
    n_rows, n_features, n_decays = 3000, 5, np.size(decays)
    X = torch.randn(n_rows, n_features, generator=generator, dtype=dtype)
    codes = torch.randint(0, 3, (n_rows,), generator=generator).numpy()  # interleaved
    initial = torch.randn(3, n_decays * n_features, generator=generator, dtype=dtype)
    kwargs = {}
    if steps == "irregular":
        kwargs["steps"] = torch.rand(n_rows, generator=generator, dtype=torch.float64)
        kwargs["steps"] = (kwargs["steps"] * 3 + 0.1).numpy()

    states, final = scan_codes(X, decays, codes, initial, **kwargs)
    states_cuda, final_cuda = scan_codes(
        X.cuda(), decays, codes, initial.cuda(), **kwargs
    )
    assert states_cuda.is_cuda and final_cuda.is_cuda
    assert states_cuda.dtype == dtype
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else {}
    torch.testing.assert_close(states_cuda.cpu(), states, **tol)
    torch.testing.assert_close(final_cuda.cpu(), final, **tol)


@needs_cuda
def test_saved_on_cuda_predicts_the_same_on_cpu(streams, tmp_path):
    X, y, stream_ids = streams
    clf = fitted(streams, "cuda")
    proba = clf.predict_proba(X, stream_ids=stream_ids)
    clf.save(tmp_path / "clf.pt")

    on_cpu = SignalAccumulativeClassifier.load(tmp_path / "clf.pt", device="cpu")
    assert on_cpu.device == "cpu" and parameter_devices(on_cpu) == {"cpu"}
    assert_same_predictions(on_cpu.predict_proba(X, stream_ids=stream_ids), proba)
    on_cpu.partial_fit(X[:100], y[:100])  # and training goes on, on the CPU

    # Without device=, a machine with CUDA loads it back on the GPU.
    again = SignalAccumulativeClassifier.load(tmp_path / "clf.pt")
    assert again.device == "cuda" and parameter_devices(again) == {"cuda"}
    np.testing.assert_array_equal(again.predict_proba(X, stream_ids=stream_ids), proba)


@needs_cuda
def test_joblib_file_of_cuda_estimator_without_cuda(streams, tmp_path):
    # joblib/pickle: skorch maps the network to the CPU with a DeviceWarning
    # when CUDA is missing, and the estimator follows it there.
    X, _, stream_ids = streams
    clf = fitted(streams, "cuda")
    joblib.dump(clf, tmp_path / "clf.joblib")
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "ids.npy", stream_ids)
    child = textwrap.dedent(
        """
        import json, sys, warnings
        import joblib, numpy as np, torch

        folder = sys.argv[1]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf = joblib.load(f"{folder}/clf.joblib")
        X, ids = np.load(f"{folder}/X.npy"), np.load(f"{folder}/ids.npy")
        out = {
            "cuda": torch.cuda.is_available(),
            "warnings": [w.category.__name__ for w in caught],
            "device": str(clf.device),
            "net_device": str(clf.net_.device),
            "parameters": sorted(
                {p.device.type for p in clf.net_.module_.parameters()}
            ),
        }
        np.save(f"{folder}/proba.npy", clf.predict_proba(X, stream_ids=ids))
        print(json.dumps(out))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", child, str(tmp_path)],
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["cuda"] is False
    assert "DeviceWarning" in out["warnings"]
    assert out["device"] == "cpu"
    assert out["net_device"] == "cpu" and out["parameters"] == ["cpu"]
    assert_same_predictions(
        np.load(tmp_path / "proba.npy"), clf.predict_proba(X, stream_ids=stream_ids)
    )


# -------------------------------------------------- everywhere (CPU plumbing)


@pytest.fixture
def fake_cuda_seeding(monkeypatch):
    """Let ``_own_rng`` run for device="cuda" without CUDA; record the CUDA seeds."""
    fork_rng = torch.random.fork_rng
    seeds = []
    monkeypatch.setattr(
        torch.random, "fork_rng", lambda devices=None: fork_rng(devices=[])
    )
    monkeypatch.setattr(torch.cuda, "manual_seed", seeds.append)
    return seeds


def draws_under_own_rng(device, random_state=0):
    """What the estimator's generator draws: initial weights, a batch order."""
    clf = SignalAccumulativeClassifier(device=device, random_state=random_state)
    with clf._own_rng(clf._initial_rng_state()) as rng:
        weights = torch.nn.Linear(8, 4).state_dict()
        order = torch.randperm(100)
    return weights, order, rng["rng_state"]


def test_weights_and_batches_do_not_depend_on_the_device(fake_cuda_seeding):
    weights, order, end = draws_under_own_rng("cpu")
    assert fake_cuda_seeding == []
    cuda_weights, cuda_order, cuda_end = draws_under_own_rng("cuda")
    # The CUDA generator (dropout masks) was seeded, without a draw from the
    # CPU generator: the weights, the shuffles and the state carried to the
    # next call are those of the CPU run.
    assert len(fake_cuda_seeding) == 1
    torch.testing.assert_close(cuda_weights, weights, rtol=0, atol=0)
    torch.testing.assert_close(cuda_order, order, rtol=0, atol=0)
    np.testing.assert_array_equal(cuda_end, end)

    # The CUDA seed follows random_state.
    draws_under_own_rng("cuda")
    draws_under_own_rng("cuda", random_state=1)
    assert fake_cuda_seeding[0] == fake_cuda_seeding[1] != fake_cuda_seeding[2]
    assert not np.array_equal(draws_under_own_rng("cpu", 1)[1], order)


@pytest.mark.parametrize("device", ["cpu", CUDA])
def test_save_file_holds_only_cpu_tensors(streams, tmp_path, device):
    fitted(streams, device).save(tmp_path / "clf.pt")
    content = torch.load(tmp_path / "clf.pt", weights_only=True, map_location=None)
    tensors = list(tensors_in(content))
    assert len(tensors) > 4  # weights, optimizer moments, stream states, ...
    assert {t.device.type for t in tensors} == {"cpu"}


@pytest.mark.parametrize("saved_from", ["cpu", "cuda"])
def test_load_on_cpu_always_works(streams, tmp_path, saved_from):
    # A file written on a GPU differs from a CPU one only in its "device"
    # parameter (every tensor is saved on the CPU), so set it to fake one.
    X, y, stream_ids = streams
    clf = fitted(streams)
    expected = clf.predict_proba(X, stream_ids=stream_ids)
    clf.set_params(device=saved_from).save(tmp_path / "clf.pt")

    loaded = SignalAccumulativeClassifier.load(tmp_path / "clf.pt", device="cpu")
    assert loaded.device == "cpu" and parameter_devices(loaded) == {"cpu"}
    np.testing.assert_array_equal(
        loaded.predict_proba(X, stream_ids=stream_ids), expected
    )
    loaded.partial_fit(X[:100], y[:100])


@without_cuda
def test_load_falls_back_to_cpu_without_cuda(streams, tmp_path):
    X, _, stream_ids = streams
    clf = fitted(streams)
    expected = clf.predict_proba(X, stream_ids=stream_ids)
    clf.set_params(device="cuda").save(tmp_path / "clf.pt")

    loaded = SignalAccumulativeClassifier.load(tmp_path / "clf.pt")
    assert loaded.device == "cpu" and parameter_devices(loaded) == {"cpu"}
    np.testing.assert_array_equal(
        loaded.predict_proba(X, stream_ids=stream_ids), expected
    )


@without_cuda
def test_pickle_from_cuda_maps_the_network_to_cpu(streams):
    # What test_joblib_file_of_cuda_estimator_without_cuda checks on a GPU
    # machine, faked on a CPU: the pickle of an estimator trained on CUDA
    # records device "cuda" in the estimator and in its skorch net.
    X, _, stream_ids = streams
    clf = fitted(streams)
    expected = clf.predict_proba(X, stream_ids=stream_ids)
    clf.device = clf.net_.device = "cuda"
    with pytest.warns(DeviceWarning) as record:
        restored = pickle.loads(pickle.dumps(clf))
    messages = " ".join(str(w.message) for w in record)
    assert "no CUDA devices are available" in messages
    assert "Setting self.device = cpu" in messages

    assert str(restored.net_.device) == "cpu" and parameter_devices(restored) == {"cpu"}
    assert restored.device == "cpu"  # the estimator follows its net
    np.testing.assert_array_equal(
        restored.predict_proba(X, stream_ids=stream_ids), expected
    )


@without_cuda
def test_load_onto_missing_cuda_is_a_clear_error(streams, tmp_path):
    fitted(streams).save(tmp_path / "clf.pt")
    with pytest.raises(ValueError, match="CUDA is not available"):
        SignalAccumulativeClassifier.load(tmp_path / "clf.pt", device="cuda")
