"""
===================================
Whole series: classify by shape
===================================

Classify whole series with :class:`~sklearn_samlp.SignalAccumulativeSeriesClassifier`
on the bundled GunPoint data set, where both classes raise the hand to the same
height and only the *shape* of the curve tells drawing a gun from pointing.

Each series is read as a stream. By default the classifier accumulates causal
MultiRocket-Hydra features (random convolutions of the signal, which see its
shape) and classifies their value at the last row with a ridge head; with
``head="mlp", accumulator="input"`` a row model accumulates the raw values,
which see only their level. Because the features are carried row by row, it
can also answer before a series ends:
the figure shows the accuracy of the prediction made after the first ``t``
rows of each test series.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

# %%
# Output folder
# -------------
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="samlp_"))
out_dir.mkdir(parents=True, exist_ok=True)

# %%
# Load GunPoint as series, with the archive's own train/test split
# ----------------------------------------------------------------
# :func:`~sklearn_samlp.rows_to_series` turns rows and stream ids into a list
# of ``(n_channels, n_timepoints)`` arrays, the layout of aeon and sktime.
from sklearn_samlp import SignalAccumulativeSeriesClassifier, rows_to_series
from sklearn_samlp.datasets import load_gunpoint

bunch = load_gunpoint()
train, test = bunch.split == 0, bunch.split == 1
X_train, y_train = rows_to_series(
    bunch.data[train], bunch.stream_ids[train], bunch.target[train]
)
X_test, y_test = rows_to_series(
    bunch.data[test], bunch.stream_ids[test], bunch.target[test]
)
print(f"{len(X_train)} training series, {len(X_test)} test series of 150 steps")

# %%
# Shape against level
# -------------------
models = {
    "convolutions (shape + level)": SignalAccumulativeSeriesClassifier(random_state=0),
    "raw input (level only)": SignalAccumulativeSeriesClassifier(
        head="mlp", accumulator="input", random_state=0
    ),
}
for name, model in models.items():
    model.fit(X_train, y_train)
    print(f"{name:<28} test accuracy {model.score(X_test, y_test):.3f}")

# %%
# Early classification: predict after the first t rows
# -----------------------------------------------------
lengths = np.arange(10, 151, 10)
fig, ax = plt.subplots(figsize=(6, 4))
for name, model in models.items():
    accuracy = [model.score([s[:, :t] for s in X_test], y_test) for t in lengths]
    ax.plot(lengths, accuracy, marker="o", label=name)
ax.set_xlabel("rows of the series seen")
ax.set_ylabel("test accuracy")
ax.set_title("GunPoint: prediction from the first t rows")
ax.legend()
fig.tight_layout()
path = out_dir / "series_shape.png"
fig.savefig(path, dpi=100)
print(f"wrote {path}")
