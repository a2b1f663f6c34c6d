"""Online learning on live streams: prequential accuracy and rows/s against river.

Run ``python benchmarks/bench_online.py [--quick] [--plot PATH] [--data DIR]``
(about ten minutes on one busy core; ``--quick`` takes the first 3,000 rows of
every stream, about a minute). Every learner sees the RAW rows, in stream
order, and predicts each row before it learns it (prequential, or
test-then-train, evaluation):

* ours: ``SignalAccumulativeClassifier(random_state=0)`` with its defaults,
  through :func:`sklearn_samlp.prequential_score` with chunks of 1, 10 and
  100 rows (each chunk predicted, then learned with one ``partial_fit``);
* river, row by row (``predict_one`` then ``learn_one``): ``ARFClassifier``,
  ``HoeffdingAdaptiveTreeClassifier`` and
  ``StandardScaler() | OneVsRestClassifier(LogisticRegression())``, each with
  ``seed=0`` where it has one.

Accuracy is over the predicted rows: ours does not predict its first chunk
(there is no model yet), and a river model that answers None (before its
first row) is skipped, as ``river.evaluate.progressive_val_score`` does.
rows/s is the whole test-then-train loop, data conversion done before timing.
The streams are ``weather_rainfall`` and ``electric_devices_segments`` from
``--data`` (default ``../shared/data`` beside the repository; see its README)
and ``make_regime_streams(n_streams=10, n_steps=1000, random_state=0)``, time
major, whose ``stream_ids`` ours is given (river has no notion of streams and
sees the same rows in the same order).

The plot (``--plot``, default ``<tempdir>/bench_online.png``) shows the
accuracy over the stream, a moving average of 500 predicted rows, for every
stream and learner.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from sklearn_samlp import SignalAccumulativeClassifier, prequential_score
from sklearn_samlp.datasets import make_regime_streams

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CHUNKS = (1, 10, 100)
WINDOW = 500  # rows of the moving average in the plot
QUICK_ROWS = 3000


def load_streams(data_dir, n_rows=None):
    """``{name: (X, y, stream_ids or None)}``; rows truncated to ``n_rows``."""
    streams = {}
    for name in ("weather_rainfall", "electric_devices_segments"):
        path = Path(data_dir) / f"{name}.npz"
        if not path.exists():
            print(f"skipping {name}: {path} not found")
            continue
        with np.load(path, allow_pickle=False) as d:
            streams[name] = (d["X"], d["y"], None)
    X, y, ids = make_regime_streams(n_streams=10, n_steps=1000, random_state=0)
    order = np.arange(len(y)).reshape(10, 1000).T.ravel()  # time major
    streams["make_regime_streams"] = (X[order], y[order], ids[order])
    if n_rows is not None:
        streams = {
            k: tuple(None if a is None else a[:n_rows] for a in v)
            for k, v in streams.items()
        }
    return streams


def run_ours(X, y, ids, chunk):
    """Prequential correctness per row (NaN where not predicted) and seconds."""
    clf = SignalAccumulativeClassifier(random_state=0)
    start = time.perf_counter()
    result = prequential_score(clf, X, y, ids, chunk_size=chunk)
    seconds = time.perf_counter() - start
    correct = np.where(result.predicted, result.y_pred == y, np.nan)
    return correct, seconds


def river_learners():
    from river import forest, linear_model, multiclass, preprocessing, tree

    return {
        "river ARF": lambda: forest.ARFClassifier(seed=0),
        "river HAT": lambda: tree.HoeffdingAdaptiveTreeClassifier(seed=0),
        "river LR": lambda: (
            preprocessing.StandardScaler()
            | multiclass.OneVsRestClassifier(linear_model.LogisticRegression())
        ),
    }


def run_river(make, X, y):
    """river row by row: predict_one, then learn_one."""
    rows = [dict(enumerate(map(float, x))) for x in X]
    labels = y.tolist()
    model = make()
    correct = np.full(len(y), np.nan)
    start = time.perf_counter()
    for i, (x, label) in enumerate(zip(rows, labels)):
        pred = model.predict_one(x)
        if pred is not None:
            correct[i] = pred == label
        model.learn_one(x, label)
    return correct, time.perf_counter() - start


def moving_accuracy(correct, window=WINDOW):
    """Moving mean of the predicted rows; x is the row index."""
    rows = np.flatnonzero(~np.isnan(correct))
    values = correct[rows]
    if len(values) < window:
        return rows, np.cumsum(values) / np.arange(1, len(values) + 1)
    kernel = np.ones(window) / window
    return rows[window - 1 :], np.convolve(values, kernel, mode="valid")


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 3.2 * len(names)))
    for ax, name in zip(np.atleast_1d(axes), names):
        for learner, (correct, _) in results[name].items():
            x, acc = moving_accuracy(correct)
            ax.plot(x, acc, label=learner, lw=1.2 if "ours" in learner else 0.9)
        ax.set_title(f"{name}: prequential accuracy, moving mean of {WINDOW} rows")
        ax.set_xlabel("row")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7, loc="lower right", ncol=2)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first 3,000 rows")
    parser.add_argument("--data", default=str(DATA), help="folder of the .npz files")
    parser.add_argument(
        "--plot",
        default=str(Path(tempfile.gettempdir()) / "bench_online.png"),
        help="PNG file of the accuracy over the stream",
    )
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    streams = load_streams(args.data, QUICK_ROWS if args.quick else None)
    results = {}
    for name, (X, y, ids) in streams.items():
        print(f"{name}: {X.shape[0]} rows x {X.shape[1]} features", flush=True)
        res = {}
        for chunk in CHUNKS:
            res[f"ours, chunks of {chunk}"] = run_ours(X, y, ids, chunk)
        for learner, make in river_learners().items():
            res[learner] = run_river(make, X, y)
        results[name] = res

    header = f"{'stream':<28} {'learner':<20} {'accuracy':>8} {'rows/s':>9} {'x LR':>6}"
    print("\n" + header + "\n" + "-" * len(header))
    for name, res in results.items():
        n = len(streams[name][1])
        lr_speed = n / res["river LR"][1]
        for learner, (correct, seconds) in res.items():
            speed = n / seconds
            print(
                f"{name:<28} {learner:<20} {np.nanmean(correct):>8.4f} "
                f"{speed:>9,.0f} {speed / lr_speed:>5.2f}x"
            )
    print(
        f"\ntorch {torch.__version__}, {args.threads} torch thread(s); accuracy over"
        " predicted rows; x LR: rows/s relative to river LR on the same stream."
    )
    plot(results, args.plot)
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
