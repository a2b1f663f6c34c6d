"""
===========
Quick start
===========

Fit :class:`~sklearn_samlp.SignalAccumulativeClassifier` on the bundled
Japanese Vowels data set, predict the speaker of every time step of unseen
utterances, and compare with the same network without memory (``decay=0``).

Each row of the data is one 6.4 ms frame of an utterance (a *series*, or
stream); the model sees the frame and a decaying average of the frames of the
same series before it, so it gets more confident as an utterance goes on.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

# %%
# Output folder
# -------------
# Figures go to the folder given as the first argument, or to a temporary one.
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
# Load the data and split it by series
# ------------------------------------
# Whole utterances go to the training or the test set, never both, so the
# test score measures generalisation to new utterances.
from sklearn_samlp import SignalAccumulativeClassifier
from sklearn_samlp.datasets import load_japanese_vowels, train_test_split_streams

bunch = load_japanese_vowels()
X_train, X_test, y_train, y_test, ids_train, ids_test = train_test_split_streams(
    bunch.data, bunch.target, bunch.stream_ids, test_size=0.3, random_state=0
)
print(
    f"{len(np.unique(ids_train))} training and {len(np.unique(ids_test))} test series"
)

# %%
# Fit, predict and score
# ----------------------
# ``stream_ids`` tells the model which rows belong together: each series gets
# its own accumulator. The memoryless model is the same network with
# ``decay=0``.
models = {
    "accumulator (decay=0.9)": SignalAccumulativeClassifier(
        decay=0.9, max_epochs=15, batch_size=256, lr=5e-3, random_state=0
    ),
    "memoryless (decay=0)": SignalAccumulativeClassifier(
        decay=0.0, max_epochs=15, batch_size=256, lr=5e-3, random_state=0
    ),
}
predictions = {}
for name, clf in models.items():
    clf.fit(X_train, y_train, stream_ids=ids_train)
    predictions[name] = clf.predict(X_test, stream_ids=ids_test)
    accuracy = clf.score(X_test, y_test, stream_ids=ids_test)
    print(f"{name:<24} test accuracy {accuracy:.3f}")

# %%
# Accuracy along the utterance
# ----------------------------
# The accumulator pays off as the utterance goes on: the further in, the more
# frames it has averaged. (Utterances have 7 to 29 frames; only the steps that
# at least 30 test utterances reach are shown.)
step = np.concatenate([np.arange(np.sum(ids_test == s)) for s in np.unique(ids_test)])
steps = np.flatnonzero(np.bincount(step) >= 30)
fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for name, y_pred in predictions.items():
    correct = y_pred == y_test
    ax_acc.plot(
        steps, [correct[step == t].mean() for t in steps], marker="o", label=name
    )
ax_acc.set(
    xlabel="time step within the utterance",
    ylabel="test accuracy",
    title="Test accuracy by position in the series",
)
ax_acc.legend()
for name, clf in models.items():
    epochs = clf.history_[:, "epoch"]
    ax_loss.plot(epochs, clf.history_[:, "train_loss"], marker="o", label=name)
ax_loss.set(xlabel="epoch", ylabel="training loss", title="Training loss")
ax_loss.legend()
path = out_dir / "quickstart.png"
fig.savefig(path, dpi=100)
print(f"wrote {path}")
