# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import pickle

import pytest
import torch
from _forge import forge
from torch import nn

from sklearn_samlp import SignalAccumulativeMLP

VOCAB, STREAMS = 5, 4


@pytest.fixture
def model():
    torch.manual_seed(0)
    return SignalAccumulativeMLP(
        vocab_size=VOCAB, num_streams=STREAMS, accumulator_decay=0.8
    )


def _batch(n=STREAMS, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, VOCAB, generator=g)


def test_structure_and_attributes(model):
    assert model.input_size == VOCAB
    assert model.accumulators.shape == (STREAMS, VOCAB)
    assert "accumulators" in dict(model.named_buffers())
    assert model.mlp[0].in_features == 2 * VOCAB
    assert model.mlp[-1].out_features == 2
    assert isinstance(model.device, torch.device)
    kinds = [type(layer) for layer in model.mlp]
    assert kinds == [nn.Linear, nn.ReLU, nn.Dropout] * 2 + [nn.Linear]
    assert torch.all(model.accumulators == 0)


def test_forward_advances_state_in_train_and_eval(model):
    x1, x2, x3 = _batch(seed=1), _batch(seed=2), _batch(seed=3)
    out = model(x1)
    assert out.shape == (STREAMS, 2)
    torch.testing.assert_close(model.accumulators, 0.2 * x1)
    model.eval()
    with torch.no_grad():
        model(x2)
    expected = 0.8 * 0.2 * x1 + 0.2 * x2
    torch.testing.assert_close(model.accumulators, expected)
    with torch.inference_mode():
        model(x3)
    torch.testing.assert_close(model.accumulators, 0.8 * expected + 0.2 * x3)


def test_logits_use_current_input_and_accumulator(model):
    model.eval()
    x = _batch()
    with torch.no_grad():
        out = model(x)
        expected = model.mlp(torch.cat([x, 0.2 * x], dim=1))
    torch.testing.assert_close(out, expected)


def test_state_is_detached_and_gradients_flow(model):
    x = _batch().requires_grad_(True)
    out = model(x)
    assert not model.accumulators.requires_grad
    assert model.accumulators.grad_fn is None
    out.sum().backward()
    assert x.grad is not None
    assert all(p.grad is not None for p in model.parameters())
    # A second step does not try to back-propagate into the first graph.
    model.zero_grad()
    model(_batch(seed=1)).sum().backward()


def test_reset_accumulators(model):
    model(_batch())
    buffer = model.accumulators
    model.reset_accumulators()
    assert torch.all(model.accumulators == 0)
    assert model.accumulators is buffer


def test_zero_decay_means_accumulator_equals_input():
    model = SignalAccumulativeMLP(VOCAB, STREAMS, accumulator_decay=0.0)
    seen = []
    model.mlp[0].register_forward_hook(lambda mod, inp, out: seen.append(inp[0]))
    for seed in range(3):
        x = _batch(seed=seed)
        model(x)
        torch.testing.assert_close(model.accumulators, x)
        torch.testing.assert_close(seen[-1], torch.cat([x, x], dim=1))


def test_smaller_batch_advances_leading_streams_only(model):
    model(_batch())
    before = model.accumulators.clone()
    x = _batch(2, seed=5)
    assert model(x).shape == (2, 2)
    torch.testing.assert_close(model.accumulators[:2], 0.8 * before[:2] + 0.2 * x)
    assert torch.equal(model.accumulators[2:], before[2:])


def test_empty_batch_is_a_no_op(model):
    model(_batch())
    before = model.accumulators.clone()
    assert model(torch.empty(0, VOCAB)).shape == (0, 2)
    assert torch.equal(model.accumulators, before)


def test_larger_batch_raises(model):
    with pytest.raises(ValueError, match=r"5 rows.*num_streams=4"):
        model(_batch(STREAMS + 1))


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.randn(STREAMS, VOCAB + 1), "Expected 5 features"),
        (torch.randn(VOCAB), "2D batch"),
        (torch.randn(1, STREAMS, VOCAB), "2D batch"),
        (torch.full((STREAMS, VOCAB), float("nan")), "NaN"),
        (torch.tensor([[float("inf")] * VOCAB]), "infinity"),
        (torch.randn(STREAMS + 2, VOCAB), "num_streams"),
        (_batch().numpy(), "torch.Tensor"),
    ],
)
def test_bad_input_leaves_state_unchanged(model, bad, match):
    model(_batch())
    before = model.accumulators.clone()
    with pytest.raises(ValueError, match=match):
        model(bad)
    assert torch.equal(model.accumulators, before)


def test_integer_and_double_inputs_are_cast(model):
    model.eval()
    x = torch.ones(STREAMS, VOCAB, dtype=torch.int64)
    out = model(x)
    assert out.dtype == torch.float32
    model(x.double())
    assert model.accumulators.dtype == torch.float32


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"vocab_size": 0}, "vocab_size"),
        ({"vocab_size": 2.5}, "vocab_size"),
        ({"num_streams": True}, "num_streams"),
        ({"accumulator_decay": 1.0}, "accumulator_decay"),
        ({"accumulator_decay": -0.1}, "accumulator_decay"),
        ({"accumulator_decay": float("nan")}, "accumulator_decay"),
        ({"hidden_sizes": (8, 0)}, r"hidden_sizes\[1\]"),
        ({"hidden_sizes": "64"}, "hidden_sizes"),
        ({"hidden_sizes": 64}, "hidden_sizes"),
        ({"dropout": 1.0}, "dropout"),
        ({"num_classes": 1}, "num_classes"),
    ],
)
def test_constructor_validation(kwargs, name):
    params = {"vocab_size": 3, "num_streams": 2, "accumulator_decay": 0.5}
    params.update(kwargs)
    with pytest.raises(ValueError, match=name):
        SignalAccumulativeMLP(**params)


def test_empty_hidden_sizes_gives_linear_model():
    model = SignalAccumulativeMLP(3, 2, 0.5, hidden_sizes=(), num_classes=4)
    assert len(model.mlp) == 1
    assert model(torch.ones(2, 3)).shape == (2, 4)


def test_device_property_setter_moves_module(model):
    model.device = torch.device("cpu")
    assert model.device == torch.device("cpu")
    model.to(model.device)
    assert model.device == torch.device("cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_device_follows_cuda_and_to():
    model = SignalAccumulativeMLP(3, 2, 0.5)
    model.device = torch.device("cuda")
    assert model.device.type == "cuda"
    assert next(model.parameters()).device.type == "cuda"
    model.cpu()
    assert model.device == torch.device("cpu")
    model.cuda()
    assert model.device.type == "cuda"
    with pytest.raises(ValueError, match="device"):
        model(torch.ones(2, 3))


def test_save_load_round_trip(model, tmp_path):
    model(_batch(seed=1))
    model(_batch(seed=2))
    path = tmp_path / "nested" / "dir" / "model.pt"
    assert model.save_model(str(path)) == path
    loaded = SignalAccumulativeMLP.load_model(path, device="cpu")
    assert loaded.device == torch.device("cpu")
    assert loaded.get_config() == model.get_config()
    assert loaded.hidden_sizes == (64, 64)
    assert torch.equal(loaded.accumulators, model.accumulators)
    for (name, a), (_, b) in zip(
        model.state_dict().items(), loaded.state_dict().items()
    ):
        assert torch.equal(a, b), name
    model.eval()
    loaded.eval()
    with torch.no_grad():
        for seed in (3, 4):
            x = _batch(seed=seed)
            assert torch.equal(model(x), loaded(x))
    assert torch.equal(loaded.accumulators, model.accumulators)


def test_saved_file_only_holds_plain_data(model, tmp_path):
    path = model.save_model(tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    assert set(payload) == {
        "format",
        "format_version",
        "config",
        "state_dict",
        "checksum",
    }
    assert "accumulators" in payload["state_dict"]


def _save_payload(path, **changes):
    model = SignalAccumulativeMLP(3, 2, 0.5, hidden_sizes=(4,))
    model.save_model(path)
    payload = torch.load(path, weights_only=True)
    for key, value in changes.items():
        if key.startswith("config_"):
            payload["config"][key[len("config_") :]] = value
        else:
            payload[key] = value
    forge(payload, path)
    return path


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"format": "something else"}, "unknown format"),
        ({"format_version": 99}, "format_version 99"),
        ({"format_version": "1"}, "format_version must be an int"),
        ({"config": [1, 2]}, "config must be a dict"),
        ({"config_vocab_size": "3"}, "vocab_size"),
        ({"config_accumulator_decay": 2.0}, "accumulator_decay"),
        ({"config_hidden_sizes": 4}, "hidden_sizes"),
        ({"config_extra": 1}, "unexpected entries"),
        ({"state_dict": {"mlp.0.weight": 1}}, "map parameter names to tensors"),
        ({"state_dict": {}}, "missing"),
    ],
)
def test_load_rejects_invalid_content(tmp_path, changes, match):
    path = _save_payload(tmp_path / "bad.pt", **changes)
    with pytest.raises(ValueError, match=match) as exc:
        SignalAccumulativeMLP.load_model(path)
    assert "bad.pt" in str(exc.value)


def test_load_rejects_wrong_shapes_and_missing_keys(tmp_path):
    path = tmp_path / "shape.pt"
    _save_payload(path)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["accumulators"] = torch.zeros(5, 3)
    forge(payload, path)
    with pytest.raises(ValueError, match="shape"):
        SignalAccumulativeMLP.load_model(path)
    torch.save({"config": {}}, path)
    with pytest.raises(ValueError, match="missing entries"):
        SignalAccumulativeMLP.load_model(path)
    torch.save([1, 2, 3], path)
    with pytest.raises(ValueError, match="expected a dict"):
        SignalAccumulativeMLP.load_model(path)


def test_load_truncated_file(model, tmp_path):
    path = model.save_model(tmp_path / "truncated.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated.pt"):
        SignalAccumulativeMLP.load_model(path)
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="truncated.pt"):
        SignalAccumulativeMLP.load_model(path)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_load_on_unavailable_cuda(model, tmp_path):
    path = model.save_model(tmp_path / "m.pt")
    with pytest.raises(ValueError, match="CUDA is not available"):
        SignalAccumulativeMLP.load_model(path, device="cuda")
    with pytest.raises(ValueError, match="not a torch device"):
        SignalAccumulativeMLP.load_model(path, device="not-a-device")


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        SignalAccumulativeMLP.load_model(tmp_path / "nope.pt")


class _Malicious:
    """Unpickling this runs code: it creates the file ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


@pytest.mark.parametrize("writer", ["zip", "legacy", "pickle"])
def test_load_refuses_code_execution(tmp_path, writer):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    model = SignalAccumulativeMLP(3, 2, 0.5)
    payload = {
        "format": "sklearn_samlp.SignalAccumulativeMLP",
        "format_version": 1,
        "config": {**model.get_config(), "dropout": _Malicious(marker)},
        "state_dict": model.state_dict(),
    }
    if writer == "zip":
        torch.save(payload, path)
    elif writer == "legacy":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    else:
        with open(path, "wb") as f:
            pickle.dump(payload, f, protocol=2)

    with pytest.raises(ValueError, match="evil.pt"):
        SignalAccumulativeMLP.load_model(path)
    assert not marker.exists()

    # The payload is armed: an unsafe load would have run it.
    if writer == "pickle":
        with open(path, "rb") as f:
            pickle.load(f)
    else:
        torch.load(path, weights_only=False)
    assert marker.exists()


def _fit_score(decay, epochs=3):
    from sklearn_samlp import StreamManager

    torch.manual_seed(0)
    manager = StreamManager(random_state=0)
    x, y = manager.get_torch_batches(num_streams=4, sequence_length=200)
    x_test, y_test = manager.get_torch_batches(num_streams=4, sequence_length=300)
    model = SignalAccumulativeMLP(manager.get_vocab_size(), 4, decay)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        for xb, yb in manager.load_data(4, x, y):
            optimizer.zero_grad()
            criterion(model(xb), yb).backward()
            optimizer.step()
    model.eval()
    model.reset_accumulators()
    with torch.no_grad():
        correct = sum(
            (model(xb).argmax(1) == yb).sum().item()
            for xb, yb in manager.load_data(4, x_test, y_test)
        )
    return correct / len(y_test)


def test_accumulator_beats_memoryless_model():
    # Measured with this seed: about 0.86 (decay 0.9) vs 0.68 (decay 0).
    with_memory, memoryless = _fit_score(0.9), _fit_score(0.0)
    assert with_memory - memoryless >= 0.1, (with_memory, memoryless)
    assert with_memory >= 0.75
