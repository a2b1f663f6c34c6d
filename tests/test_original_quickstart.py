# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import importlib.util
import re
from pathlib import Path

import pytest
import torch

from sklearn_samlp import SignalAccumulativeMLP

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "original_quickstart.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("original_quickstart", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.examples
def test_original_quickstart_runs_and_learns(tmp_path, monkeypatch, capsys):
    module = _load_example()
    # The design's main() asks for 10 epochs; 3 keep the test fast without
    # editing the design's lines.
    original_train = module.train

    def short_train(*args, n_epochs=10, **kwargs):
        return original_train(*args, n_epochs=3, **kwargs)

    monkeypatch.setattr(module, "train", short_train)
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    module.main()
    out = capsys.readouterr().out

    losses = [float(v) for v in re.findall(r"Train Loss: ([0-9.]+)", out)]
    val_acc = [float(v) / 100 for v in re.findall(r"Validation Acc: ([0-9.]+)%", out)]
    assert len(losses) == 3 and len(val_acc) == 3
    assert losses[-1] < losses[0], out
    # Two classes by default: chance is 0.5.
    assert val_acc[-1] > 0.7, out
    assert re.search(r"Predictions: tensor\(\[[01], [01], [01], [01]\]\)", out), out

    saved = tmp_path / "models" / "signal_model_v1.pt"
    assert saved.is_file()
    loaded = SignalAccumulativeMLP.load_model(saved)
    assert loaded.num_streams == 4 and loaded.input_size == 8
