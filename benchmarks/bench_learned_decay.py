"""Learned decays against the best cross-validated fixed decay, on three data sets.

Run ``python benchmarks/bench_learned_decay.py`` for the full benchmark (five
seeds, about three minutes on one core) or ``python
benchmarks/bench_learned_decay.py --quick`` for a smoke run (one seed, three
epochs, well under a minute). ``--threads`` sets torch's threads (default 1:
on a small, shared machine more threads than free cores make these small
networks many times slower, and timings unstable). ``--seeds`` and
``--epochs`` override the defaults; ``--start`` and ``--window`` change the
start decay and the window of (c) only, to try other settings.

On the two bundled real data sets (Japanese Vowels, BasicMotions) and on
``make_regime_streams``, each seed draws a series-aware split (30 % of the
series held out, :func:`~sklearn_samlp.datasets.train_test_split_streams`)
and compares three models with otherwise identical parameters (the
estimator's defaults, ``max_epochs=10``, ``random_state`` = the seed):

(a) ``decay=0``: the memoryless MLP;
(b) the best fixed decay of the grid ``GRID``, chosen by ``GridSearchCV``
    with ``GroupKFold(3)`` over the training series (series ids routed to
    ``fit`` and ``score`` by metadata routing), refit on all training series;
(c) ``learn_decay=True`` from one default start: the estimator's default
    ``decay=0.9`` (and its default ``window=64``), no search. One fit.

For every model the table gives the test accuracy (mean and standard
deviation over the seeds), the median fit time, the median over seeds of the
ratio of its fit time to the single refit of (b) in the same seed (timed side
by side in this process), and a summary (min / median / max) of ``decays_``.
The grid search's total time is printed too.

The target: (c) at least matches (b) on every data set, beats it on at least
one, at no more than 3x the time of a single fixed-decay fit. "Matches" and
"beats" are judged against the seed spread: with ``diff`` the mean over seeds
of the paired difference acc(c) - acc(b) and ``tol`` the pooled standard
deviation of the two accuracies over seeds, (c) matches when
``diff >= -tol`` and beats when ``diff > tol``. The time clause holds when the
median ratio of (c) is at most 3 on every data set. A PASS / MISS line is
printed for each clause. The standard deviation of the paired difference is
printed too: the synthetic data are drawn anew for each seed, so there the
pooled spread includes the spread of the data.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import argparse
import time
import warnings

import numpy as np
import sklearn
import torch
from sklearn.model_selection import GridSearchCV, GroupKFold

from sklearn_samlp import SignalAccumulativeClassifier
from sklearn_samlp.datasets import (
    load_basic_motions,
    load_japanese_vowels,
    make_regime_streams,
    train_test_split_streams,
)

GRID = (0.3, 0.6, 0.8, 0.9, 0.95, 0.98)
DEFAULT_START = 0.9  # the estimator's default decay
TIME_RATIO_TARGET = 3.0
MODELS = ("(a) decay=0", "(b) best fixed (CV)", "(c) learned")


def load(name, seed):
    """``X, y, stream_ids`` of a data set; the synthetic one is drawn per seed."""
    if name == "regime_streams":
        return make_regime_streams(random_state=seed)
    bunch = {
        "japanese_vowels": load_japanese_vowels,
        "basic_motions": load_basic_motions,
    }[name]()
    return bunch.data, bunch.target, bunch.stream_ids


def timed_fit(clf, X, y, ids):
    start = time.perf_counter()
    clf.fit(X, y, stream_ids=ids)
    return clf, time.perf_counter() - start


def run_seed(X, y, ids, seed, params, learned_params=None, grid=GRID):
    """Fit (a), (b), (c) on one series-aware split; a dict of results per model.

    ``params`` are shared by all three models; ``learned_params`` (default
    ``{"decay": DEFAULT_START}``) are added for (c) only.
    """
    X_tr, X_te, y_tr, y_te, ids_tr, ids_te = train_test_split_streams(
        X, y, ids, test_size=0.3, random_state=seed
    )
    base = dict(params, random_state=seed)
    out = {}

    clf, t = timed_fit(
        SignalAccumulativeClassifier(decay=0.0, **base), X_tr, y_tr, ids_tr
    )
    out[MODELS[0]] = {
        "acc": clf.score(X_te, y_te, stream_ids=ids_te),
        "time": t,
        "decays": clf.decays_,
    }

    with sklearn.config_context(enable_metadata_routing=True):
        clf = SignalAccumulativeClassifier(**base)
        clf.set_fit_request(stream_ids=True).set_score_request(stream_ids=True)
        search = GridSearchCV(clf, {"decay": list(grid)}, cv=GroupKFold(3))
        start = time.perf_counter()
        search.fit(X_tr, y_tr, stream_ids=ids_tr, groups=ids_tr)
        search_time = time.perf_counter() - start
        acc = search.score(X_te, y_te, stream_ids=ids_te)
    out[MODELS[1]] = {
        "acc": acc,
        "time": search.refit_time_,
        "search_time": search_time,
        "decays": search.best_estimator_.decays_,
        "best": search.best_params_["decay"],
    }

    learned = dict(
        base, learn_decay=True, **{"decay": DEFAULT_START, **(learned_params or {})}
    )
    clf, t = timed_fit(SignalAccumulativeClassifier(**learned), X_tr, y_tr, ids_tr)
    out[MODELS[2]] = {
        "acc": clf.score(X_te, y_te, stream_ids=ids_te),
        "time": t,
        "decays": clf.decays_,
    }
    for res in out.values():
        res["ratio"] = res["time"] / out[MODELS[1]]["time"]
    return out


def warm_up():
    """One tiny fit of each kind, so that no timed fit pays torch's first-call costs."""
    X, y, ids = make_regime_streams(n_streams=4, n_steps=50, random_state=0)
    for learn in (False, True):
        SignalAccumulativeClassifier(
            max_epochs=1, learn_decay=learn, random_state=0
        ).fit(X, y, stream_ids=ids)


def run_dataset(name, seeds, params, learned_params=None, log=print):
    """Results of every seed, ``{model: [result per seed]}``."""
    results = {model: [] for model in MODELS}
    for seed in seeds:
        X, y, ids = load(name, seed)
        out = run_seed(X, y, ids, seed, params, learned_params)
        for model, res in out.items():
            results[model].append(res)
        b, c = out[MODELS[1]], out[MODELS[2]]
        log(
            f"  {name} seed {seed}: acc a/b/c = {out[MODELS[0]]['acc']:.3f} / "
            f"{b['acc']:.3f} (decay {b['best']}) / {c['acc']:.3f}; "
            f"fit s b {b['time']:.2f} c {c['time']:.2f} (x{c['ratio']:.2f}); "
            f"search {b['search_time']:.1f} s",
            flush=True,
        )
    return results


def decay_summary(results):
    d = np.concatenate([np.ravel(r["decays"]) for r in results])
    if np.ptp(d) == 0:
        return f"{d[0]:g}"
    return f"{d.min():.3f} / {np.median(d):.3f} / {d.max():.3f}"


def verdict(all_results):
    """Per data set: diff, tol, matches, beats, time ratio of (c)."""
    rows = {}
    for name, results in all_results.items():
        acc_b = np.array([r["acc"] for r in results[MODELS[1]]])
        acc_c = np.array([r["acc"] for r in results[MODELS[2]]])
        diff = float(np.mean(acc_c - acc_b))
        tol = float(np.sqrt((acc_b.std() ** 2 + acc_c.std() ** 2) / 2))
        ratio = float(np.median([r["ratio"] for r in results[MODELS[2]]]))
        rows[name] = {
            "diff": diff,
            "diff_std": float(np.std(acc_c - acc_b)),
            "tol": tol,
            "matches": diff >= -tol,
            "beats": diff > tol,
            "ratio": ratio,
        }
    return rows


def report(all_results, params, seeds, learned_params):
    print()
    print(
        f"shared parameters: {params}; seeds {list(seeds)}; grid {GRID}; "
        f"(c): learn_decay=True, {learned_params}"
    )
    header = (
        f"{'dataset':<16} {'model':<20} {'accuracy':>15} {'fit s':>7} "
        f"{'x fixed':>7}  decays (min / median / max)"
    )
    print(header)
    print("-" * len(header))
    for name, results in all_results.items():
        for model in MODELS:
            res = results[model]
            acc = np.array([r["acc"] for r in res])
            t = np.median([r["time"] for r in res])
            ratio = np.median([r["ratio"] for r in res])
            summary = decay_summary(res)
            if model == MODELS[1]:
                summary += " (chosen: " + ", ".join(f"{r['best']:g}" for r in res) + ")"
            print(
                f"{name:<16} {model:<20} {acc.mean():>7.3f} ± {acc.std():.3f} "
                f"{t:>7.2f} {ratio:>7.2f}  {summary}"
            )
        search = np.median([r["search_time"] for r in results[MODELS[1]]])
        print(
            f"{name:<16} {'  grid search, total':<20} {'':>15} {search:>7.2f} "
            f"{search / np.median([r['time'] for r in results[MODELS[1]]]):>7.2f}"
        )
    rows = verdict(all_results)
    print()
    for name, r in rows.items():
        print(
            f"{name}: acc(c) - acc(b) = {r['diff']:+.4f} "
            f"(paired std {r['diff_std']:.4f}; seed spread tol {r['tol']:.4f}), "
            f"fit time (c) / (b) = {r['ratio']:.2f}"
        )
    matches = [n for n, r in rows.items() if not r["matches"]]
    beats = [n for n, r in rows.items() if r["beats"]]
    slow = [n for n, r in rows.items() if r["ratio"] > TIME_RATIO_TARGET]
    print(
        "PASS" if not matches else "MISS",
        "(c) at least matches (b) on every data set"
        + (f": falls short on {', '.join(matches)}" if matches else ""),
    )
    print(
        "PASS" if beats else "MISS",
        "(c) beats (b) on at least one data set"
        + (f": {', '.join(beats)}" if beats else ": on none"),
    )
    print(
        "PASS" if not slow else "MISS",
        f"(c) fits in <= {TIME_RATIO_TARGET:g}x a single fixed-decay fit"
        + (f": slower on {', '.join(slow)}" if slow else ""),
    )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, three epochs")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds")
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="max_epochs of all models (default 10, quick 3)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument(
        "--start", type=float, default=DEFAULT_START, help="start decay of (c)"
    )
    parser.add_argument(
        "--window", type=int, default=None, help="window of (c) (default: 64)"
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=["japanese_vowels", "basic_motions", "regime_streams"],
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning, module="skorch")

    n_seeds = args.seeds or (1 if args.quick else 5)
    epochs = args.epochs or (3 if args.quick else 10)
    seeds = range(n_seeds)
    params = {"max_epochs": epochs}
    learned_params = {"decay": args.start}
    if args.window is not None:
        learned_params["window"] = args.window
    warm_up()
    start = time.perf_counter()
    all_results = {
        name: run_dataset(name, seeds, params, learned_params) for name in args.datasets
    }
    report(all_results, params, seeds, learned_params)
    print(
        f"\ntotal time {time.perf_counter() - start:.0f} s "
        f"(torch threads: {torch.get_num_threads()})"
    )


if __name__ == "__main__":
    main()
