"""
=============================================
Out-of-core training from memory-mapped files
=============================================

A stream too long to hold in memory can be learned from disk: keep it in
``.npy`` files, open them with ``np.load(path, mmap_mode="r")`` and pass
consecutive chunks of rows, in order, to
:meth:`~sklearn_samlp.SignalAccumulativeClassifier.partial_fit`. The estimator
carries the stream's accumulator from one call to the next, so every row gets
the same accumulated features as if the whole stream had been passed at once.

Each chunk is first predicted and then learned ("test-then-train", or
prequential, evaluation): the accuracy on a chunk is measured before the model
has seen its labels, and the stream needs no held-out part.

Run ``python examples/out_of_core_memmap.py [OUTPUT_DIR]``. The files are
written to ``OUTPUT_DIR``, or to a temporary folder that is deleted at the end.
``benchmarks/bench_out_of_core.py`` measures the memory of the same loop on
files of hundreds of megabytes.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import sys
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from sklearn_samlp import SignalAccumulativeClassifier
from sklearn_samlp.datasets import make_regime_streams

# %%
# Reading consecutive chunks
# --------------------------
# Slicing a memory map reads only the rows sliced. The pages read stay mapped,
# and count in the process's resident memory, until the map is closed; the
# kernel can drop them, but a map held open for the whole loop makes the
# resident size grow to the size of the file. So the files are mapped afresh
# for each chunk, the chunk is copied into memory and the map is closed at
# once: the memory used is that of one chunk, whatever the size of the file.


def iter_chunks(paths, chunk_size):
    """Yield consecutive blocks of rows of ``.npy`` files with as many rows.

    Parameters
    ----------
    paths : sequence of path-like
        ``.npy`` files with the same number of rows, e.g. ``X`` and ``y``.
    chunk_size : int
        Rows per block; the last block may be shorter.

    Yields
    ------
    arrays : tuple of ndarray
        One in-memory copy of rows ``[start, start + chunk_size)`` per file.
    """
    n_rows = {np.load(path, mmap_mode="r").shape[0] for path in paths}
    if len(n_rows) != 1:
        raise ValueError(f"The files must have as many rows, got {sorted(n_rows)}.")
    for start in range(0, n_rows.pop(), chunk_size):
        # np.array copies; the map is released once its slice has been copied.
        yield tuple(
            np.array(np.load(path, mmap_mode="r")[start : start + chunk_size])
            for path in paths
        )


# %%
# The training loop
# -----------------
# The first chunk can only be learned, since ``partial_fit`` must first see
# ``classes``; every later chunk is scored, then learned. ``predict`` and
# ``score`` start from the carried accumulator and leave it unchanged, and
# ``partial_fit`` then advances it over the same rows.


def train_out_of_core(clf, X_path, y_path, classes, chunk_size=2_000, progress=True):
    """Test-then-train ``clf`` on a stream stored in ``.npy`` files.

    Parameters
    ----------
    clf : SignalAccumulativeClassifier
        Trained further in place; it may be fitted already.
    X_path, y_path : path-like
        ``.npy`` files of the rows, shape (n_rows, n_features), and of their
        labels, shape (n_rows,), in time order.
    classes : array-like
        Every label of the stream.
    chunk_size : int, default=2_000
        Rows per call to ``partial_fit``.
    progress : bool, default=True
        Show a ``tqdm`` progress bar with the accuracy of the last chunk.

    Returns
    -------
    accuracies : ndarray of shape (n_scored_chunks,)
        Accuracy on each chunk before training on it; every chunk but the
        first when ``clf`` starts unfitted.
    """
    n_rows = np.load(y_path, mmap_mode="r").shape[0]
    chunks = tqdm(
        iter_chunks([X_path, y_path], chunk_size),
        total=-(-n_rows // chunk_size),
        unit="chunk",
        disable=not progress,
    )
    accuracies = []
    for X, y in chunks:
        if hasattr(clf, "classes_"):
            accuracies.append(clf.score(X, y))
            chunks.set_postfix(accuracy=f"{accuracies[-1]:.3f}")
        clf.partial_fit(X, y, classes=classes)
    return np.array(accuracies)


# %%
# A stream on disk
# ----------------
# One stream of 30,000 rows whose label is a hidden regime that switches every
# 50 rows on average; single rows are noisy, the accumulated signal is not.
# Once written, the arrays are deleted: training reads only the files.


def main(output_dir):
    """Write a stream to ``output_dir``, train on it out of core; return results."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    X, y, _ = make_regime_streams(
        n_streams=1, n_steps=30_000, n_features=8, random_state=0
    )
    X_path, y_path = output_dir / "X.npy", output_dir / "y.npy"
    np.save(X_path, X.astype(np.float32))
    np.save(y_path, y)
    del X, y

    clf = SignalAccumulativeClassifier(
        decay=0.95, hidden_layer_sizes=(32,), lr=3e-3, batch_size=256, random_state=0
    )
    accuracies = train_out_of_core(clf, X_path, y_path, classes=[0, 1, 2])
    print(f"test-then-train accuracy, chunk by chunk: {np.round(accuracies, 2)}")
    print(f"mean over the last 5 chunks: {accuracies[-5:].mean():.3f}")
    return clf, accuracies


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(tmp)
