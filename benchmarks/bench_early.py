"""Early classification: ours against aeon's TEASER and probability-threshold rule.

On the archives' official splits of the four bundled sets, in one process:
accuracy, earliness (mean fraction of a series read when it is decided),
their harmonic mean (HM), fit and predict time, for

- ``SignalAccumulativeEarlyClassifier`` (its defaults; mean ± sd over seeds),
- aeon's ``TEASER`` and ``ProbabilityThresholdEarlyClassifier`` (their
  defaults: WEASEL / MUSE and DrCIF), one seed,

all at the same decision points: aeon's default ``classification_points``
(``round(T / i)``, ``i = 1..20``, at least 8 rows). aeon's early classifiers
take equal-length series only: JapaneseVowels' series are padded at the end
with their last row for them (and their earliness is then a fraction of the
padded length); ours read the series as they are. Then the calibration of
our probabilities on prefixes: expected calibration error (10 bins of the
top probability) after 10%, 20%, ... 100% of each test series, of a series
model with a prefix head at each of those rows, the cost of one
``update`` per row and stream, early and late in the streams, and a plot
of accuracy against the fraction of the series read
(``docs/images/early_accuracy.png``). Ours is also run with its default
decision rows (20, evenly spread), since aeon's points start late on short
series (JapaneseVowels: rows 10, 14 and 29 of series of median length 15).

Run with the benchmark extra installed (``pip install -e ".[benchmark]"``)::

    python benchmarks/bench_early.py [--seeds 3] [--threads 1] [--no-aeon]
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import argparse
import copy
import os
import platform
import time
import warnings

import numpy as np
import torch
from bench_series import LOADERS, official_split

from sklearn_samlp import (
    SignalAccumulativeEarlyClassifier,
    SignalAccumulativeSeriesClassifier,
    rows_to_series,
)

FRACTIONS = np.linspace(0.1, 1.0, 10)
IMAGE = os.path.join(os.path.dirname(__file__), "..", "docs", "images")


def decision_points(length):
    """aeon's default classification points for series of ``length`` rows."""
    points = sorted({round(length / i) for i in range(1, 21)})
    return [p for p in points if p >= 8] or [length]


def end_padded(series, length):
    """A 3-D array of series padded at the end with their last row."""
    out = np.empty((len(series), series[0].shape[0], length), dtype=np.float64)
    for k, s in enumerate(series):
        out[k, :, : s.shape[1]] = s
        out[k, :, s.shape[1] :] = s[:, -1:]
    return out


def calibration_error(proba, y, classes, n_bins=10):
    """Expected calibration error of the top probability."""
    confidence = proba.max(axis=1)
    correct = classes[proba.argmax(axis=1)] == y
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    error = 0.0
    for b in np.unique(bins):
        inside = bins == b
        error += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return error


def ours(train, test, points, seed):
    (S_train, y_train), (S_test, y_test) = train, test
    start = time.perf_counter()
    clf = SignalAccumulativeEarlyClassifier(decision_rows=points, random_state=seed)
    clf.fit(S_train, y_train)
    fitted = time.perf_counter()
    scores = clf.early_score(S_test, y_test)
    done = time.perf_counter()
    return clf, scores, fitted - start, done - fitted


def aeon_rows(name, train, test, points, seed, anchors):
    from aeon.classification.early_classification import (
        TEASER,
        ProbabilityThresholdEarlyClassifier,
    )

    (S_train, y_train), (S_test, y_test) = train, test
    length = max(s.shape[1] for s in (*S_train, *S_test))
    X_train, X_test = end_padded(S_train, length), end_padded(S_test, length)
    points = decision_points(length)
    rows = []
    models = {
        "teaser": TEASER(classification_points=points, random_state=seed),
        "threshold": ProbabilityThresholdEarlyClassifier(
            classification_points=points, random_state=seed
        ),
    }
    for model in (models[a] for a in anchors):
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fitted = time.perf_counter()
        hm, accuracy, earliness = model.score(X_test, y_test)  # aeon's order
        done = time.perf_counter()
        print(
            f"  {name}: {type(model).__name__} HM {hm:.3f} in {done - start:.0f} s",
            flush=True,
        )
        used = model._classification_points  # what it kept of ``points``
        curve = []
        for f in FRACTIONS:
            k = _point_index(used, f * length)
            predicted = model.estimators_[k].predict(X_test[:, :, : used[k]])
            curve.append(np.mean(predicted == y_test))
        rows.append(
            (
                type(model).__name__,
                accuracy,
                earliness,
                hm,
                fitted - start,
                done - fitted,
                curve,
            )
        )
    return rows


def _point_index(points, row):
    """The last decision point at or before ``row`` (the first one before)."""
    return max(0, int(np.searchsorted(points, row, side="right")) - 1)


def prefix_curve(train, test, seed):
    """Accuracy and calibration error after each tenth of the test series.

    Of a series model with a prefix head at each tenth of the longest
    training series (``prefix_rows=10``), read at those rows.
    """
    (S_train, y_train), (S_test, y_test) = train, test
    clf = SignalAccumulativeSeriesClassifier(
        prefix_rows=len(FRACTIONS), random_state=seed
    )
    clf.fit(S_train, y_train)
    rows = np.r_[clf.prefix_rows_, max(s.shape[1] for s in (*S_train, *S_test))]
    proba = clf.predict_proba_at(S_test, rows=np.unique(rows))
    accuracy = [np.mean(clf.classes_[p.argmax(1)] == y_test) for p in proba]
    ece = [calibration_error(p, y_test, clf.classes_) for p in proba]
    return accuracy, ece


def update_cost(clf, S_test):
    """µs per row per stream of ``update``, one row of every stream a call.

    Over the first and the last fifth of the rows (the rule is switched
    off, so that no stream closes): the cost must not grow with the rows
    read.
    """
    live = copy.deepcopy(clf)
    live.threshold_ = 2.0  # never sure: every stream stays open to the end
    length = min(s.shape[1] for s in S_test)
    ids = np.arange(len(S_test))
    spent = []
    for t in range(length - 1):  # the last row would close the streams
        rows = np.stack([s[:, t] for s in S_test])
        start = time.perf_counter()
        live.update(rows, ids)
        spent.append(time.perf_counter() - start)
    fifth = max(1, len(spent) // 5)
    per_row = 1e6 / len(S_test)
    return per_row * np.mean(spent[:fifth]), per_row * np.mean(spent[-fifth:])


def _ours_row(name, label, train, test, points, n_seeds):
    results = [ours(train, test, points, seed) for seed in range(n_seeds)]
    scores = np.array([list(r[1].values()) for r in results])
    mean, sd = scores.mean(0), scores.std(0)
    fit_s = np.mean([r[2] for r in results])
    predict_s = np.mean([r[3] for r in results])
    return (
        f"| {name} | ours, {label} ({n_seeds} seeds) | {mean[0]:.3f} ± {sd[0]:.3f} "
        f"| {mean[1]:.3f} ± {sd[1]:.3f} | {mean[2]:.3f} ± {sd[2]:.3f} "
        f"| {fit_s:.1f} | {predict_s:.1f} |"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-aeon", action="store_true")
    parser.add_argument("--no-ours", action="store_true", help="aeon's only")
    parser.add_argument(
        "--anchors", nargs="*", default=["teaser", "threshold"], help="aeon's models"
    )
    parser.add_argument("--sets", nargs="*", default=list(LOADERS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {args.threads} thread(s)\n"
    )
    warm = np.random.default_rng(0).normal(size=(8, 1, 30))  # numba's first calls
    SignalAccumulativeEarlyClassifier(random_state=0).fit(warm, np.arange(8) % 2)
    header = "| set | model | accuracy | earliness | HM | fit s | predict s |"
    table = [header, "|---|---|---|---|---|---|---|"]
    curves, calibration = {}, []
    for name in args.sets:
        (X_tr, y_tr, ids_tr), (X_te, y_te, ids_te) = official_split(LOADERS[name])
        train = rows_to_series(X_tr, ids_tr, y_tr)
        test = rows_to_series(X_te, ids_te, y_te)
        length = max(s.shape[1] for s in (*train[0], *test[0]))
        points = decision_points(length)
        if not args.no_ours:
            for rows, label in ((points, "aeon's points"), (20, "default rows")):
                table.append(_ours_row(name, label, train, test, rows, args.seeds))
            accuracy, ece = prefix_curve(train, test, 0)
            curves[name] = {"ours": accuracy}
            clf = SignalAccumulativeEarlyClassifier(
                decision_rows=points, random_state=0
            )
            clf.fit(*train)
            calibration.append((name, ece, clf.score(*test), update_cost(clf, test[0])))
        if not args.no_aeon:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                for model, acc, earl, hm, fit_t, pred_t, curve in aeon_rows(
                    name, train, test, points, 0, args.anchors
                ):
                    table.append(
                        f"| {name} | {model} | {acc:.3f} | {earl:.3f} | {hm:.3f} "
                        f"| {fit_t:.1f} | {pred_t:.1f} |"
                    )
                    curves.setdefault(name, {})[model] = curve
        print(table[-1], flush=True)
    print("\n" + "\n".join(table))
    print(
        "\nCalibration of ours on prefixes (seed 0): expected calibration error "
        "after each fraction of the test series; full-length accuracy; cost of "
        "update, µs per row per stream, one row of every test stream a call\n"
    )
    print(
        "| set | "
        + " | ".join(f"{f:.0%}" for f in FRACTIONS)
        + " | full acc | update µs/row, first fifth | last fifth |"
    )
    print("|---|" + "---|" * (len(FRACTIONS) + 3))
    for name, ece, full, (first, last) in calibration:
        cells = " | ".join(f"{e:.3f}" for e in ece)
        print(f"| {name} | {cells} | {full:.3f} | {first:.0f} | {last:.0f} |")
    if not args.no_ours:
        _plot(curves)


def _plot(curves):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(4 * len(curves), 3.2))
    for ax, (name, models) in zip(np.atleast_1d(axes), curves.items()):
        for model, accuracy in models.items():
            ax.plot(FRACTIONS[: len(accuracy)], accuracy, marker="o", label=model)
        ax.set_title(name)
        ax.set_xlabel("fraction of the series read")
        ax.set_ylim(0, 1.02)
    np.atleast_1d(axes)[0].set_ylabel("test accuracy")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(IMAGE, exist_ok=True)
    path = os.path.join(IMAGE, "early_accuracy.png")
    fig.savefig(path, dpi=100)
    print(f"\nplot: {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
