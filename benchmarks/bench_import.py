"""Import time of ``sklearn_samlp`` against ``import torch, skorch`` alone.

Run ``python benchmarks/bench_import.py [--repeats 5]``. Each import runs in
a fresh interpreter under ``python -X importtime``; its time is the sum of
the top-level modules' cumulative times (what the import itself cost, without
the interpreter's start-up). The baseline, ``import torch, skorch``, is what
the package cannot avoid; the ratio says what the package adds on top (target:
at most 1.5x). The runs alternate, and each figure is the median.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import argparse
import os
import statistics
import subprocess
import sys

STATEMENTS = {
    "torch, skorch": "import torch, skorch",
    "sklearn_samlp": "import sklearn_samlp",
    "sklearn_samlp + CLI": "import sklearn_samlp._cli",
}


def import_seconds(statement):
    """Seconds that ``statement`` spends importing, from ``-X importtime``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    total_us = 0
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        if not name.startswith("  "):  # a top-level import
            total_us += int(cumulative)
    return total_us / 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    times = {name: [] for name in STATEMENTS}
    for _ in range(args.repeats):
        for name, statement in STATEMENTS.items():
            times[name].append(import_seconds(statement))
    base = statistics.median(times["torch, skorch"])
    print(f"{'import':<22}{'median s':>10}{'ratio':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<22}{median:>10.2f}{median / base:>7.2f}x")


if __name__ == "__main__":
    main()
