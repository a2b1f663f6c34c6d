"""Fault suite: crafted model files are refused with a ValueError."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from sklearn_samlp import SignalAccumulativeClassifier as C

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
    torch.save(content, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match=f"online_state|{field}"):
        C.load(tmp_path / "evil.pt")
