"""Peak memory of out-of-core training from ``.npy`` files as the files grow.

Run ``python benchmarks/bench_out_of_core.py [--rows 1000000 4000000]``
(one to two minutes on 2 cores with the defaults; 560 MB of disk in a temporary
folder, deleted at the end). For each size it writes a float32 stream of
``rows x 32`` features and its labels, then runs the training loop of
``examples/out_of_core_memmap.py`` (``train_out_of_core``: memory maps opened
afresh for each chunk, test-then-train; "per chunk" in the table) in a fresh
child process, which reports its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) before and after the loop. For
comparison, the same loop reading from one memory map held open throughout is
run too ("held open"): the pages it has read stay resident, so its peak grows
with the file.

On Linux a child's ``ru_maxrss`` starts from the peak RSS of the parent that
spawned it (it is carried over ``vfork`` and ``exec``), so this process writes
the files through short-lived maps and stays far below the children's
baseline; the children also report ``VmHWM`` from ``/proc/self/status``, the
peak of their own address space, as a check.

Every child trains ``decay=0.9``, ``hidden_layer_sizes=(32,)``,
``batch_size=4096`` on chunks of 65,536 rows with ``--threads`` torch threads
(default 1: on a busy 2-core machine, torch's default of one thread per core is
many times slower).
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "out_of_core_memmap.py"
N_CLASSES = 3

# Runs in the child: peak RSS before the loop (imports, estimator) and after it.
CHILD = """
import json, resource, runpy, sys, time
import numpy as np
import torch

example, X_path, y_path, loop, chunk_size, threads = sys.argv[1:]
chunk_size = int(chunk_size)
torch.set_num_threads(int(threads))
from sklearn_samlp import SignalAccumulativeClassifier

train_out_of_core = runpy.run_path(example)["train_out_of_core"]


def held_open(clf, X_path, y_path, classes, chunk_size):
    X, y = np.load(X_path, mmap_mode="r"), np.load(y_path, mmap_mode="r")
    accuracies = []
    for start in range(0, len(y), chunk_size):
        X_chunk = np.array(X[start : start + chunk_size])
        y_chunk = np.array(y[start : start + chunk_size])
        if hasattr(clf, "classes_"):
            accuracies.append(clf.score(X_chunk, y_chunk))
        clf.partial_fit(X_chunk, y_chunk, classes=classes)
    return np.array(accuracies)


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def hwm_mib():
    # Peak RSS of this process's own address space, from /proc (Linux).
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


clf = SignalAccumulativeClassifier(
    decay=0.9, hidden_layer_sizes=(32,), batch_size=4096, random_state=0
)
before = peak_mib()
start = time.perf_counter()
if loop == "per chunk":
    accuracies = train_out_of_core(
        clf, X_path, y_path, classes=CLASSES, chunk_size=chunk_size, progress=False
    )
else:
    accuracies = held_open(clf, X_path, y_path, CLASSES, chunk_size)
seconds = time.perf_counter() - start
print(json.dumps({
    "before_mib": before, "peak_mib": peak_mib(), "hwm_mib": hwm_mib(),
    "seconds": seconds,
    "accuracy": float(accuracies[-10:].mean()),
}))
""".replace("CLASSES", repr(list(range(N_CLASSES))))


def write_stream(folder, n_rows, n_features, block=100_000, seed=0):
    """Write ``X.npy`` (float32) and ``y.npy`` (int64) block by block.

    The label is a hidden regime that switches with probability 1/50 per row;
    each row is the regime's mean plus unit Gaussian noise. The files are
    mapped afresh for each block, as in the loop, so that this process never
    holds more than a block: its peak RSS is carried over to the children.
    """
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((N_CLASSES, n_features)).astype(np.float32)
    X_path, y_path = folder / "X.npy", folder / "y.npy"
    # Create the files (header and size); the maps are dropped at once.
    np.lib.format.open_memmap(X_path, "w+", np.float32, (n_rows, n_features))
    np.lib.format.open_memmap(y_path, "w+", np.int64, (n_rows,))
    regime = 0
    for start in range(0, n_rows, block):
        n = min(block, n_rows - start)
        steps = (rng.random(n) < 1 / 50) * rng.integers(1, N_CLASSES, n)
        labels = (regime + np.cumsum(steps)) % N_CLASSES
        regime = labels[-1]
        X = np.load(X_path, mmap_mode="r+")
        X[start : start + n] = means[labels] + rng.standard_normal(
            (n, n_features), dtype=np.float32
        )
        y = np.load(y_path, mmap_mode="r+")
        y[start : start + n] = labels
        del X, y  # unmapping writes the block back to the file
    return X_path, y_path


def run_child(X_path, y_path, loop, chunk_size, threads):
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(EXAMPLE), str(X_path), str(y_path),
         loop, str(chunk_size), str(threads)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode:
        raise RuntimeError(f"The child process failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 4_000_000])
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--chunk-size", type=int, default=65_536)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dir", default=None, help="where to write the files")
    args = parser.parse_args(argv)

    needed = max(args.rows) * (args.features * 4 + 8) + 2**20
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        free = shutil.disk_usage(tmp).free
        if free < 2 * needed:  # the largest files, and room to spare
            raise SystemExit(
                f"Need {2 * needed / 2**20:.0f} MiB free in {tmp}, "
                f"found {free / 2**20:.0f} MiB; pass --dir or fewer --rows."
            )
        rows = []
        for n_rows in args.rows:
            folder = Path(tmp) / str(n_rows)
            folder.mkdir()
            X_path, y_path = write_stream(folder, n_rows, args.features)
            file_mib = (X_path.stat().st_size + y_path.stat().st_size) / 2**20
            for loop in ("per chunk", "held open"):
                r = run_child(X_path, y_path, loop, args.chunk_size, args.threads)
                rows.append((n_rows, file_mib, loop, r))
                print(f"{n_rows} rows, {loop}: {r}", file=sys.stderr)
            shutil.rmtree(folder)  # keep one size on disk at a time

    print(
        f"\n{'rows':>9} | {'files MiB':>9} | {'loop':<11} | {'RSS before':>10} | "
        f"{'peak RSS':>8} | {'VmHWM':>5} | {'growth':>6} | {'peak/file':>9} | "
        f"{'growth/file':>11} | {'rows/s':>7} | {'accuracy':>8}"
    )
    print("-" * 123)
    for n_rows, file_mib, loop, r in rows:
        growth = r["peak_mib"] - r["before_mib"]
        print(
            f"{n_rows:>9} | {file_mib:>9.0f} | {loop:<11} | {r['before_mib']:>10.0f} | "
            f"{r['peak_mib']:>8.0f} | {r['hwm_mib']:>5.0f} | {growth:>6.0f} | "
            f"{r['peak_mib'] / file_mib:>9.2f} | {growth / file_mib:>11.2f} | "
            f"{n_rows / r['seconds']:>7.0f} | {r['accuracy']:>8.3f}"
        )
    print(
        "\nMiB of resident memory: peak RSS = ru_maxrss, VmHWM = peak of the "
        "child's own address space, growth = peak RSS - RSS before the loop."
    )


if __name__ == "__main__":
    main()
