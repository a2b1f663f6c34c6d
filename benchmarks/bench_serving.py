"""Serving live streams: per-call latency, a million streams, concurrent callers.

Run ``python benchmarks/bench_serving.py`` (a few minutes on 2 cores) or
``python benchmarks/bench_serving.py --quick`` (fewer calls, 100 000 streams
instead of a million, 20 runs of the two-thread reproducer). ``--threads``
sets torch's intra-op threads (default 1: one-row calls gain nothing from
more). Every ratio compares measurements made in this one process, ours and
the baseline interleaved; peak memory is measured in a child process.

The model: ``decay=0.9``, ``hidden_layer_sizes=(64, 64)``, ``dropout=0``,
8 features, 2 classes, fitted on 1,000 streams of 20 rows. The rows of the
table:

* 1-row ``predict``, ``predict_proba``, ``update_accumulators`` and
  ``partial_fit`` on a known stream (the 1,000 streams in turn): the median
  time per call, against scikit-learn's ``MLPClassifier.predict`` of one row
  (same architecture, fitted on the same features) and a plain torch forward
  (``nn.Sequential`` in eval mode under ``inference_mode``) of one row of
  features, measured in the same loop;
* 1,000,000 streams x 1 row x 8 features (a fresh child process):
  ``update_accumulators``, then ``predict`` of one more row each, in rows per
  second, and the peak RSS over the RSS before the calls, against the raw
  state (float32 accumulators, float64 elapsed and last time: 48 bytes a
  stream) plus the ids (the ``index`` dict of int ids, measured);
* 4 threads calling 1-row ``predict`` at once: calls per second against one
  thread;
* the two-thread ``partial_fit`` reproducer of the serving issue: chunks of
  1,000 rows, ``batch_size=32``, 5 calls per thread, each thread its own
  stream; a run fails if it crashes (the child dies) or ``n_iter_`` is not 11.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import torch
from torch import nn

from sklearn_samlp import SignalAccumulativeClassifier

N_FEATURES = 8
HIDDEN = (64, 64)
N_STREAMS = 1000
SIZES = {
    "full": {"calls": 2000, "streams_1m": 1_000_000, "repro_runs": 1000},
    "quick": {"calls": 300, "streams_1m": 100_000, "repro_runs": 20},
}


def fitted_model():
    rng = np.random.default_rng(0)
    ids = np.tile(np.arange(N_STREAMS), 20)
    X = rng.normal(size=(len(ids), N_FEATURES)).astype(np.float32)
    y = (X[:, 0] + rng.normal(size=len(ids)) > 0).astype(np.int64)
    clf = SignalAccumulativeClassifier(
        decay=0.9,
        hidden_layer_sizes=HIDDEN,
        dropout=0.0,
        max_epochs=2,
        batch_size=256,
        random_state=0,
    )
    clf.fit(X, y, stream_ids=ids)
    return clf, X, y, ids


def baselines(clf, X, y, ids):
    """MLPClassifier on the same features, and a torch copy of our MLP."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    features = clf._streams.features(X, ids)[0].numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier(HIDDEN, max_iter=5, random_state=0).fit(features, y)
    layers = []
    for child in clf.net_.module_:
        if isinstance(child, nn.Linear):
            linear = nn.Linear(child.in_features, child.out_features)
            linear.load_state_dict(child.state_dict())
            layers.append(linear)
        elif isinstance(child, nn.ReLU):
            layers.append(nn.ReLU())
    return mlp, nn.Sequential(*layers).eval(), features


def per_call(fn, calls):
    """Median seconds of ``fn(k)`` over ``calls`` calls."""
    times = np.empty(calls)
    for k in range(calls):
        start = time.perf_counter()
        fn(k)
        times[k] = time.perf_counter() - start
    return float(np.median(times))


def latency_rows(calls):
    clf, X, y, ids = fitted_model()
    mlp, torch_mlp, features = baselines(clf, X, y, ids)
    rows = [X[k : k + 1] for k in range(N_STREAMS)]
    sids = [np.array([k]) for k in range(N_STREAMS)]
    labels = [y[k : k + 1] for k in range(N_STREAMS)]
    feature_rows = [features[k : k + 1] for k in range(N_STREAMS)]
    tensors = [torch.from_numpy(f) for f in feature_rows]

    def torch_forward(k):
        with torch.inference_mode():
            torch_mlp(tensors[k % N_STREAMS]).argmax(dim=1).numpy()

    ours = {
        "predict": lambda k: clf.predict(rows[k % N_STREAMS], sids[k % N_STREAMS]),
        "predict_proba": lambda k: clf.predict_proba(
            rows[k % N_STREAMS], sids[k % N_STREAMS]
        ),
        "update_accumulators": lambda k: clf.update_accumulators(
            rows[k % N_STREAMS], sids[k % N_STREAMS]
        ),
        "partial_fit": lambda k: clf.partial_fit(
            rows[k % N_STREAMS], labels[k % N_STREAMS], stream_ids=sids[k % N_STREAMS]
        ),
    }
    for fn in (*ours.values(), torch_forward):  # warm-up
        for k in range(20):
            fn(k)
    mlp.predict(feature_rows[0])
    out = []
    for name, fn in ours.items():
        n = calls if name != "partial_fit" else max(50, calls // 10)
        # Interleave: ours, then both baselines, in blocks of the same calls.
        t_ours = per_call(fn, n)
        t_mlp = per_call(lambda k: mlp.predict(feature_rows[k % N_STREAMS]), n)
        t_torch = per_call(torch_forward, n)
        out.append((name, t_ours, t_mlp, t_torch))
    return out


def threads_row(calls):
    clf, X, _, _ = fitted_model()
    rows = [X[k : k + 1] for k in range(N_STREAMS)]
    sids = [np.array([k]) for k in range(N_STREAMS)]

    def work(n, offset):
        for k in range(n):
            clf.predict(rows[(k + offset) % N_STREAMS], sids[(k + offset) % N_STREAMS])

    work(50, 0)
    start = time.perf_counter()
    work(4 * calls, 0)
    one = 4 * calls / (time.perf_counter() - start)
    threads = [threading.Thread(target=work, args=(calls, 250 * t)) for t in range(4)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    four = 4 * calls / (time.perf_counter() - start)
    return one, four


def million_child(n_streams):
    """Run in a child: 1 row for each of ``n_streams`` streams; print JSON."""
    clf, _, _, _ = fitted_model()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n_streams, N_FEATURES)).astype(np.float32)
    X2 = rng.normal(size=(n_streams, N_FEATURES)).astype(np.float32)
    ids = np.arange(10**7, 10**7 + n_streams)
    rss_before = _rss()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    clf.update_accumulators(X, stream_ids=ids)
    t_update = time.perf_counter() - start
    start = time.perf_counter()
    clf.predict(X2, stream_ids=ids)
    t_predict = time.perf_counter() - start
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    index_bytes = _dict_bytes(clf._streams.index)
    print(
        json.dumps(
            {
                "update_s": t_update,
                "predict_s": t_predict,
                "peak_over_before": maxrss - max(rss_before, maxrss_before),
                "peak_over_rss": maxrss - rss_before,
                "raw_state": n_streams * (clf._streams.width * 4 + 16),
                "ids": index_bytes,
            }
        )
    )


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _dict_bytes(index):
    """The dict and its keys (ints share no storage beyond small ones)."""
    return sys.getsizeof(index) + sum(sys.getsizeof(k) for k in index)


def million_row(n_streams, threads):
    run = subprocess.run(
        [sys.executable, __file__, "--million-child", str(n_streams)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SAMLP_BENCH_THREADS": str(threads)},
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


REPRO = """
import sys, threading, numpy as np, torch
torch.set_num_threads(1)
from sklearn_samlp import SignalAccumulativeClassifier
rng = np.random.default_rng(int(sys.argv[1]))
X = rng.normal(size=(11000, 8)).astype(np.float32)
y = (X[:, 0] > 0).astype(np.int64)
for run in range(int(sys.argv[2])):
    clf = SignalAccumulativeClassifier(hidden_layer_sizes=(16,), batch_size=32)
    clf.partial_fit(X[:1000], y[:1000], classes=[0, 1])
    def train(k):
        for c in range(5):
            rows = slice(1000 + 1000 * (5 * k + c), 2000 + 1000 * (5 * k + c))
            clf.partial_fit(X[rows], y[rows], stream_ids=[k] * 1000)
    threads = [threading.Thread(target=train, args=(k,)) for k in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    print(clf.n_iter_, flush=True)
"""


def repro_row(runs, per_child=50):
    """Runs of the reproducer in children of ``per_child`` runs; (ok, failed)."""
    ok = failed = 0
    for seed, start in enumerate(range(0, runs, per_child)):
        n = min(per_child, runs - start)
        run = subprocess.run(
            [sys.executable, "-c", REPRO, str(seed), str(n)],
            capture_output=True,
            text=True,
        )
        iters = [int(line) for line in run.stdout.split()]
        good = sum(i == 11 for i in iters)
        ok += good
        failed += n - good  # lost updates, or runs a crash never finished
    return ok, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--million-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    threads = int(os.environ.get("SAMLP_BENCH_THREADS", args.threads))
    torch.set_num_threads(threads)
    if args.million_child:
        million_child(args.million_child)
        return
    size = SIZES["quick" if args.quick else "full"]
    print(
        f"torch {torch.__version__}, {threads} intra-op thread(s), "
        f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
    )
    table = []
    for name, t_ours, t_mlp, t_torch in latency_rows(size["calls"]):
        target = {
            "predict": "<= 0.5x MLP (aim <= 2x torch)",
            "update_accumulators": "<= 20 us",
        }.get(name, "")
        table.append(
            (
                f"1 row {name}, {N_STREAMS} streams",
                f"{t_ours * 1e6:.1f} us",
                f"MLP {t_mlp * 1e6:.1f} us, torch {t_torch * 1e6:.1f} us",
                f"{t_ours / t_mlp:.2f}x MLP, {t_ours / t_torch:.2f}x torch",
                target,
            )
        )
    n = size["streams_1m"]
    m = million_row(n, threads)
    raw = m["raw_state"] + m["ids"]
    table.append(
        (
            f"{n:,} streams x 1 row: update_accumulators",
            f"{n / m['update_s']:,.0f} rows/s",
            f"{m['update_s']:.2f} s",
            "",
            ">= 1M rows/s",
        )
    )
    table.append(
        (
            f"{n:,} streams x 1 row: predict",
            f"{n / m['predict_s']:,.0f} rows/s",
            f"{m['predict_s']:.2f} s",
            "",
            ">= 1M rows/s",
        )
    )
    table.append(
        (
            f"{n:,} streams: peak RSS increase",
            f"{m['peak_over_rss'] / 2**20:.0f} MiB",
            f"state {m['raw_state'] / 2**20:.0f} MiB + ids {m['ids'] / 2**20:.0f} MiB",
            f"{m['peak_over_rss'] / raw:.2f}x",
            "<= 3x",
        )
    )
    one, four = threads_row(size["calls"])
    table.append(
        (
            "1-row predict, 4 threads at once",
            f"{four:,.0f} calls/s",
            f"1 thread {one:,.0f} calls/s",
            f"{four / one:.2f}x",
            "correct (tested)",
        )
    )
    ok, failed = repro_row(size["repro_runs"])
    table.append(
        (
            "two-thread partial_fit reproducer",
            f"{ok} runs ok",
            f"{failed} crashed or lost updates",
            "",
            "0 failed",
        )
    )
    headers = ("measure", "ours", "baseline", "ratio", "target")
    widths = [max(len(str(r[i])) for r in (headers, *table)) for i in range(5)]
    for row in (headers, tuple("-" * w for w in widths), *table):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


if __name__ == "__main__":
    main()
