"""The out-of-core loop of examples/out_of_core_memmap.py, against in-memory data."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import runpy
from pathlib import Path

import numpy as np
import pytest
import torch

from sklearn_samlp import SignalAccumulativeClassifier
from sklearn_samlp.datasets import make_regime_streams

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "out_of_core_memmap.py"
PARAMS = {
    "decay": 0.9,
    "hidden_layer_sizes": (16,),
    "batch_size": 64,
    "random_state": 0,
}
CHUNK = 300  # 1000 rows: chunks of 300, 300, 300 and 100


@pytest.fixture(scope="module")
def example():
    """The example's functions; its ``main`` runs only when it is the script."""
    return runpy.run_path(str(EXAMPLE))


@pytest.fixture
def stream_files(tmp_path):
    X, y, _ = make_regime_streams(
        n_streams=1, n_steps=1000, n_features=4, random_state=0
    )
    X = X.astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    return X, y, tmp_path / "X.npy", tmp_path / "y.npy"


def test_memmap_loop_equals_in_memory_partial_fit(example, stream_files):
    X, y, X_path, y_path = stream_files
    on_disk = SignalAccumulativeClassifier(**PARAMS)
    accuracies = example["train_out_of_core"](
        on_disk, X_path, y_path, classes=[0, 1, 2], chunk_size=CHUNK, progress=False
    )

    in_memory = SignalAccumulativeClassifier(**PARAMS)
    expected = []
    for start in range(0, len(X), CHUNK):
        X_chunk, y_chunk = X[start : start + CHUNK], y[start : start + CHUNK]
        if start:
            expected.append(in_memory.score(X_chunk, y_chunk))
        in_memory.partial_fit(X_chunk, y_chunk, classes=[0, 1, 2])

    np.testing.assert_array_equal(accuracies, expected)
    assert on_disk.n_iter_ == in_memory.n_iter_ == 4
    np.testing.assert_array_equal(
        on_disk.accumulators_[None], in_memory.accumulators_[None]
    )
    disk_state = on_disk.net_.module_.state_dict()
    for key, value in in_memory.net_.module_.state_dict().items():
        torch.testing.assert_close(disk_state[key], value, rtol=0, atol=0)
    X_next, _, _ = make_regime_streams(n_streams=1, n_steps=200, n_features=4)
    np.testing.assert_array_equal(
        on_disk.predict_proba(X_next), in_memory.predict_proba(X_next)
    )


def test_chunks_are_in_memory_copies_in_order(example, stream_files):
    X, y, X_path, y_path = stream_files
    chunks = list(example["iter_chunks"]([X_path, y_path], CHUNK))
    assert [len(X_chunk) for X_chunk, _ in chunks] == [300, 300, 300, 100]
    for X_chunk, y_chunk in chunks:
        # Copies: no reference to a memory map keeps the file's pages mapped.
        assert type(X_chunk) is np.ndarray and X_chunk.flags.owndata
        assert type(y_chunk) is np.ndarray and y_chunk.flags.owndata
    np.testing.assert_array_equal(np.concatenate([c[0] for c in chunks]), X)
    np.testing.assert_array_equal(np.concatenate([c[1] for c in chunks]), y)


def test_files_of_unequal_length_are_rejected(example, stream_files, tmp_path):
    _, _, X_path, _ = stream_files
    np.save(tmp_path / "short.npy", np.zeros(10))
    with pytest.raises(ValueError, match="as many rows"):
        next(example["iter_chunks"]([X_path, tmp_path / "short.npy"], CHUNK))


def test_example_runs(example, tmp_path, capsys):
    clf, accuracies = example["main"](tmp_path)
    assert (tmp_path / "X.npy").exists() and (tmp_path / "y.npy").exists()
    assert len(accuracies) == 14  # 30,000 rows in chunks of 2,000, less the first
    assert clf.n_iter_ == 15
    # Learned online from the first chunk on (2,000 rows are 125 steps of
    # partial_fit), and kept: every scored chunk is well above chance (1/3).
    assert accuracies.min() > 0.6 and accuracies[-5:].mean() > 0.7
    assert "test-then-train accuracy" in capsys.readouterr().out
