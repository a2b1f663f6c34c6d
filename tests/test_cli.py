# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from _warning_policy import (
    SUBPROCESS_WARNINGS,
    our_deprecations,
    without_others_warnings,
)

from sklearn_samlp import SignalAccumulativeClassifier
from sklearn_samlp._cli import _split, main
from sklearn_samlp.datasets import load_japanese_vowels, make_regime_streams


def _table(out):
    """The result rows of the table, as {model: (decay, acc_row, acc_series, s)}."""
    rows = re.findall(
        r"^(accumulator|memoryless)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+) s$",
        out,
        re.M,
    )
    return {name: tuple(map(float, values)) for name, *values in rows}


def test_default_run(tmp_path, capsys):
    out_path = tmp_path / "model.pt"
    assert main(["--epochs", "2", "--out", str(out_path)]) == 0
    out, err = capsys.readouterr()

    assert "Data: japanese_vowels: 9961 rows, 12 features, 9 classes, 640 series" in out
    assert "3-fold GroupKFold" in out
    for decay in ("0.50", "0.80", "0.90", "0.95"):
        assert re.search(rf"^\s+{decay}\s+0\.\d{{3}} \+/- 0\.\d{{3}}", out, re.M)
    assert "<- best" in out
    # skorch's epoch table, one row per epoch.
    assert re.search(r"epoch\s+train_acc\s+train_loss\s+dur", out)
    assert re.search(r"^\s+2\s+0\.\d+", out, re.M)
    assert "Traceback" not in err

    table = _table(out)
    assert set(table) == {"accumulator", "memoryless"}
    decay, acc, acc_series, _ = table["accumulator"]
    assert decay in (0.5, 0.8, 0.9, 0.95)
    assert re.search(rf"^decay chosen\s+{decay:g} \(tuned", out, re.M)
    assert table["memoryless"][0] == 0
    assert 0 <= acc <= 1 and 0 <= table["memoryless"][1] <= 1
    assert 0 <= acc_series <= 1
    # The majority-class baseline, per row and per series, and the settings.
    assert re.search(r"^majority class\s+-\s+0\.\d{3}\s+0\.\d{3}\s+-$", out, re.M)
    assert (
        "Training settings: accumulator='input', max_epochs=2, batch_size=256, lr=0.005"
        in out
    )
    assert "estimator defaults: max_epochs=10, batch_size=128, lr=0.001" in out
    assert f"Model saved to {out_path}" in out

    clf = SignalAccumulativeClassifier.load(out_path)
    assert clf.decay == decay and clf.n_iter_ == 2
    bunch = load_japanese_vowels()
    # Trained on named columns: the saved model checks them, as if fitted on a frame.
    assert list(clf.feature_names_in_) == list(bunch.feature_names)
    rows = pd.DataFrame(bunch.data[:50], columns=bunch.feature_names)
    y_pred = clf.predict(rows, stream_ids=bunch.stream_ids[:50] + 10_000)
    assert set(y_pred) <= set(bunch.target_names)


def test_quiet_with_given_decay(tmp_path, capsys):
    out_path = tmp_path / "sub" / "model.pt"
    args = ["--data", "basic_motions", "--decay", "0.7", "--epochs", "1"]
    assert main([*args, "--out", str(out_path), "--quiet", "--seed", "3"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("=====")  # not even a blank line before the table
    assert "Tuning" not in out and "epoch" not in out
    assert re.search(r"^dataset\s+basic_motions$", out, re.M)
    assert re.search(r"^decay chosen\s+0\.7 \(given\)$", out, re.M)
    assert _table(out)["accumulator"][0] == 0.7
    assert err == ""
    assert SignalAccumulativeClassifier.load(out_path).random_state == 3


def _write_regime_csv(path, *, n_streams=6, n_steps=40, stream_column=True):
    X, y, ids = make_regime_streams(
        n_streams=n_streams, n_steps=n_steps, n_features=3, random_state=0
    )
    labels = np.array(["calm", "busy", "wild"])[y]
    lines = ["x1,x2,x3,regime" + (",series" if stream_column else "")]
    for row, label, sid in zip(X, labels, ids):
        fields = [f"{v:.5f}" for v in row] + [label]
        lines.append(",".join(fields + ([f"s{sid}"] if stream_column else [])))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_run(tmp_path, capsys):
    csv_path = _write_regime_csv(tmp_path / "regimes.csv")
    out_path = tmp_path / "model.pt"
    argv = ["--csv", str(csv_path), "--target", "regime", "--stream-column", "series"]
    assert main([*argv, "--epochs", "2", "--out", str(out_path)]) == 0
    out, _ = capsys.readouterr()
    assert "Data: regimes.csv: 240 rows, 3 features, 3 classes, 6 series" in out
    assert "Split: 4 training series (160 rows), 2 test series (80 rows)" in out
    assert re.search(r"^dataset\s+regimes\.csv$", out, re.M)
    assert set(_table(out)) == {"accumulator", "memoryless"}

    clf = SignalAccumulativeClassifier.load(out_path)
    assert clf.n_features_in_ == 3
    assert set(clf.classes_) == {"calm", "busy", "wild"}
    assert set(clf.accumulators_) <= {f"s{i}" for i in range(6)}


def test_csv_run_one_stream_is_cut_into_segments(tmp_path, capsys):
    csv_path = _write_regime_csv(
        tmp_path / "one.csv", n_streams=1, n_steps=200, stream_column=False
    )
    argv = ["--csv", str(csv_path), "--target", "regime", "--epochs", "1"]
    assert main([*argv, "--out", str(tmp_path / "m.pt")]) == 0
    out, _ = capsys.readouterr()
    assert "200 rows, 3 features" in out and "10 series" in out
    assert "7 training series (140 rows), 3 test series (60 rows)" in out


BAD_CSVS = {
    "missing file": (None, "no such file"),
    "empty file": ("", "is empty"),
    "blank lines only": ("\n\n", "is empty"),
    "header only": ("a,b,label\n", "0 data rows; at least 20"),
    "too few rows": ("a,label\n" + "1,x\n2,y\n" * 5, "10 data rows; at least 20"),
    "missing target": (
        "a,b,klass\n" + "1,2,x\n" * 30,
        "target column 'label' is not in",
    ),
    "non-numeric": (
        "a,b,label\n" + "1,2,x\n" * 10 + "1,oops,y\n" + "1,2,y\n" * 10,
        "feature column 'b' is not numeric: 'oops' on line 12",
    ),
    "missing value": (
        "a,b,label\n" + "1,2,x\n" * 10 + "1,,y\n" + "1,2,y\n" * 10,
        "feature column 'b' has a missing value on line 12",
    ),
    "nan value": (
        "a,b,label\n" + "1,nan,x\n" + "1,2,y\n" * 20,
        "missing or infinite value on line 2",
    ),
    "ragged row": (
        "a,b,label\n" + "1,2,x\n" * 10 + "1,y\n" + "1,2,y\n" * 10,
        "line 12",
    ),
    "one class": ("a,b,label\n" + "1,2,x\n" * 30, "fewer than 2 classes"),
    "empty label": ("a,b,label\n" + "1,2,x\n1,2,\n" + "1,2,y\n" * 20, "empty value"),
    "only target": ("label\n" + "x\ny\n" * 15, "no feature columns"),
    "duplicate columns": ("a,a,label\n" + "1,2,x\n" * 30, "duplicate column names"),
    # No line breaks (e.g. /dev/zero): refused at the bound, never read whole.
    "endless line": ("a,b,label" + "\0" * ((1 << 20) + 10), "a line longer than"),
}


def _bad_csv_path(tmp_path, content):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content)
    return path


@pytest.mark.parametrize("case", sorted(BAD_CSVS))
def test_bad_csv(tmp_path, capsys, case):
    content, message = BAD_CSVS[case]
    path = _bad_csv_path(tmp_path, content)
    argv = ["--csv", str(path), "--target", "label", "--out", str(tmp_path / "m.pt")]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.startswith("samlp: error: ")
    assert err.count("\n") == 1 and err.endswith("\n")
    assert message in err
    assert "Traceback" not in out + err
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--stream-column", "nope"], "stream column 'nope' is not in"),
        (["--stream-column", "label"], "the target and the stream column must differ"),
        (["--stream-column", "same"], "fewer than 2 streams"),
    ],
)
def test_bad_stream_column(tmp_path, capsys, argv, message):
    path = tmp_path / "bad.csv"
    path.write_text("a,same,label\n" + "1,1,x\n2,1,y\n" * 15)
    assert main(["--csv", str(path), "--target", "label", *argv]) == 2
    _, err = capsys.readouterr()
    assert err.startswith("samlp: error: ") and err.count("\n") == 1
    assert message in err


def test_bad_csv_exit_code_in_subprocess(tmp_path):
    # The real process: exit status 2 and one line on stderr, no traceback.
    path = _bad_csv_path(tmp_path, "a,b,label\n" + "1,2,x\n" * 10 + "1,oops,y\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sklearn_samlp",
            "--csv",
            str(path),
            "--target",
            "label",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONWARNINGS": SUBPROCESS_WARNINGS},
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert our_deprecations(proc.stderr) == []
    stderr = without_others_warnings(proc.stderr)
    assert stderr.startswith("samlp: error: ")
    assert stderr.count("\n") == 1
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--csv", "x.csv"], "--csv needs --target"),
        (["--target", "label"], "--target and --stream-column need --csv"),
        (["--decay", "1.5"], "must be in [0, 1)"),
        (["--decay", "abc"], "invalid float value"),
        (["--epochs", "0"], "must be at least 1"),
        (["--seed", "-1"], "must be in [0, 2**32)"),
        (["--data", "iris"], "invalid choice"),
        (["--data", "basic_motions", "--csv", "x.csv"], "not allowed with argument"),
    ],
)
def test_bad_arguments(capsys, argv, message):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "samlp: error: " in err and message in err
    assert "Traceback" not in err


def test_help(capsys):
    assert main(["--help"]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("usage: samlp ")
    for option in (
        "--data",
        "--csv",
        "--target",
        "--stream-column",
        "--decay",
        "--epochs",
        "--out",
        "--quiet",
        "--seed",
        "--features",
        "--time-column",
        "--time-unit",
    ):
        assert option in out


def test_main_module_exports_main():
    from sklearn_samlp import __main__

    assert __main__.main is main


@pytest.mark.parametrize(
    "value, message", [("1e39", "too large for float32"), ("-1e39", "too large")]
)
def test_feature_overflowing_float32_is_a_data_error(tmp_path, capsys, value, message):
    path = tmp_path / "big.csv"
    rows = ["a,b,label"] + [f"{i},{i % 3},{i % 2}" for i in range(40)]
    rows[5] = f"{value},1,0"
    path.write_text("\n".join(rows) + "\n")
    argv = ["--csv", str(path), "--target", "label", "--out", str(tmp_path / "m.pt")]
    assert main([*argv, "--decay", "0.5", "--epochs", "1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("samlp: error:") and message in err
    assert len(err.splitlines()) == 1


def test_out_naming_a_directory_exits_2(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--decay", "0.5", "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "is a directory" in err and len(err.splitlines()) == 1


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_out_that_cannot_be_written_exits_2(capsys):
    argv = ["--out", "/dev/full", "--decay", "0.5", "--epochs", "1", "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot save" in err and len(err.splitlines()) == 1


def test_no_model_file_unless_asked(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["--data", "basic_motions", "--decay", "0.9", "--epochs", "1", "--quiet"]
    assert main(args) == 0
    assert "Model not saved (--out PATH saves it)." in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    assert main([*args, "--out", "~/m.pt"]) == 0
    assert (home / "m.pt").is_file() and not (tmp_path / "~").exists()


def _write_timed_csv(path, datetimes):
    X, y, ids = make_regime_streams(
        n_streams=6, n_steps=40, n_features=3, random_state=0
    )
    gaps = np.random.default_rng(0).exponential(0.02, len(X))
    seconds = 1.7e9 + np.cumsum(gaps)
    lines = ["when,x1,x2,x3,regime,series"]
    for t, row, label, sid in zip(seconds, X, y, ids):
        if datetimes:
            when = str(np.datetime64(round(t * 1e6), "us"))
        else:
            when = f"{t:.6f}"
        fields = [when, *(f"{v:.5f}" for v in row), f"r{label}", f"s{sid}"]
        lines.append(",".join(fields))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("datetimes", [False, True], ids=["seconds", "datetimes"])
def test_csv_time_column(tmp_path, capsys, datetimes):
    path = _write_timed_csv(tmp_path / "timed.csv", datetimes)
    argv = ["--csv", str(path), "--target", "regime", "--stream-column", "series"]
    argv += ["--time-column", "when", "--decay", "0.9", "--epochs", "2"]
    assert main(argv) == 0
    out, _ = capsys.readouterr()
    assert "3 features" in out  # the time column is not a feature
    unit = re.search(r"^time unit\s+(.*) \(median gap\)$", out, re.M).group(1)
    if datetimes:
        assert unit.endswith(" ms") and 5 < float(unit.split()[0]) < 40
    else:
        assert 0.005 < float(unit) < 0.04
    table = _table(out)
    assert set(table) == {"accumulator", "memoryless"}
    # Same data, same unit: seconds and datetimes give the same accuracy.
    argv_unit = [*argv, "--time-unit", "20ms" if datetimes else "0.02"]
    assert main(argv_unit) == 0
    out_unit, _ = capsys.readouterr()
    test_csv_time_column.results[datetimes] = _table(out_unit)["accumulator"][1:3]
    if len(test_csv_time_column.results) == 2:
        assert test_csv_time_column.results[True] == test_csv_time_column.results[False]


test_csv_time_column.results = {}


def test_features_and_missing_classes(tmp_path, capsys):
    path = _write_regime_csv(tmp_path / "regimes.csv")
    text = path.read_text().splitlines()
    # A class that only a test series has: relabel a series of the test split.
    ids = np.array([line.rsplit(",", 1)[1] for line in text[1:]])
    test_series = ids[_split(ids, ids, ids, 0)[1][0]]
    text = [text[0]] + [
        line.rsplit(",", 2)[0] + f",storm,{test_series}"
        if line.endswith("," + test_series)
        else line
        for line in text[1:]
    ]
    path.write_text("\n".join(text) + "\n")
    argv = ["--csv", str(path), "--target", "regime", "--stream-column", "series"]
    argv += ["--features", "x1,x3", "--decay", "0.9", "--epochs", "1"]
    assert main(argv) == 0
    out, _ = capsys.readouterr()
    assert "2 features" in out
    assert "never in training" in out and "storm (" in out
    assert main([*argv, "--features", "x1,nope"]) == 2
    assert "'nope' not among the feature columns" in capsys.readouterr().err


def test_edge_of_grid_hint():
    from sklearn_samlp._cli import _notes

    y = np.array([0, 1])
    assert "largest of the grid" in _notes(0.95, True, y, y)[0]
    assert _notes(0.95, False, y, y) == []  # a given decay gets no hint
    assert _notes(0.8, True, y, y) == []


def test_piped_output_is_plain_text(tmp_path):
    """stdout without ANSI codes, stderr without progress-bar fragments."""
    proc = subprocess.run(
        [sys.executable, "-m", "sklearn_samlp", "--data", "basic_motions"]
        + ["--decay", "0.9", "--epochs", "2"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONWARNINGS": SUBPROCESS_WARNINGS},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "train_loss" in proc.stdout
    assert without_others_warnings(proc.stderr) == ""
    assert list(tmp_path.iterdir()) == []  # nothing written to the cwd


@pytest.mark.parametrize(
    "times, argv, message",
    [
        (["x"] * 30, [], "holds neither numbers nor ISO 8601 datetimes"),
        ([str(30 - i) for i in range(30)], [], "must increase within each series"),
        (
            [f"2024-03-01T00:00:{i:02d}" if i != 4 else "NaT" for i in range(30)],
            [],
            "has a missing time on line 6",
        ),
        ([str(i) for i in range(30)], ["--time-unit", "1s"], "the unit is a number"),
        (
            [f"2024-03-01T00:00:{i:02d}" for i in range(30)],
            ["--time-unit", "7 parsecs"],
            "is not a duration",
        ),
    ],
)
def test_bad_time_column(tmp_path, capsys, times, argv, message):
    path = tmp_path / "timed.csv"
    rows = [f"{t},{i % 3},{'ab'[i % 2]}" for i, t in enumerate(times)]
    path.write_text("when,a,label\n" + "\n".join(rows) + "\n")
    base = ["--csv", str(path), "--target", "label", "--time-column", "when"]
    assert main([*base, *argv, "--decay", "0.9"]) == 2
    _, err = capsys.readouterr()
    assert err.startswith("samlp: error: ") and err.count("\n") == 1
    assert message in err


def test_convolution_accumulator_on_a_shape_problem(capsys):
    args = ["--data", "italy_power_demand", "--accumulator", "convolution"]
    assert main([*args, "--decay", "0.9", "--epochs", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^dataset\s+italy_power_demand$", out, re.M)
    table = _table(out)
    assert set(table) >= {"accumulator", "memoryless"}
    assert 0.5 < table["accumulator"][1] <= 1.0  # per-row accuracy of the model


def test_a_model_saved_from_datetimes_keeps_a_readable_time_unit(tmp_path, capsys):
    path = _write_timed_csv(tmp_path / "timed.csv", True)
    out_path = tmp_path / "m.pt"
    argv = ["--csv", str(path), "--target", "regime", "--stream-column", "series"]
    argv += ["--time-column", "when", "--decay", "0.9", "--epochs", "1"]
    assert main([*argv, "--time-unit", "20ms", "--out", str(out_path)]) == 0
    capsys.readouterr()
    clf = SignalAccumulativeClassifier.load(out_path)
    assert clf.time_unit == "20ms"  # not '20000000ns'
    assert list(clf.feature_names_in_) == ["x1", "x2", "x3"]
