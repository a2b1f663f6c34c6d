"""The command outputs that the README and docs/ quote are what the commands print.

Marker convention: a line ``<!-- readme-check: samlp ARGS -->`` in README.md
or any docs/*.md page, followed by a fenced block (blank lines between them
allowed). The test reruns ``python -m sklearn_samlp ARGS`` and asserts that
every line of the block appears in the command's output, once times (``6.2 s``)
are blanked out and runs of spaces collapsed: a block may quote the whole
result table or only some of its lines, but every number it quotes must be
what the command prints now. Add a section anywhere, with as many markers as
it needs; a fenced block without a marker is not checked, so quote command
output only under a marker.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"^<!-- readme-check: samlp (?P<args>.*?) ?-->\s*$")
SECONDS = re.compile(r"\d+(\.\d+)? s\b")


def quoted_outputs(page):
    """``(args, block lines)`` for every marked fenced block of ``page``."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found = []
    for i, line in enumerate(lines):
        match = MARKER.match(line)
        if not match:
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j == len(lines) or not lines[j].startswith("```"):
            raise ValueError(
                f"{page.name}:{i + 1}: marker not followed by a fenced block"
            )
        end = next(k for k in range(j + 1, len(lines)) if lines[k].startswith("```"))
        found.append((match["args"], lines[j + 1 : end]))
    return found


def normalised(line):
    return " ".join(SECONDS.sub("<time>", line).split())


CASES = [
    pytest.param(args, block, id=f"{page.name}: samlp {args}")
    for page in PAGES
    for args, block in quoted_outputs(page)
]


def test_the_readme_quotes_checked_output():
    """Removing the markers would silently stop the check: the README keeps one."""
    assert quoted_outputs(ROOT / "README.md")


@pytest.mark.parametrize("args, block", CASES)
def test_quoted_output_is_what_the_command_prints(args, block):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "sklearn_samlp", *shlex.split(args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    printed = {normalised(line) for line in run.stdout.splitlines()}
    missing = [
        line for line in block if line.strip() and normalised(line) not in printed
    ]
    assert not missing, f"samlp {args} no longer prints:\n" + "\n".join(missing)
