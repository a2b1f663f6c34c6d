# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

"""Smoke tests: every gallery example runs and writes its figures."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _warning_policy import SUBPROCESS_WARNINGS, our_deprecations

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("plot_*.py"))


def test_examples_found():
    assert len(EXAMPLES) >= 5


@pytest.mark.examples
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.stem)
def test_example_runs(script, tmp_path):
    out_dir = tmp_path / "figures"
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        # The networks are small: one torch thread is as fast on an idle
        # machine and much faster on a busy one.
        "OMP_NUM_THREADS": "1",
        # The package's own warning policy, also inside the examples.
        "PYTHONWARNINGS": SUBPROCESS_WARNINGS,
    }
    proc = subprocess.run(
        [sys.executable, str(script), str(out_dir)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert our_deprecations(proc.stderr) == [], proc.stderr
    pngs = sorted(out_dir.rglob("*.png"))
    assert pngs, proc.stdout
    for png in pngs:
        assert png.stat().st_size > 10_000
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert str(png) in proc.stdout  # the script prints what it wrote
    # Nothing is written outside the output folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures"]


@pytest.mark.examples
def test_example_default_output_folder(tmp_path):
    # Without an argument, figures go to a fresh temporary folder.
    script = EXAMPLES_DIR / "plot_persistence.py"
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "TMPDIR": str(tmp_path),
    }
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert our_deprecations(proc.stderr) == [], proc.stderr
    (folder,) = [p for p in tmp_path.iterdir() if p.name.startswith("samlp_")]
    assert (folder / "persistence_resume.png").exists()
