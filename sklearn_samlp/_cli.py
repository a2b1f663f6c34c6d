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
import textwrap
import time

import numpy as np
import sklearn
from sklearn.model_selection import GridSearchCV, GroupKFold, GroupShuffleSplit

from ._classifier import SignalAccumulativeClassifier
from ._console import EpochProgressBar
from ._time import duration_text, time_unit_value
from .datasets import (
    load_basic_motions,
    load_gunpoint,
    load_italy_power_demand,
    load_japanese_vowels,
)

PROG = "samlp"
DATASETS = {
    "japanese_vowels": load_japanese_vowels,
    "basic_motions": load_basic_motions,
    "gunpoint": load_gunpoint,
    "italy_power_demand": load_italy_power_demand,
}
DECAY_GRID = (0.5, 0.8, 0.9, 0.95)
N_FOLDS = 3
TEST_SIZE = 0.3  # fraction of the series held out for the final comparison
N_SEGMENTS = 10  # series cut from a CSV that has no stream column
MIN_ROWS = 20
MAX_LINE = 1 << 20  # characters in one line of a CSV
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
            "test series with the memoryless model (decay=0), and saved if --out "
            "names a file."
        ),
        epilog=(
            "CSV files: one row per time step with a header line; the rows of "
            "each stream in time order. Every column but the target, the "
            "stream and the time column is a feature (or those named by "
            "--features) and must be numeric. Without --stream-column the file "
            f"is one stream, cut into {N_SEGMENTS} contiguous segments that "
            "serve as series. Accuracy is reported per row (time step) and per "
            "series (the label that the mean predicted probability of its rows "
            "picks, against the series' most frequent label)."
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
        "--time-column",
        metavar="COLUMN",
        help="time column of the CSV: numbers or ISO 8601 datetimes, increasing "
        "within each stream; the decay then applies per time unit",
    )
    parser.add_argument(
        "--time-unit",
        metavar="UNIT",
        help="time in which the memory decays as over one row: a number (numeric "
        "time column) or a duration such as 20ms, 1s (datetimes); "
        "default: the median gap between consecutive rows of a series",
    )
    parser.add_argument(
        "--features",
        metavar="COLUMNS",
        help="comma-separated feature columns to use (default: all)",
    )
    parser.add_argument(
        "--decay",
        type=_decay,
        metavar="FLOAT",
        help="use this decay in [0, 1) instead of tuning it over "
        + ", ".join(map(str, DECAY_GRID)),
    )
    parser.add_argument(
        "--accumulator",
        choices=("input", "convolution"),
        default="input",
        help="what each stream accumulates: its rows (input), or also the shape "
        "of its signal (convolution, for problems such as gunpoint) "
        "(default: %(default)s)",
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
        default=None,
        metavar="PATH",
        help="save the trained model to this file (default: not saved)",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="INT",
        help="seed of the split and of the training (default: %(default)s)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print only the result table (no progress, no epoch log)",
    )
    return parser


# --------------------------------------------------------------------- data


def _load_bundled(name, features):
    bunch = DATASETS[name]()
    X, names = bunch.data, list(bunch.feature_names)
    if features is not None:
        columns = _feature_indices(features, names, name)
        X, names = X[:, columns], [names[j] for j in columns]
    return X, bunch.target_names[bunch.target], bunch.stream_ids, names


def _feature_indices(features, names, where):
    """Column indices of the comma-separated ``features`` among ``names``."""
    chosen = [name.strip() for name in features.split(",") if name.strip()]
    if not chosen:
        raise DataError("--features names no column")
    unknown = [name for name in chosen if name not in names]
    if unknown:
        raise DataError(
            f"--features: {', '.join(map(repr, unknown))} not among the feature "
            f"columns of {where} ({', '.join(names)})"
        )
    if len(set(chosen)) != len(chosen):
        raise DataError("--features names a column twice")
    return [names.index(name) for name in chosen]


def _parse_times(texts, column):
    """A time column as float64 numbers, or as datetime64[ns] if not numeric."""
    texts = [text.strip() for text in texts]
    if any(not text for text in texts):
        line = next(i for i, text in enumerate(texts) if not text) + 2
        raise DataError(f"time column {column!r} has an empty value on line {line}")
    try:
        times = np.array([float(text) for text in texts])
    except ValueError:
        try:
            times = np.array(texts, dtype="datetime64[ns]")
        except ValueError:
            raise DataError(
                f"time column {column!r} holds neither numbers nor ISO 8601 "
                "datetimes (e.g. 2024-03-01T12:00:00.020)"
            ) from None
        if np.isnat(times).any():
            line = int(np.flatnonzero(np.isnat(times))[0]) + 2
            raise DataError(f"time column {column!r} has a missing time on line {line}")
        return times
    if not np.all(np.isfinite(times)):
        raise DataError(f"time column {column!r} has a missing or infinite value")
    return times


def _bounded_lines(f, path):
    """The lines of ``f``, refusing one longer than ``MAX_LINE`` characters.

    A file without line breaks (``/dev/zero``, a binary file) would otherwise
    be read into memory whole as its first line.
    """
    while line := f.readline(MAX_LINE + 1):
        if len(line) > MAX_LINE:
            raise DataError(
                f"{path} has a line longer than {MAX_LINE} characters: not a CSV "
                "file of rows"
            )
        yield line


def _read_csv(path, target, stream_column, time_column=None, features=None):
    """Features, labels, stream ids and times of a CSV; DataError if unusable."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(_bounded_lines(f, path)))
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
    special = ((target, "target"), (stream_column, "stream"), (time_column, "time"))
    for column, what in special:
        if column is not None and column not in header:
            raise DataError(
                f"{what} column {column!r} is not in {path} "
                f"(columns: {', '.join(header)})"
            )
    if stream_column == target:
        raise DataError("the target and the stream column must differ")
    if time_column is not None and time_column in (target, stream_column):
        raise DataError("the time column must differ from the target and stream")
    candidates = [
        name for name in header if name not in (target, stream_column, time_column)
    ]
    if not candidates:
        raise DataError(f"{path} has no feature columns")
    if features is None:
        features = candidates
    else:
        features = [candidates[i] for i in _feature_indices(features, candidates, path)]
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
    times = (
        None if time_column is None else _parse_times(columns[time_column], time_column)
    )
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
    return X, y, stream_ids, times, features


# ---------------------------------------------------------------- workflow


def _split(X, y, stream_ids, seed):
    splitter = GroupShuffleSplit(n_splits=1, test_size=TEST_SIZE, random_state=seed)
    train, test = next(splitter.split(X, y, groups=stream_ids))
    return train, test


def _median_gap(times, stream_ids):
    """Median gap between consecutive rows of a series: the default time unit."""
    if times.dtype.kind == "M":
        values = (times - np.datetime64(0, "ns")).astype("timedelta64[ns]")
        values = values.astype(np.int64).astype(np.float64) * 1e-9
    else:
        values = times.astype(np.float64)
    order = np.argsort(stream_ids, kind="stable")  # streams may be interleaved
    values, stream_ids = values[order], stream_ids[order]
    same = stream_ids[1:] == stream_ids[:-1]
    gaps = np.diff(values)[same]
    if np.any(gaps <= 0):
        raise DataError("the times must increase within each series")
    if gaps.size == 0:
        raise DataError("no series has two rows: cannot choose a time unit")
    return float(np.median(gaps))


def _time_unit(times, stream_ids, text):
    """The estimator's ``time_unit`` and how to print it."""
    datetimes = times.dtype.kind == "M"
    if text is None:
        value = _median_gap(times, stream_ids)
        how = "median gap"
    elif datetimes:
        try:
            value = time_unit_value(text)
        except ValueError as exc:
            raise DataError(f"--time-unit: {exc}") from None
        how = "given"
    else:
        try:
            value = float(text)
        except ValueError:
            raise DataError(
                f"--time-unit {text!r}: the time column is numeric, so the unit "
                "is a number"
            ) from None
        if not (math.isfinite(value) and value > 0):
            raise DataError(f"--time-unit must be positive, got {text}")
        how = "given"
    if datetimes:
        return duration_text(value), f"{_seconds(value)} ({how})"
    return value, f"{value:g} ({how})"


def _seconds(value):
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0)):
        if value >= size:
            return f"{value / size:g} {unit}"
    if value >= 1e-3:
        return f"{value * 1e3:g} ms"
    return f"{value * 1e6:g} us"


def _estimator(decay, args, **params):
    params = {"accumulator": args.accumulator, **params}
    return SignalAccumulativeClassifier(
        decay=decay,
        max_epochs=args.epochs,
        random_state=args.seed,
        **ESTIMATOR_PARAMS,
        **params,
    )


def _settings(args, time_unit):
    """The training settings, and where they differ from the estimator's defaults."""
    params = _estimator(0.0, args, **time_unit).get_params()
    defaults = SignalAccumulativeClassifier().get_params()
    shown = (
        "accumulator",
        "max_epochs",
        "batch_size",
        "lr",
        "hidden_layer_sizes",
        "dropout",
    )
    if time_unit:
        shown += ("time_unit",)
    text = ", ".join(f"{key}={_show(params[key])}" for key in shown)
    changed = [key for key in shown if key in defaults and params[key] != defaults[key]]
    if time_unit:
        changed.remove("time_unit")
    if changed:
        text += "; estimator defaults: " + ", ".join(
            f"{key}={_show(defaults[key])}" for key in changed
        )
    return text


def _show(value):
    if isinstance(value, np.timedelta64):
        return repr(_seconds(value.astype("timedelta64[ns]").astype(np.int64) * 1e-9))
    return f"{value!r}" if not isinstance(value, float) else f"{value:g}"


def _tune(X, y, stream_ids, times, args, say, **params):
    """Decay with the best mean CV accuracy over the training series."""
    n_folds = min(N_FOLDS, len(np.unique(stream_ids)))
    if n_folds < 2:
        raise DataError("too few training series to tune the decay; pass --decay")
    say(
        f"Tuning decay over {DECAY_GRID} by {n_folds}-fold GroupKFold over the "
        "training series..."
    )
    start = time.perf_counter()
    # The estimator's fit and score take the series ids (and times) through
    # metadata routing; the splitter takes the ids as groups.
    with sklearn.config_context(enable_metadata_routing=True):
        clf = _estimator(DECAY_GRID[0], args, **params)
        clf.set_fit_request(stream_ids=True, timestamps=True)
        clf.set_score_request(stream_ids=True, timestamps=True)
        search = GridSearchCV(
            clf, {"decay": list(DECAY_GRID)}, cv=GroupKFold(n_folds), refit=False
        )
        routed = {} if times is None else {"timestamps": times}
        search.fit(X, y, stream_ids=stream_ids, groups=stream_ids, **routed)
    results = search.cv_results_
    best = int(np.argmin(results["rank_test_score"]))  # first of ties
    say("  decay   CV accuracy (per row)")
    for i, decay in enumerate(results["param_decay"]):
        mark = "  <- best" if i == best else ""
        say(
            f"  {decay:5.2f}   {results['mean_test_score'][i]:.3f} "
            f"+/- {results['std_test_score'][i]:.3f}{mark}"
        )
    elapsed = time.perf_counter() - start
    say(f"  tuning took {elapsed:.1f} s")
    return float(results["param_decay"][best]), n_folds, elapsed


def _fit_timed(clf, X, y, stream_ids, times):
    start = time.perf_counter()
    clf.fit(X, y, stream_ids=stream_ids, timestamps=times)
    return time.perf_counter() - start


def _series_labels(y, stream_ids):
    """Each series' most frequent label, in the order of ``np.unique(stream_ids)``."""
    series, codes = np.unique(stream_ids, return_inverse=True)
    labels, y_codes = np.unique(y, return_inverse=True)
    counts = np.zeros((len(series), len(labels)), dtype=np.intp)
    np.add.at(counts, (codes, y_codes), 1)
    return labels[counts.argmax(axis=1)], codes


def _accuracies(clf, X, y, stream_ids, times):
    """Per-row and per-series accuracy of ``clf`` on the test series."""
    proba = clf.predict_proba(X, stream_ids=stream_ids, timestamps=times)
    per_row = float(np.mean(clf.classes_[proba.argmax(axis=1)] == y))
    labels, codes = _series_labels(y, stream_ids)
    mean_proba = np.zeros((len(labels), proba.shape[1]))
    np.add.at(mean_proba, codes, proba)
    per_series = float(np.mean(clf.classes_[mean_proba.argmax(axis=1)] == labels))
    return per_row, per_series


def _run(args, say):
    if args.csv is not None:
        name = os.path.basename(args.csv)
        X, y, stream_ids, times, features = _read_csv(
            args.csv, args.target, args.stream_column, args.time_column, args.features
        )
    else:
        name = args.data or "japanese_vowels"
        X, y, stream_ids, features = _load_bundled(name, args.features)
        times = None
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
    time_params, unit_text = {}, None
    if times is not None:
        unit, unit_text = _time_unit(times[train], stream_ids[train], args.time_unit)
        time_params = {"time_unit": unit}
        say(f"Time: column {args.time_column!r}, unit {unit_text}")
    t_train = None if times is None else times[train]
    t_test = None if times is None else times[test]
    say(f"Training settings: {_settings(args, time_params)}")

    if args.decay is None:
        decay, n_folds, tune_time = _tune(
            X[train], y[train], stream_ids[train], t_train, args, say, **time_params
        )
        how = f"tuned, {n_folds}-fold GroupKFold, {tune_time:.1f} s"
    else:
        decay, how = args.decay, "given"

    say(f"Training decay={decay} on all training series ({args.epochs} epochs):")
    clf = _estimator(
        decay,
        args,
        verbose=0 if args.quiet else 1,
        callbacks=None if args.quiet else [EpochProgressBar()],
        **time_params,
    )
    fit_time = _fit_timed(clf, X[train], y[train], stream_ids[train], t_train)
    say("Training the memoryless model (decay=0) for comparison...")
    # No memory at all: no raw accumulator and no accumulated shape.
    baseline = _estimator(0.0, args, accumulator="input", **time_params)
    baseline_time = _fit_timed(baseline, X[train], y[train], stream_ids[train], t_train)

    test_rows = (X[test], y[test], stream_ids[test], t_test)
    acc = _accuracies(clf, *test_rows)
    baseline_acc = _accuracies(baseline, *test_rows)
    train_labels, train_counts = np.unique(y[train], return_counts=True)
    majority = train_labels[train_counts.argmax()]  # first of ties
    series_labels, _ = _series_labels(y[test], stream_ids[test])
    majority_acc = (
        float(np.mean(y[test] == majority)),
        float(np.mean(series_labels == majority)),
    )
    saved = None
    if args.out is not None:
        clf.set_params(verbose=0, callbacks=None)  # they only served this run
        # Trained on these named columns (as arrays: pandas is no dependency),
        # so the saved model checks them as if fitted on a data frame.
        clf.feature_names_in_ = np.asarray(features, dtype=object)
        path = os.path.expanduser(args.out)
        try:
            clf.save(path)
        except OSError as exc:
            raise DataError(f"cannot save the model to {args.out}: {exc}") from None
        saved = path

    width = 66
    lines = [
        "=" * width,
        f"{'dataset':<22}{name}",
        f"{'decay chosen':<22}{decay:g} ({how})",
        f"{'test series':<22}{n_series - n_train_series} ({len(test)} rows)",
    ]
    if unit_text is not None:
        lines.append(f"{'time unit':<22}{unit_text}")
    lines += [
        "-" * width,
        f"{'':<22}{'':>8}{'accuracy':>12}{'accuracy':>12}",
        f"{'model':<22}{'decay':>8}{'per row':>12}{'per series':>12}{'fit time':>12}",
        f"{'accumulator':<22}{decay:>8g}{acc[0]:>12.3f}{acc[1]:>12.3f}"
        f"{fit_time:>10.1f} s",
        f"{'memoryless':<22}{0:>8g}{baseline_acc[0]:>12.3f}{baseline_acc[1]:>12.3f}"
        f"{baseline_time:>10.1f} s",
        f"{'majority class':<22}{'-':>8}{majority_acc[0]:>12.3f}"
        f"{majority_acc[1]:>12.3f}{'-':>12}",
        "=" * width,
        "per row: test rows (time steps) predicted right; per series: test series",
        "whose rows' mean predicted probability picks the series' label.",
        f"majority class: always {majority!s} (the most frequent training label).",
    ]
    for note in _notes(decay, args.decay is None, y[train], y[test]):
        lines += textwrap.wrap(note, width, subsequent_indent="  ")
    if saved is None:
        lines.append("Model not saved (--out PATH saves it).")
    else:
        lines.append(f"Model saved to {saved}")
    if not args.quiet:
        print()
    print("\n".join(lines))
    return 0


def _notes(decay, tuned, y_train, y_test):
    """Warnings about the result: untrained classes, a decay at the grid's edge."""
    notes = []
    missing, counts = np.unique(y_test[~np.isin(y_test, y_train)], return_counts=True)
    if missing.size:
        listed = ", ".join(f"{label!s} ({n} rows)" for label, n in zip(missing, counts))
        notes.append(
            f"Note: classes in the test series but never in training, so never "
            f"predicted: {listed}."
        )
    if tuned and decay == max(DECAY_GRID):
        notes.append(
            f"Note: the best decay, {decay:g}, is the largest of the grid: a longer "
            "memory may do better (try --decay 0.98 or 0.99)."
        )
    elif tuned and decay == min(DECAY_GRID):
        notes.append(
            f"Note: the best decay, {decay:g}, is the smallest of the grid: try "
            "--decay 0.2 or 0 (memoryless)."
        )
    return notes


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
    if args.out is not None and os.path.isdir(os.path.expanduser(args.out)):
        # found before training, not after
        return _error(parser, f"--out {args.out} is a directory; name a file")

    if args.csv is None and (args.time_column or args.time_unit):
        return _error(parser, "--time-column and --time-unit need --csv PATH")
    if args.time_unit is not None and args.time_column is None:
        return _error(parser, "--time-unit needs --time-column COLUMN")

    def say(message=""):
        if not args.quiet:
            print(message, flush=True)

    # torch runs on one thread: the estimator's n_threads default.
    try:
        return _run(args, say)
    except DataError as exc:
        return _error(parser, str(exc))


def _error(parser, message):
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return 2
