"""Speed, memory and accuracy of SignalAccumulativeClassifier against baselines.

Run ``python benchmarks/bench_estimator.py`` for the full size (a stream of
100 000 rows x 32 features, 4 classes; a few minutes on 2 cores) or
``python benchmarks/bench_estimator.py --quick`` for a small smoke run (10 000
rows, fewer repeats; under 30 s). ``--threads`` sets the torch and BLAS threads
(default 2). Every row of the table is measured in this one process (peak
memory in a child process), the estimator and its baseline interleaved, and
each time is the median of several repeats; the ratio is ours / baseline
(for throughput: ours / baseline rows per second), the median of the ratios
of runs made back to back, which drifts less with the machine's load.

The work: ``decay=0.9``, ``hidden_layer_sizes=(64, 64)``, ``dropout=0.1``,
``batch_size=128``, Adam with ``lr=1e-3``, 5 epochs, on a synthetic stream
whose label is a hidden regime that switches rarely under noisy observations,
so that the accumulated signal matters. The baselines:

* a hand-written PyTorch loop: the same bias-corrected ``[x, a]`` features
  (``scan_codes``), an ``nn.Sequential`` MLP of the same architecture,
  ``torch.optim.Adam`` (fused on CPU where supported), ``torch.randperm``
  shuffling and tensor slicing, ``CrossEntropyLoss``;
* ``sklearn.neural_network.MLPClassifier`` (no dropout, ``alpha=0``) on the
  same features, for the estimator with ``dropout=0``;
* river's ``StandardScaler() | OneVsRestClassifier(LogisticRegression())``
  with ``predict_many`` / ``learn_many`` on the same 100-row chunks, for the
  test-then-train stream.

The baselines' times include computing the features from the raw rows, as the
estimator does. The OpenMP and OpenBLAS settings are the environment's: on
an idle machine the default wait policy serves 2 threads well; on a shared one,
idle threads that spin (or sleep, with ``OMP_WAIT_POLICY=PASSIVE``) can
dominate small batches, for the baselines as much as for the estimator, so
compare runs made under the same settings (the header prints them).
Accuracies are measured on a held-out tail of the stream that follows the
training rows (the estimator continues its carried state there).
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import argparse
import gc
import json
import math
import os
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
from torch import nn

from sklearn_samlp import SignalAccumulativeClassifier
from sklearn_samlp._accumulate import bias_correction, scan_codes

N_FEATURES = 32
N_CLASSES = 4
DECAY = 0.9
HIDDEN = (64, 64)
DROPOUT = 0.1
LR = 1e-3
BATCH_SIZE = 128
EPOCHS = 5
CHUNK = 100

SIZES = {
    # rows of the timed stream, held-out tail, fit repeats, predict repeats,
    # 1-row predict calls, test-then-train rows, its repeats, rows of the
    # memory fit
    "full": {
        "rows": 100_000,
        "tail": 20_000,
        "fit_repeats": 5,
        "predict_repeats": 15,
        "one_row_calls": 200,
        "stream_rows": 20_000,
        "stream_repeats": 3,
        "memory_rows": 1_000_000,
    },
    "quick": {
        "rows": 10_000,
        "tail": 2_000,
        "fit_repeats": 3,
        "predict_repeats": 7,
        "one_row_calls": 50,
        "stream_rows": 3_000,
        "stream_repeats": 2,
        "memory_rows": 100_000,
    },
}


# ------------------------------------------------------------------- data


def make_stream(n_rows, random_state=0):
    """One stream of ``n_rows`` rows: float32 ``X`` and int64 regime labels."""
    try:
        from sklearn_samlp.datasets import make_regime_streams
    except ImportError:
        make_regime_streams = None
    if make_regime_streams is not None:
        X, y, _ = make_regime_streams(
            n_streams=1,
            n_steps=n_rows,
            n_features=N_FEATURES,
            n_classes=N_CLASSES,
            switch_prob=0.02,
            noise=1.5,
            random_state=random_state,
        )
        return X.astype(np.float32), y.astype(np.int64)
    # The same process, for checkouts without the generator: a hidden regime
    # that leaves with probability 0.02 per step, unit-norm regime means and
    # Gaussian noise of standard deviation 1.5.
    rng = np.random.default_rng(random_state)
    means = rng.standard_normal((N_CLASSES, N_FEATURES))
    means -= means.mean(axis=0)
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    switch = rng.random(n_rows) < 0.02
    shift = rng.integers(1, N_CLASSES, n_rows)
    y = np.empty(n_rows, dtype=np.int64)
    y[0] = rng.integers(N_CLASSES)
    for t in range(1, n_rows):
        y[t] = (y[t - 1] + shift[t]) % N_CLASSES if switch[t] else y[t - 1]
    X = means[y] + 1.5 * rng.standard_normal((n_rows, N_FEATURES))
    return X.astype(np.float32), y


def features(X, state=None, count=0):
    """Hand-written ``[x, a / (1 - d^n)]``: the estimator's bias-corrected features.

    Returns the features, the raw state after the last row and the row count.
    """
    states, final = scan_codes(X, DECAY, initial_states=state)
    seen = np.arange(count + 1, count + len(X) + 1)
    weight_sum = bias_correction(np.log(DECAY), seen)
    out = np.empty((len(X), 2 * X.shape[1]), dtype=np.float32)
    out[:, : X.shape[1]] = X
    np.divide(states, weight_sum[:, None], out=out[:, X.shape[1] :], casting="unsafe")
    return out, final, count + len(X)


# -------------------------------------------------------------- baselines


def make_adam(params, lr):
    """Adam, fused on the CPU where this torch supports it, else foreach."""
    params = list(params)
    try:
        optimizer = torch.optim.Adam(params, lr=lr, fused=True)
        return optimizer, "fused"
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, foreach=True), "foreach"


def mlp(n_inputs, n_classes, hidden, dropout):
    layers, width = [], n_inputs
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


class HandWritten:
    """The reference PyTorch loop: scan, MLP, Adam, randperm and slicing."""

    def __init__(self, dropout=DROPOUT, epochs=EPOCHS, seed=0):
        self.dropout, self.epochs, self.seed = dropout, epochs, seed

    def fit(self, X, y):
        torch.manual_seed(self.seed)
        F, self.state_, self.count_ = features(X)
        Xt, yt = torch.from_numpy(F), torch.from_numpy(y)
        self.model_ = mlp(F.shape[1], N_CLASSES, HIDDEN, self.dropout)
        optimizer, self.adam_ = make_adam(self.model_.parameters(), LR)
        loss_fn = nn.CrossEntropyLoss()
        self.model_.train()
        for _ in range(self.epochs):
            for idx in torch.randperm(len(Xt)).split(BATCH_SIZE):
                optimizer.zero_grad()
                loss = loss_fn(self.model_(Xt[idx]), yt[idx])
                loss.backward()
                optimizer.step()
        return self

    def predict(self, X):
        """Classes of ``X`` continuing the stream from the end of training."""
        F, _, _ = features(X, self.state_, self.count_)
        self.model_.eval()
        with torch.inference_mode():
            return self.model_(torch.from_numpy(F)).argmax(dim=1).numpy()


def sklearn_mlp(seed=0):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=HIDDEN,
        batch_size=BATCH_SIZE,
        max_iter=EPOCHS,
        learning_rate_init=LR,
        alpha=0.0,
        shuffle=True,
        tol=0.0,
        n_iter_no_change=EPOCHS + 1,
        random_state=seed,
    )


def fit_sklearn_mlp(X, y, seed=0):
    """MLPClassifier on the hand-written features of ``X`` (timed together)."""
    from sklearn.exceptions import ConvergenceWarning

    F, state, count = features(X)
    model = sklearn_mlp(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(F, y)
    return model, state, count


def ours(dropout=DROPOUT, epochs=EPOCHS, seed=0):
    return SignalAccumulativeClassifier(
        decay=DECAY,
        hidden_layer_sizes=HIDDEN,
        dropout=dropout,
        lr=LR,
        batch_size=BATCH_SIZE,
        max_epochs=epochs,
        shuffle=True,
        random_state=seed,
        n_threads=None,  # the process's setting (--threads), as the baselines
    )


# ----------------------------------------------------------------- timing


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def interleaved(fns, repeats):
    """Run each of ``fns`` ``repeats`` times, alternating, order reversed every
    other round; return ``{name: (times, results)}``."""
    out = {name: ([], []) for name in fns}
    names = list(fns)
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            gc.collect()
            t, result = timed(lambda name=name: fns[name](r))
            out[name][0].append(t)
            out[name][1].append(result)
    return out


def median(values):
    return float(np.median(values))


def paired_ratio(times, baseline_times):
    """Median over repeats of ours / baseline, each pair run back to back: the
    ratio drifts less with the load of the machine than the medians do."""
    return median(np.asarray(times) / np.asarray(baseline_times))


# --------------------------------------------------------------- measures


def bench_fit(X, y, X_tail, y_tail, repeats):
    """fit with dropout 0.1 vs the hand-written loop, dropout 0 vs MLPClassifier.

    Repeat ``r`` seeds every model with ``r``; the accuracies on the tail are
    returned per repeat.
    """

    def fit_ours(dropout):
        return lambda r: ours(dropout=dropout, seed=r).fit(X, y)

    runs = interleaved(
        {
            "ours": fit_ours(DROPOUT),
            "hand": lambda r: HandWritten(seed=r).fit(X, y),
            "ours0": fit_ours(0.0),
            "mlp": lambda r: fit_sklearn_mlp(X, y, seed=r),
        },
        repeats,
    )
    acc = {
        "ours": [est.score(X_tail, y_tail) for est in runs["ours"][1]],
        "hand": [np.mean(m.predict(X_tail) == y_tail) for m in runs["hand"][1]],
        "ours0": [est.score(X_tail, y_tail) for est in runs["ours0"][1]],
        "mlp": [
            np.mean(m.predict(features(X_tail, s, c)[0]) == y_tail)
            for m, s, c in runs["mlp"][1]
        ],
    }
    times = {name: median(t) for name, (t, _) in runs.items()}
    ratios = {
        "hand": paired_ratio(runs["ours"][0], runs["hand"][0]),
        "mlp": paired_ratio(runs["ours0"][0], runs["mlp"][0]),
    }
    models = {name: res[-1] for name, (_, res) in runs.items()}
    models["raw"] = {name: t for name, (t, _) in runs.items()}
    return times, ratios, acc, models


def bench_predict(clf, hand, X, repeats):
    runs = interleaved(
        {"ours": lambda r: clf.predict(X), "hand": lambda r: hand.predict(X)}, repeats
    )
    agree = np.mean(runs["ours"][1][-1] == runs["hand"][1][-1])
    ratio = paired_ratio(runs["ours"][0], runs["hand"][0])
    return median(runs["ours"][0]), median(runs["hand"][0]), ratio, agree


def bench_one_row(clf, mlp_model, x_row, f_row, calls):
    """Median seconds of one ``predict`` of one row; calls alternate."""
    for _ in range(10):  # warm up both paths
        clf.predict(x_row), mlp_model.predict(f_row)
    t_ours, t_mlp = [], []
    for _ in range(calls):
        t_ours.append(timed(lambda: clf.predict(x_row))[0])
        t_mlp.append(timed(lambda: mlp_model.predict(f_row))[0])
    return median(t_ours), median(t_mlp)


def bench_stream(X, y, repeats):
    """Test-then-train on chunks of ``CHUNK`` rows: rows/s and prequential accuracy.

    Each chunk is predicted (from the second on) and then learned from. river
    gets its chunks as pandas DataFrames / Series built before timing.
    """
    import pandas as pd
    from river import linear_model, multiclass, preprocessing

    classes = np.arange(N_CLASSES)
    starts = range(0, len(X), CHUNK)
    chunks = [(X[i : i + CHUNK], y[i : i + CHUNK]) for i in starts]
    columns = [f"x{j}" for j in range(X.shape[1])]
    frames = [
        (
            pd.DataFrame(Xc, columns=columns, index=range(i, i + len(Xc))),
            pd.Series(yc, index=range(i, i + len(Xc))),
        )
        for i, (Xc, yc) in zip(starts, chunks)
    ]

    def run_ours(r):
        clf, correct = ours(seed=r), 0
        for k, (Xc, yc) in enumerate(chunks):
            if k:
                correct += int(np.sum(clf.predict(Xc) == yc))
            clf.partial_fit(Xc, yc, classes=classes)
        return correct

    def run_river(r):
        model = preprocessing.StandardScaler() | multiclass.OneVsRestClassifier(
            linear_model.LogisticRegression()
        )
        correct = 0
        for k, (Xc, yc) in enumerate(frames):
            if k:
                predicted = model.predict_many(Xc).to_numpy()
                correct += int(np.sum(predicted == yc.to_numpy()))
            model.learn_many(Xc, yc)
        return correct

    runs = interleaved({"ours": run_ours, "river": run_river}, repeats)
    scored = len(X) - len(chunks[0][0])
    out = {
        name: (len(X) / median(t), median(res) / scored)
        for name, (t, res) in runs.items()
    }
    out["ratio"] = paired_ratio(runs["river"][0], runs["ours"][0])  # rows/s ratio
    return out


# ----------------------------------------------------------------- memory


def _rss():
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_child(n_rows, which, warm):
    """Run in a child: peak RSS increase of a 1-epoch fit over the RSS once the
    data exist (imports and X already counted in the base).

    Cold: the first fit of the process, lazy initialisations of torch
    included. Warm: after a fit on 2 000 rows, which leaves the part that grows
    with X. The peak is ``ru_maxrss`` (exact), which the big fit always sets.
    """

    def fit(X, y):
        if which == "ours":
            ours(epochs=1, seed=0).fit(X, y)
        else:
            HandWritten(epochs=1, seed=0).fit(X, y)

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_rows, N_FEATURES), dtype=np.float32)
    y = rng.integers(0, N_CLASSES, n_rows)
    if warm:
        fit(X[:2000], y[:2000])
    gc.collect()
    base = _rss()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    fit(X, y)
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "x_nbytes": X.nbytes,
                "increase": maxrss_after - base,
                "new_high": maxrss_after > maxrss_before,
            }
        )
    )


def bench_memory(n_rows, threads, which="ours"):
    """Cold and warm peak RSS increase of a 1-epoch fit, each in a fresh child."""
    out = {}
    for warm in (False, True):
        command = [
            sys.executable,
            os.path.abspath(__file__),
            "--memory-child",
            which,
            "--memory-rows",
            str(n_rows),
            "--threads",
            str(threads),
        ]
        run = subprocess.run(
            command + ["--memory-warm"] * warm,
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(run.stdout.strip().splitlines()[-1])
        out["x_nbytes"] = result["x_nbytes"]
        out["warm" if warm else "cold"] = result["increase"]
    return out


# ------------------------------------------------------------------ table


def report(rows):
    header = ("measure", "ours", "baseline", "ratio", "target", "")
    lines = [header] + [
        (name, a, b, f"{ratio:.2f}x", target, "PASS" if ok else "MISS")
        for name, a, b, ratio, target, ok in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for k, line in enumerate(lines):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    print("\n".join(out))


def ms(seconds):
    return f"{1e3 * seconds:.1f} ms"


def us(seconds):
    return f"{1e6 * seconds:.0f} us"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small, fast run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--memory-child", choices=["ours", "hand"], help=argparse.SUPPRESS
    )
    parser.add_argument("--memory-rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--memory-warm", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    if args.memory_child:
        memory_child(args.memory_rows, args.memory_child, args.memory_warm)
        return
    size = SIZES["quick" if args.quick else "full"]
    n, n_tail = size["rows"], size["tail"]
    X_all, y_all = make_stream(n + n_tail, random_state=0)
    X, y, X_tail, y_tail = X_all[:n], y_all[:n], X_all[n:], y_all[n:]
    print(
        f"{n} training rows + {n_tail} held-out tail rows, {N_FEATURES} features, "
        f"{N_CLASSES} classes; torch {torch.__version__}, {args.threads} threads, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, "
        f"OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT')}; "
        f"decay={DECAY}, hidden={HIDDEN}, batch_size={BATCH_SIZE}, lr={LR}, "
        f"{EPOCHS} epochs"
    )

    # The hand-written features are the estimator's features.
    from sklearn_samlp._streams import StreamStates

    F_check, _ = StreamStates((DECAY,), N_FEATURES).features(X[:5000])
    np.testing.assert_allclose(features(X[:5000])[0], F_check, rtol=1e-5, atol=1e-6)

    # Warm up every path once (first-call costs of torch, skorch and sklearn).
    w = slice(0, 2000)
    ours(epochs=1).fit(X[w], y[w]).predict(X[w])
    HandWritten(epochs=1).fit(X[w], y[w]).predict(X[w])
    fit_sklearn_mlp(X[w], y[w])

    rows = []
    t, ratios, acc, models = bench_fit(X, y, X_tail, y_tail, size["fit_repeats"])
    r = ratios["hand"]
    rows.append(
        (
            f"fit, dropout={DROPOUT}",
            ms(t["ours"]),
            ms(t["hand"]) + " (torch loop)",
            r,
            "<= 1.25x",
            r <= 1.25,
        )
    )
    r = ratios["mlp"]
    rows.append(
        (
            "fit, dropout=0",
            ms(t["ours0"]),
            ms(t["mlp"]) + " (MLPClassifier)",
            r,
            "<= 1.10x (aim 1.0x)",
            r <= 1.10,
        )
    )

    clf, hand = models["ours"], models["hand"]
    t_ours, t_hand, r, agree = bench_predict(clf, hand, X, size["predict_repeats"])
    rows.append(
        (
            f"predict, {n} rows",
            ms(t_ours),
            ms(t_hand) + " (scan + torch)",
            r,
            "<= 1.50x",
            r <= 1.5,
        )
    )

    stream = bench_stream(
        X[: size["stream_rows"]], y[: size["stream_rows"]], size["stream_repeats"]
    )
    r = stream["ratio"]
    rows.append(
        (
            f"test-then-train, {CHUNK}-row chunks",
            f"{stream['ours'][0]:,.0f} rows/s",
            f"{stream['river'][0]:,.0f} rows/s (river)",
            r,
            ">= 2.00x",
            r >= 2.0,
        )
    )

    mlp_model, mlp_state, mlp_count = models["mlp"]
    f_row = features(X_tail[:1], mlp_state, mlp_count)[0]
    t_ours, t_mlp = bench_one_row(
        models["ours0"], mlp_model, X_tail[:1], f_row, size["one_row_calls"]
    )
    r = t_ours / t_mlp
    rows.append(
        (
            "predict, 1 row",
            us(t_ours),
            us(t_mlp) + " (MLPClassifier)",
            r,
            "<= 1.50x (aim 1.0x)",
            r <= 1.5,
        )
    )

    mem = bench_memory(size["memory_rows"], args.threads)
    r = mem["cold"] / mem["x_nbytes"]
    rows.append(
        (
            f"peak RSS of fit, {size['memory_rows']:,} x {N_FEATURES}",
            f"{mem['cold'] / 2**20:.0f} MiB",
            f"{mem['x_nbytes'] / 2**20:.0f} MiB (X, float32)",
            r,
            "<= 4.00x",
            r <= 4,
        )
    )

    a_ours, a_hand = median(acc["ours"]), median(acc["hand"])
    # Two standard errors of the difference of two accuracies on the tail.
    tol = 2 * math.sqrt(2 * a_hand * (1 - a_hand) / n_tail)
    rows.append(
        (
            "accuracy, held-out tail",
            f"{a_ours:.4f}",
            f"{a_hand:.4f} (torch loop)",
            a_ours / a_hand,
            f">= baseline - {tol:.4f}",
            a_ours >= a_hand - tol,
        )
    )

    print()
    report(rows)
    print()
    mem_hand = bench_memory(size["memory_rows"], args.threads, which="hand")
    fmt = lambda v: " ".join(f"{a:.4f}" for a in v)  # noqa: E731
    print(
        "Notes:\n"
        f"  times: medians; ratios: medians of the ratios of back-to-back runs (1 row:"
        f" of the medians).\n"
        f"  fit: {size['fit_repeats']} interleaved repeats (seed r in repeat r),"
        f" baselines' times include the feature scan; hand-written Adam:"
        f" {hand.adam_}.\n"
        f"  fit seconds per repeat: ours {fmt(models['raw']['ours'])}; torch loop"
        f" {fmt(models['raw']['hand'])};\n    dropout=0: ours"
        f" {fmt(models['raw']['ours0'])}; MLPClassifier {fmt(models['raw']['mlp'])}.\n"
        f"  tail accuracy per repeat: ours {fmt(acc['ours'])}; torch loop"
        f" {fmt(acc['hand'])};\n"
        f"    dropout=0: ours {fmt(acc['ours0'])}; MLPClassifier {fmt(acc['mlp'])}.\n"
        f"  predict: {size['predict_repeats']} repeats; ours and the torch loop (same"
        f" seed) agree on {agree:.1%} of the rows.\n"
        f"  test-then-train: first {size['stream_rows']} rows, {size['stream_repeats']}"
        f" repeats; prequential accuracy ours {stream['ours'][1]:.4f}, river"
        f" {stream['river'][1]:.4f}.\n"
        f"  predict 1 row: median of {size['one_row_calls']} calls each, estimator"
        f" with dropout=0 vs the MLPClassifier above.\n"
        f"  peak RSS: ru_maxrss of a fresh child process over its RSS once X exists,"
        f" first fit, one epoch\n    (the peak is in building the features, before"
        f" the first batch). After a 2 000-row warm-up fit: ours"
        f" {mem['warm'] / mem['x_nbytes']:.2f}x X;\n    the hand-written loop:"
        f" {mem_hand['cold'] / mem_hand['x_nbytes']:.2f}x X cold,"
        f" {mem_hand['warm'] / mem_hand['x_nbytes']:.2f}x X warm."
    )


if __name__ == "__main__":
    main()
