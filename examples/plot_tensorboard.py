"""
===============================
Logging training to TensorBoard
===============================

The estimator trains on skorch, so skorch's callbacks plug into its
``callbacks`` parameter. :class:`skorch.callbacks.TensorBoard` writes the
per-epoch training loss and accuracy (``train_loss``, ``train_acc``) to a
TensorBoard log; ``clf.history_`` holds the same numbers, for plotting
without TensorBoard. View the log with ``tensorboard --logdir <folder>/runs``.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

# %%
# Output folder
# -------------
# The figure and the TensorBoard log (``runs/``) go to the folder given as
# the first argument, or to a temporary one.
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="samlp_"))
out_dir.mkdir(parents=True, exist_ok=True)

# %%
# Name the logged values
# ----------------------
from skorch.callbacks import TensorBoard
from skorch.callbacks.logging import rename_tensorboard_key
from torch.utils.tensorboard import SummaryWriter


def tensorboard_key(key):
    """Group the accuracy apart from skorch's ``Loss/`` section."""
    return f"Accuracy/{key}" if key.endswith("_acc") else rename_tensorboard_key(key)


# %%
# Train with the callback
# -----------------------
from sklearn_samlp import SignalAccumulativeClassifier
from sklearn_samlp.datasets import load_basic_motions, train_test_split_streams

bunch = load_basic_motions()
X_train, X_test, y_train, y_test, ids_train, ids_test = train_test_split_streams(
    bunch.data, bunch.target, bunch.stream_ids, test_size=0.3, random_state=0
)
logdir = out_dir / "runs" / "decay_0.9"
clf = SignalAccumulativeClassifier(
    decay=0.9,
    max_epochs=20,
    batch_size=256,
    lr=5e-3,
    random_state=0,
    callbacks=[TensorBoard(SummaryWriter(logdir), key_mapper=tensorboard_key)],
)
clf.fit(X_train, y_train, stream_ids=ids_train)  # the callback closes the writer
print(f"test accuracy {clf.score(X_test, y_test, stream_ids=ids_test):.3f}")
for event_file in sorted(logdir.glob("events.out.tfevents.*")):
    print(f"wrote {event_file}")

# %%
# The same curves from ``history_``
# ---------------------------------
history = clf.history_
epochs = history[:, "epoch"]
fig, ax_loss = plt.subplots(figsize=(7, 4), layout="constrained")
ax_loss.plot(
    epochs, history[:, "train_loss"], marker="o", color="C0", label="training loss"
)
ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy)")
ax_acc = ax_loss.twinx()
ax_acc.plot(
    epochs, history[:, "train_acc"], marker="s", color="C1", label="training accuracy"
)
ax_acc.set_ylabel("training accuracy")
ax_loss.set_title("Training curves of one fit (BasicMotions, decay=0.9)")
fig.legend(loc="outside lower center", ncols=2)
path = out_dir / "tensorboard_loss.png"
fig.savefig(path, dpi=100)
print(f"wrote {path}")
