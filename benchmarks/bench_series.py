"""Whole-series and per-row accuracy of the convolution accumulator, side by side.

Run ``python benchmarks/bench_series.py`` (3 seeds, a few minutes on 2 cores)
or ``--quick`` (1 seed, fewer epochs). Needs aeon (``pip install
".[benchmark]"``).

Table 1, series classification on the archives' official train/test splits:
:class:`~sklearn_samlp.SignalAccumulativeSeriesClassifier` with its defaults
(the prediction at the last row of each test series) against aeon's
``MiniRocketClassifier``, run in the same process on the same split, and the
published 1-NN DTW accuracy. Accuracy is the mean ± standard deviation over
the seeds; times are the median fit + predict time.

Table 2, per-row accuracy of the row model: ``accumulator="convolution"``
with its defaults against the raw-input model ``accumulator="input"``, both
with ``decay=(0.5, 0.9, 0.99)`` and the same epochs, on the bundled sets
(official splits, every test row predicted, each test series a fresh stream)
and on ``make_regime_streams`` (7 streams to train, 3 to test, drawn anew per
seed). The time columns are the median ratios of fit and predict time to the
raw-input model's, measured side by side.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import argparse
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


def series_table(seeds, epochs):
    from aeon.classification.convolution_based import MiniRocketClassifier

    rows = []
    for name, loader in LOADERS.items():
        (Xa, ya, ia), (Xb, yb, ib) = official_split(loader)
        train, y_train = rows_to_series(Xa, ia, ya)
        test, y_test = rows_to_series(Xb, ib, yb)
        results = {"ours": [], "minirocket": []}
        for seed in seeds:
            ours = SignalAccumulativeSeriesClassifier(
                random_state=seed, **({} if epochs is None else {"max_epochs": epochs})
            )
            acc, t_fit, t_pred = timed(
                lambda: ours.fit(train, y_train), lambda m: m.score(test, y_test)
            )
            results["ours"].append((acc, t_fit + t_pred))
            rocket = MiniRocketClassifier(random_state=seed, n_jobs=1)
            length = max(s.shape[1] for s in train + test)
            padded_train = left_padded(train, length)
            padded_test = left_padded(test, length)
            acc, t_fit, t_pred = timed(
                lambda: rocket.fit(padded_train, y_train),
                lambda m: float(np.mean(m.predict(padded_test) == y_test)),
            )
            results["minirocket"].append((acc, t_fit + t_pred))
        rows.append((name, results))
        print(f"  {name} done", flush=True)

    print("\nSeries accuracy, official splits (last row of each test series)")
    print(
        f"{'data set':<18}{'ours':>15}{'MiniRocket':>15}{'1-NN DTW':>10}"
        f"{'ours s':>9}{'MiniR. s':>10}"
    )
    for name, results in rows:
        cells = []
        for key in ("ours", "minirocket"):
            acc = np.array([a for a, _ in results[key]])
            cells.append(f"{acc.mean():.3f} ± {acc.std():.3f}")
        times = [np.median([t for _, t in results[k]]) for k in ("ours", "minirocket")]
        print(
            f"{name:<18}{cells[0]:>15}{cells[1]:>15}{DTW[name]:>10.3f}"
            f"{times[0]:>9.1f}{times[1]:>10.1f}"
        )


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, 5 epochs")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's own)"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    seeds, epochs = ((0,), 5) if args.quick else ((0, 1, 2), None)
    warnings.simplefilter("ignore", category=FutureWarning)  # aeon's own notices
    print(f"torch threads: {torch.get_num_threads()}, seeds: {len(seeds)}")
    series_table(seeds, epochs)
    per_row_table(seeds, epochs)


if __name__ == "__main__":
    main()
