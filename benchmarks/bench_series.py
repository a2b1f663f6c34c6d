"""Whole-series and per-row accuracy of the convolution accumulator, side by side.

Run ``python benchmarks/bench_series.py`` (3 seeds, a few minutes on 2 cores)
or ``--quick`` (1 seed, fewer epochs). Needs aeon (``pip install
".[benchmark]"``).

Table 1, series classification on the archives' official train/test splits:
:class:`~sklearn_samlp.SignalAccumulativeSeriesClassifier` with its defaults
(causal MultiRocket-Hydra features read at the last row of each series, a
ridge head; ``--mlp`` adds ``head="mlp"``) against aeon's
``MiniRocketClassifier``, ``MultiRocketHydraClassifier`` and
``QUANTClassifier``, each on one thread, run in the same process on the same
split (aeon's on the series left-padded with zeros to one length, ours on
the series as they are), and the published 1-NN DTW accuracy. Accuracy is
the mean ± standard deviation over the seeds; times are the median fit +
predict time, after numba's compilation, and their ratio to MiniRocket's.

Table 2, per-row accuracy of the row model: ``accumulator="convolution"``
with its defaults against the raw-input model ``accumulator="input"``, both
with ``decay=(0.5, 0.9, 0.99)`` and the same epochs, on the bundled sets
(official splits, every test row predicted, each test series a fresh stream)
and on ``make_regime_streams`` (7 streams to train, 3 to test, drawn anew per
seed). The time columns are the median ratios of fit and predict time to the
raw-input model's, measured side by side.

``--memory`` instead measures the peak memory of ``fit`` on 100 series of
1,500 rows, ours and aeon's MiniRocket and MultiRocket-Hydra, each in a
fresh child process (aeon's times there include numba's compilation).
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import argparse
import os
import platform
import time
import warnings

import numpy as np
import torch

from sklearn_samlp import (
    SignalAccumulativeClassifier,
    SignalAccumulativeSeriesClassifier,
    rows_to_series,
)
from sklearn_samlp.datasets import (
    load_basic_motions,
    load_gunpoint,
    load_italy_power_demand,
    load_japanese_vowels,
    make_regime_streams,
)

LOADERS = {
    "GunPoint": load_gunpoint,
    "ItalyPowerDemand": load_italy_power_demand,
    "JapaneseVowels": load_japanese_vowels,
    "BasicMotions": load_basic_motions,
}
DTW = {  # published 1-NN DTW accuracy, official split (see the data's DESCR)
    "GunPoint": 0.907,
    "ItalyPowerDemand": 0.950,
    "JapaneseVowels": 0.949,
    "BasicMotions": 0.975,
}
BANK = (0.5, 0.9, 0.99)


def official_split(loader):
    """Rows of the TRAIN and TEST files: ``(X, y, stream_ids)`` each."""
    bunch = loader()
    return [
        (bunch.data[m], bunch.target[m], bunch.stream_ids[m])
        for m in (bunch.split == 0, bunch.split == 1)
    ]


def left_padded(series, length):
    """A 3-D array of series left-padded with zeros to ``length``."""
    out = np.zeros((len(series), series[0].shape[0], length), dtype=np.float32)
    for k, s in enumerate(series):
        out[k, :, length - s.shape[1] :] = s
    return out


def timed(fit, predict):
    start = time.perf_counter()
    model = fit()
    fitted = time.perf_counter()
    result = predict(model)
    return result, fitted - start, time.perf_counter() - fitted


def aeon_models(seed):
    """The anchors, each on one thread: name -> unfitted aeon classifier."""
    from aeon.classification.convolution_based import (
        MiniRocketClassifier,
        MultiRocketHydraClassifier,
    )
    from aeon.classification.interval_based import QUANTClassifier

    return {
        "MiniRocket": MiniRocketClassifier(random_state=seed, n_jobs=1),
        "MR-Hydra": MultiRocketHydraClassifier(random_state=seed, n_jobs=1),
        "QUANT": QUANTClassifier(random_state=seed),
    }


def warm_up():
    """Compile numba's kernels (cached on disk) outside the timings."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 1, 20)), np.arange(8) % 2
    SignalAccumulativeSeriesClassifier(n_combinations=84, random_state=0).fit(X, y)
    for model in aeon_models(0).values():
        model.fit(X, y)


def series_table(seeds, epochs, mlp):
    warm_up()
    names = ["ours", *(["ours mlp"] if mlp else []), *aeon_models(0)]
    rows = []
    for name, loader in LOADERS.items():
        (Xa, ya, ia), (Xb, yb, ib) = official_split(loader)
        train, y_train = rows_to_series(Xa, ia, ya)
        test, y_test = rows_to_series(Xb, ib, yb)
        length = max(s.shape[1] for s in train + test)
        padded_train, padded_test = (
            left_padded(train, length),
            left_padded(test, length),
        )
        results = {key: [] for key in names}
        for seed in seeds:
            ours = {"ours": SignalAccumulativeSeriesClassifier(random_state=seed)}
            if mlp:
                ours["ours mlp"] = SignalAccumulativeSeriesClassifier(
                    head="mlp",
                    random_state=seed,
                    **({} if epochs is None else {"max_epochs": epochs}),
                )
            for key, model in ours.items():  # unequal lengths as they are
                acc, t_fit, t_pred = timed(
                    lambda: model.fit(train, y_train), lambda m: m.score(test, y_test)
                )
                results[key].append((acc, t_fit + t_pred))
            for key, model in aeon_models(seed).items():  # aeon: padded
                acc, t_fit, t_pred = timed(
                    lambda: model.fit(padded_train, y_train),
                    lambda m: float(np.mean(m.predict(padded_test) == y_test)),
                )
                results[key].append((acc, t_fit + t_pred))
        rows.append((name, results))
        print(f"  {name} done", flush=True)

    print(
        "\nSeries accuracy (mean ± sd over seeds), official splits, last row of "
        "each test series; fit + predict seconds (median), and as a ratio to "
        "MiniRocket's in the same run"
    )
    print(f"{'data set':<18}" + "".join(f"{key:>15}" for key in names) + "   1-NN DTW")
    for name, results in rows:
        cells = []
        for key in names:
            acc = np.array([a for a, _ in results[key]])
            cells.append(f"{acc.mean():.3f} ± {acc.std():.3f}")
        print(
            f"{name:<18}" + "".join(f"{c:>15}" for c in cells) + f"{DTW[name]:>11.3f}"
        )
    print(f"{'seconds':<18}" + "".join(f"{'':>15}" for _ in names))
    for name, results in rows:
        times = {key: np.median([t for _, t in results[key]]) for key in names}
        cells = [f"{t:.2f} ({t / times['MiniRocket']:.1f}x)" for t in times.values()]
        print(f"{name:<18}" + "".join(f"{c:>15}" for c in cells))


def per_row_sets(seed):
    for name, loader in LOADERS.items():
        yield name, official_split(loader)
    X, y, ids = make_regime_streams(random_state=seed)
    train = ids < 7
    yield "regime streams", [(X[m], y[m], ids[m]) for m in (train, ~train)]


def per_row_table(seeds, epochs):
    table = {}
    for seed in seeds:
        for name, ((Xa, ya, ia), (Xb, yb, ib)) in per_row_sets(seed):
            for accumulator in ("input", "convolution"):
                clf = SignalAccumulativeClassifier(
                    accumulator=accumulator,
                    decay=BANK,
                    max_epochs=epochs or 10,
                    random_state=seed,
                )
                acc, t_fit, t_pred = timed(
                    lambda: clf.fit(Xa, ya, stream_ids=ia),
                    lambda m: m.score(Xb, yb, stream_ids=ib),
                )
                table.setdefault(name, {}).setdefault(accumulator, []).append(
                    (acc, t_fit, t_pred)
                )
    print("\nPer-row accuracy of the row model (same epochs; times relative to input)")
    print(
        f"{'data set':<18}{'input':>15}{'convolution':>15}{'fit x':>8}{'predict x':>11}"
    )
    for name, results in table.items():
        raw, conv = (np.array(results[k]) for k in ("input", "convolution"))
        fit_ratio = np.median(conv[:, 1] / raw[:, 1])
        pred_ratio = np.median(conv[:, 2] / raw[:, 2])
        print(
            f"{name:<18}{raw[:, 0].mean():>9.3f} ± {raw[:, 0].std():.3f}"
            f"{conv[:, 0].mean():>9.3f} ± {conv[:, 0].std():.3f}"
            f"{fit_ratio:>8.1f}{pred_ratio:>11.1f}"
        )


MEMORY_SHAPE = (100, 1, 1500)  # the long-series case


def memory_child(model):
    """In a child process: peak RSS of ``fit`` on MEMORY_SHAPE series, in bytes."""
    import resource

    rng = np.random.default_rng(0)
    X = rng.normal(size=MEMORY_SHAPE).astype(np.float32)
    y = np.arange(len(X)) % 2
    X[y == 1, :, 700:800] += 1.0
    if model == "ours":
        clf = SignalAccumulativeSeriesClassifier(random_state=0)
    else:
        clf = aeon_models(0)[model]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"{peak - before} {seconds}")


def memory_table():
    """Peak memory of fit on 100 series x 1,500 rows, each model in its own child."""
    import subprocess
    import sys

    print(
        f"\nPeak memory of fit on {MEMORY_SHAPE} series (RSS over the start, "
        "each in a fresh process; the input is 0.6 MB)"
    )
    rows = {}
    for model in ("ours", "MiniRocket", "MR-Hydra"):
        run = subprocess.run(
            [sys.executable, __file__, "--memory-child", model],
            capture_output=True, text=True,
        )  # fmt: skip
        if run.returncode:
            print(f"{model:<12} failed: {run.stderr.strip().splitlines()[-1:]}")
            continue
        peak, seconds = map(float, run.stdout.split()[-2:])
        rows[model] = (peak, seconds)
    base = rows.get("MiniRocket", (None, None))[0]
    for model, (peak, seconds) in rows.items():
        ratio = f"  ({peak / base:.1f}x MiniRocket's)" if base else ""
        print(f"{model:<12} {peak / 2**20:8.0f} MiB in {seconds:5.1f} s{ratio}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, 5 epochs")
    parser.add_argument(
        "--memory", action="store_true", help="only the peak memory of fit, long series"
    )
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument(
        "--mlp", action="store_true", help="also the row-model head (slow)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's own)"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        return memory_child(args.memory_child)
    if args.memory:
        return memory_table()
    seeds, epochs = ((0,), 5) if args.quick else ((0, 1, 2), None)
    warnings.simplefilter("ignore", category=FutureWarning)  # aeon's own notices
    print(
        f"torch threads: {torch.get_num_threads()}, seeds: {len(seeds)}, "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}"
    )
    series_table(seeds, epochs, args.mlp)
    per_row_table(seeds, epochs)


if __name__ == "__main__":
    main()
