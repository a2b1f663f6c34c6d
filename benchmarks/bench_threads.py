"""fit and predict time with one torch thread against one per core.

Run ``python benchmarks/bench_threads.py`` (about a minute on 2 cores;
``--quick`` for a smaller run). The estimator's ``n_threads`` sets torch's
intra-op threads for the duration of each call. The same fit is timed with
``n_threads=1`` (the default) and ``n_threads=<cores>`` (torch's own default)
twice: on the machine as it is, and with busy-loop processes on all but one
core (a "busy machine": other jobs, a parallel test run, a notebook). Each
time is the median of ``--repeats`` runs, made back to back with the other
setting; the ratio is ``cores threads / 1 thread`` (above 1: one thread is
faster).

The work: 20 000 rows x 16 features in 20 streams, ``hidden_layer_sizes=(64,
64)``, ``batch_size=128``, 3 epochs; predict on all rows.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import argparse
import multiprocessing
import os
import statistics
import time

import numpy as np
import torch

from sklearn_samlp import SignalAccumulativeClassifier
from sklearn_samlp.datasets import make_regime_streams


def _spin(stop):
    while not stop.is_set():
        pass


def _time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _measure(X, y, ids, n_threads, repeats, epochs):
    clf = SignalAccumulativeClassifier(
        max_epochs=epochs, random_state=0, n_threads=n_threads, after_fit="continue"
    )
    fit = _time(lambda: clf.fit(X, y, stream_ids=ids), repeats)
    predict = _time(lambda: clf.predict(X, stream_ids=ids), repeats)
    return fit, predict


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 3)
    n_steps = 200 if args.quick else 1000
    epochs = 2 if args.quick else 3
    X, y, ids = make_regime_streams(
        n_streams=20, n_steps=n_steps, n_features=16, random_state=0
    )
    X = X.astype(np.float32)
    cores = os.cpu_count()
    print(
        f"torch {torch.__version__}, {cores} cores, torch default threads "
        f"{torch.get_num_threads()}, OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, {len(X)} rows"
    )
    print(
        f"{'machine':<10}{'call':<9}{'1 thread':>10}{f'{cores} threads':>12}"
        f"{'ratio':>8}"
    )
    _measure(X, y, ids, 1, 1, 1)  # warm-up: imports, allocator, kernels
    for machine in ("as is", "busy"):
        stop = multiprocessing.Event()
        spinners = []
        if machine == "busy":
            spinners = [
                multiprocessing.Process(target=_spin, args=(stop,), daemon=True)
                for _ in range(max(1, cores - 1))
            ]
            for process in spinners:
                process.start()
        try:
            one, many = [], []
            for _ in range(2):  # interleaved, so that load drifts hit both
                one.append(_measure(X, y, ids, 1, repeats, epochs))
                many.append(_measure(X, y, ids, cores, repeats, epochs))
        finally:
            stop.set()
            for process in spinners:
                process.join()
        for k, call in enumerate(("fit", "predict")):
            t1 = statistics.median(m[k] for m in one)
            tn = statistics.median(m[k] for m in many)
            print(f"{machine:<10}{call:<9}{t1:>9.3f}s{tn:>11.3f}s{tn / t1:>7.2f}x")


if __name__ == "__main__":
    main()
