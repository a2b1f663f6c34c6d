"""Command line demo: tune, train, compare and save a Signal Accumulative MLP.

``python -m sklearn_samlp`` (or the ``samlp`` script) runs the whole workflow
on a bundled data set or on a CSV file; ``--help`` lists the options.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import argparse
import csv
import math
import os
import sys
import time

import numpy as np
import sklearn
import torch
from sklearn.model_selection import GridSearchCV, GroupKFold, GroupShuffleSplit
from skorch.callbacks import ProgressBar

from ._classifier import SignalAccumulativeClassifier
from .datasets import load_basic_motions, load_japanese_vowels

PROG = "samlp"
DATASETS = {
    "japanese_vowels": load_japanese_vowels,
    "basic_motions": load_basic_motions,
}
DECAY_GRID = (0.5, 0.8, 0.9, 0.95)
N_FOLDS = 3
TEST_SIZE = 0.3  # fraction of the series held out for the final comparison
N_SEGMENTS = 10  # series cut from a CSV that has no stream column
MIN_ROWS = 20
FLOAT32_MAX = float(np.finfo(np.float32).max)
# Larger batches and a larger step than the estimator's defaults: on these
# small data sets they train as well in far less time (the run stays < 30 s).
ESTIMATOR_PARAMS = {"batch_size": 256, "lr": 5e-3, "hidden_layer_sizes": (64, 64)}


class DataError(Exception):
    """Bad input data: reported as one ``samlp: error:`` line, exit code 2."""


# ---------------------------------------------------------------- arguments


def _decay(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be in [0, 2**32), got {text}")
    return value


def _build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Train a Signal Accumulative MLP (an MLP fed each row and a decaying "
            "average of its stream's past rows) on labelled streams. The series "
            "are split into training and test series; the decay is tuned by "
            f"{N_FOLDS}-fold GroupKFold cross-validation over the training series; "
            "the tuned model is trained on all training series, compared on the "
            "test series with the memoryless model (decay=0), and saved."
        ),
        epilog=(
            "CSV files: one row per time step with a header line; the rows of "
            "each stream in time order. Every column but the target and the "
            "stream column is a feature and must be numeric. Without "
            "--stream-column the file is one stream, cut into "
            f"{N_SEGMENTS} contiguous segments that serve as series."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--data",
        choices=sorted(DATASETS),
        default=None,
        help="bundled data set (default: japanese_vowels)",
    )
    source.add_argument("--csv", metavar="PATH", help="CSV file of labelled streams")
    parser.add_argument(
        "--target",
        metavar="COLUMN",
        help="label column of the CSV (required with --csv)",
    )
    parser.add_argument(
        "--stream-column", metavar="COLUMN", help="stream (series) id column of the CSV"
    )
    parser.add_argument(
        "--decay",
        type=_decay,
        metavar="FLOAT",
        help="use this decay in [0, 1) instead of tuning it over "
        + ", ".join(map(str, DECAY_GRID)),
    )
    parser.add_argument(
        "--epochs",
        type=_positive_int,
        default=15,
        metavar="INT",
        help="training epochs of every fit (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        default="samlp_model.pt",
        metavar="PATH",
        help="where to save the trained model (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="INT",
        help="seed of the split and of the training (default: %(default)s)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the result table"
    )
    return parser


# --------------------------------------------------------------------- data


def _load_bundled(name):
    bunch = DATASETS[name]()
    return bunch.data, bunch.target_names[bunch.target], bunch.stream_ids


def _read_csv(path, target, stream_column):
    """Features, labels and stream ids of a CSV file; DataError if unusable."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise DataError(f"no such file: {path}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a UTF-8 text file") from None
    except (OSError, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None

    rows = [row for row in rows if row]  # blank lines
    if not rows:
        raise DataError(f"{path} is empty")
    header, body = [name.strip() for name in rows[0]], rows[1:]
    if len(set(header)) != len(header):
        raise DataError(f"{path} has duplicate column names")
    for column, what in ((target, "target"), (stream_column, "stream")):
        if column is not None and column not in header:
            raise DataError(
                f"{what} column {column!r} is not in {path} "
                f"(columns: {', '.join(header)})"
            )
    if stream_column == target:
        raise DataError("the target and the stream column must differ")
    features = [name for name in header if name not in (target, stream_column)]
    if not features:
        raise DataError(f"{path} has no feature columns")
    if len(body) < MIN_ROWS:
        raise DataError(
            f"{path} has {len(body)} data rows; at least {MIN_ROWS} are needed"
        )
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(
                f"line {line} of {path} has {len(row)} fields, the header {len(header)}"
            )

    columns = dict(zip(header, zip(*body)))
    X = np.empty((len(body), len(features)), dtype=np.float64)
    for j, name in enumerate(features):
        for i, text in enumerate(columns[name]):
            if not text.strip():
                raise DataError(
                    f"feature column {name!r} has a missing value on line {i + 2}"
                )
            try:
                X[i, j] = float(text)
            except ValueError:
                raise DataError(
                    f"feature column {name!r} is not numeric: {text!r} on line {i + 2}"
                ) from None
            if not math.isfinite(X[i, j]):
                raise DataError(
                    f"feature column {name!r} has a missing or infinite value "
                    f"on line {i + 2}"
                )
            if abs(X[i, j]) > FLOAT32_MAX:  # the model computes in float32
                raise DataError(
                    f"feature column {name!r} has a value too large for float32: "
                    f"{text.strip()} on line {i + 2}"
                )
    y = np.array([text.strip() for text in columns[target]])
    if np.any(y == ""):
        line = int(np.flatnonzero(y == "")[0]) + 2
        raise DataError(f"target column {target!r} has an empty value on line {line}")
    if len(np.unique(y)) < 2:
        raise DataError(f"target column {target!r} has fewer than 2 classes")
    if stream_column is None:
        # One stream: contiguous segments stand in for series.
        stream_ids = np.arange(len(body)) * N_SEGMENTS // len(body)
    else:
        stream_ids = np.array([text.strip() for text in columns[stream_column]])
        if len(np.unique(stream_ids)) < 2:
            raise DataError(
                f"stream column {stream_column!r} has fewer than 2 streams; "
                "omit --stream-column to cut one stream into segments"
            )
    return X, y, stream_ids


# ---------------------------------------------------------------- workflow


def _split(X, y, stream_ids, seed):
    splitter = GroupShuffleSplit(n_splits=1, test_size=TEST_SIZE, random_state=seed)
    train, test = next(splitter.split(X, y, groups=stream_ids))
    return train, test


def _estimator(decay, args, **params):
    return SignalAccumulativeClassifier(
        decay=decay,
        max_epochs=args.epochs,
        random_state=args.seed,
        **ESTIMATOR_PARAMS,
        **params,
    )


def _tune(X, y, stream_ids, args, say):
    """Decay with the best mean CV accuracy over the training series."""
    n_folds = min(N_FOLDS, len(np.unique(stream_ids)))
    if n_folds < 2:
        raise DataError("too few training series to tune the decay; pass --decay")
    say(
        f"Tuning decay over {DECAY_GRID} by {n_folds}-fold GroupKFold over the "
        "training series..."
    )
    start = time.perf_counter()
    # The estimator's fit and score take the series ids through metadata
    # routing; the splitter takes them as groups.
    with sklearn.config_context(enable_metadata_routing=True):
        clf = _estimator(DECAY_GRID[0], args)
        clf.set_fit_request(stream_ids=True).set_score_request(stream_ids=True)
        search = GridSearchCV(
            clf, {"decay": list(DECAY_GRID)}, cv=GroupKFold(n_folds), refit=False
        )
        search.fit(X, y, stream_ids=stream_ids, groups=stream_ids)
    results = search.cv_results_
    best = int(np.argmin(results["rank_test_score"]))  # first of ties
    say("  decay   CV accuracy")
    for i, decay in enumerate(results["param_decay"]):
        mark = "  <- best" if i == best else ""
        say(
            f"  {decay:5.2f}   {results['mean_test_score'][i]:.3f} "
            f"+/- {results['std_test_score'][i]:.3f}{mark}"
        )
    elapsed = time.perf_counter() - start
    say(f"  tuning took {elapsed:.1f} s")
    return float(results["param_decay"][best]), n_folds, elapsed


def _fit_timed(clf, X, y, stream_ids):
    start = time.perf_counter()
    clf.fit(X, y, stream_ids=stream_ids)
    return time.perf_counter() - start


def _run(args, say):
    if args.csv is not None:
        name = os.path.basename(args.csv)
        X, y, stream_ids = _read_csv(args.csv, args.target, args.stream_column)
    else:
        name = args.data or "japanese_vowels"
        X, y, stream_ids = _load_bundled(name)
    n_series = len(np.unique(stream_ids))
    say(
        f"Data: {name}: {X.shape[0]} rows, {X.shape[1]} features, "
        f"{len(np.unique(y))} classes, {n_series} series"
    )
    train, test = _split(X, y, stream_ids, args.seed)
    if len(np.unique(y[train])) < 2:
        raise DataError("the training series hold fewer than 2 classes")
    n_train_series = len(np.unique(stream_ids[train]))
    say(
        f"Split: {n_train_series} training series ({len(train)} rows), "
        f"{n_series - n_train_series} test series ({len(test)} rows), seed {args.seed}"
    )

    if args.decay is None:
        decay, n_folds, tune_time = _tune(
            X[train], y[train], stream_ids[train], args, say
        )
        how = f"tuned, {n_folds}-fold GroupKFold, {tune_time:.1f} s"
    else:
        decay, how = args.decay, "given"

    say(f"Training decay={decay} on all training series ({args.epochs} epochs):")
    clf = _estimator(
        decay,
        args,
        verbose=0 if args.quiet else 1,
        callbacks=None if args.quiet else [ProgressBar()],
    )
    fit_time = _fit_timed(clf, X[train], y[train], stream_ids[train])
    say("Training the memoryless model (decay=0) for comparison...")
    baseline = _estimator(0.0, args)
    baseline_time = _fit_timed(baseline, X[train], y[train], stream_ids[train])

    acc = clf.score(X[test], y[test], stream_ids=stream_ids[test])
    baseline_acc = baseline.score(X[test], y[test], stream_ids=stream_ids[test])
    clf.set_params(verbose=0)  # the epoch log only served this run
    try:
        clf.save(args.out)
    except OSError as exc:
        raise DataError(f"cannot save the model to {args.out}: {exc}") from None

    width = 58
    lines = [
        "",
        "=" * width,
        f"{'dataset':<22}{name}",
        f"{'decay chosen':<22}{decay:g} ({how})",
        f"{'test series':<22}{n_series - n_train_series} ({len(test)} rows)",
        "-" * width,
        f"{'model':<22}{'decay':>8}{'test accuracy':>16}{'fit time':>12}",
        f"{'accumulator':<22}{decay:>8g}{acc:>16.3f}{fit_time:>10.1f} s",
        f"{'memoryless':<22}{0:>8g}{baseline_acc:>16.3f}{baseline_time:>10.1f} s",
        "=" * width,
        f"Model saved to {args.out}",
    ]
    print("\n".join(lines))
    return 0


def main(argv=None):
    """Run the command line demo; return the exit code.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name. None: ``sys.argv[1:]``.

    Returns
    -------
    code : int
        0 on success, 2 for bad arguments or unusable data (with one
        ``samlp: error:`` line on stderr).

    Examples
    --------
    >>> from sklearn_samlp._cli import main
    >>> main(["--help"])  # doctest: +ELLIPSIS
    usage: samlp [-h] ...
    0
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or argparse's own error message
        return exc.code
    if args.csv is not None and args.target is None:
        return _error(parser, "--csv needs --target COLUMN")
    if args.csv is None and (args.target or args.stream_column):
        return _error(parser, "--target and --stream-column need --csv PATH")
    if os.path.isdir(args.out):  # found before training, not after
        return _error(parser, f"--out {args.out} is a directory; name a file")

    def say(message=""):
        if not args.quiet:
            print(message, flush=True)

    # The network is small: torch's intra-op threads only add overhead, and
    # on a busy machine they make a fit several times slower.
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(args, say)
    except DataError as exc:
        return _error(parser, str(exc))
    finally:
        torch.set_num_threads(n_threads)


def _error(parser, message):
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return 2
