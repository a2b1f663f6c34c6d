"""Throughput of the accumulator scan against a naive loop and scipy's lfilter.

Run ``python benchmarks/bench_scan.py [--rows N] [--features F] [--repeats R]``.
Every method computes the same states ``a_t = d a_{t-1} + (1 - d) x_t`` on the
same float32 data in this process; the table reports the median wall time, the
rows per second and the speed-up over ``scipy.signal.lfilter``.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import argparse
import time

import numpy as np
import torch
from scipy.signal import lfilter

from sklearn_samlp._accumulate import scan_codes


def naive_loop(X, decay):
    out = np.empty_like(X)
    a = np.zeros(X.shape[1], dtype=X.dtype)
    for t in range(len(X)):
        a = decay * a + (1 - decay) * X[t]
        out[t] = a
    return out


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--decay", type=float, default=0.9)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, args.features)).astype(np.float32)
    d = args.decay
    methods = {
        "naive Python loop": (lambda: naive_loop(X, d), 1),
        "scipy.signal.lfilter": (
            lambda: lfilter([1 - d], [1, -d], X, axis=0),
            args.repeats,
        ),
        "scan_codes (numpy)": (lambda: scan_codes(X, d)[0], args.repeats),
        "scan_codes (torch CPU)": (
            lambda: scan_codes(torch.from_numpy(X), d)[0].numpy(),
            args.repeats,
        ),
    }
    if torch.cuda.is_available():
        X_gpu = torch.from_numpy(X).cuda()

        def on_gpu():
            states = scan_codes(X_gpu, d)[0]
            torch.cuda.synchronize()
            return states.cpu().numpy()

        on_gpu()  # warm-up
        methods["scan_codes (torch CUDA)"] = (on_gpu, args.repeats)

    results = {name: median_time(fn, reps) for name, (fn, reps) in methods.items()}
    reference = results["scipy.signal.lfilter"][1]
    lfilter_time = results["scipy.signal.lfilter"][0]
    print(
        f"scan of {args.rows:,} rows x {args.features} features, float32, "
        f"decay={d}, torch threads={torch.get_num_threads()}"
    )
    header = ("method", "median s", "rows/s", "vs lfilter", "max |err|")
    print(
        f"{header[0]:<26}{header[1]:>10}{header[2]:>14}{header[3]:>12}{header[4]:>12}"
    )
    for name, (seconds, states) in results.items():
        err = float(np.max(np.abs(states - reference)))
        print(
            f"{name:<26}{seconds:>10.3f}{args.rows / seconds:>14,.0f}"
            f"{lfilter_time / seconds:>11.1f}x{err:>12.1e}"
        )


if __name__ == "__main__":
    main()
