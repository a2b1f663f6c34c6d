"""
==========================================
Saving a model and resuming a stream later
==========================================

A model that follows streams carries state beyond its weights: every stream's
accumulator, the optimizer's moments and its random generator. Both ways of
saving a :class:`~sklearn_samlp.SignalAccumulativeClassifier` keep all of it,
so a model stopped mid-stream and loaded elsewhere continues exactly as if it
had never stopped:

* :meth:`~sklearn_samlp.SignalAccumulativeClassifier.save` and
  :meth:`~sklearn_samlp.SignalAccumulativeClassifier.load`: one file of
  tensors and plain data, read back with ``torch.load(weights_only=True)``,
  which cannot execute code;
* :func:`joblib.dump` and :func:`joblib.load` (pickle): the usual
  scikit-learn way; load only files you trust.
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
# Train on the first half of three streams
# ----------------------------------------
# The streams are interleaved time-major, as a live feed delivers them. The
# model learns the first half with ``partial_fit``, chunk by chunk.
from sklearn_samlp import SignalAccumulativeClassifier
from sklearn_samlp.datasets import make_regime_streams

n_streams, n_steps = 3, 600
X, y, stream_ids = make_regime_streams(
    n_streams=n_streams, n_steps=n_steps, switch_prob=0.01, random_state=1
)
time_major = np.arange(len(y)).reshape(n_streams, n_steps).T.ravel()
X, y, stream_ids = X[time_major], y[time_major], stream_ids[time_major]
half, chunk = len(y) // 2, 150

clf = SignalAccumulativeClassifier(decay=0.9, batch_size=16, lr=1e-2, random_state=0)
for start in range(0, half, chunk):
    rows = slice(start, start + chunk)
    clf.partial_fit(X[rows], y[rows], classes=[0, 1, 2], stream_ids=stream_ids[rows])

# %%
# Save it both ways, and load the copies
# --------------------------------------
import joblib

model_path = out_dir / "regime_model.pt"
clf.save(model_path)
joblib.dump(clf, out_dir / "regime_model.joblib")

models = {
    "never saved": clf,
    "save / load": SignalAccumulativeClassifier.load(model_path),
    "joblib dump / load": joblib.load(out_dir / "regime_model.joblib"),
}
for name, model in models.items():
    print(f"{name:<20} streams carried: {sorted(model.accumulators_)}")

# %%
# Resume the streams
# ------------------
# Each model goes on with the second half: predict a chunk, then learn it.
# The three stay identical, bit for bit, to the end.
proba = {name: [] for name in models}
for start in range(half, len(y), chunk):
    rows = slice(start, start + chunk)
    for name, model in models.items():
        proba[name].append(model.predict_proba(X[rows], stream_ids=stream_ids[rows]))
        model.partial_fit(X[rows], y[rows], stream_ids=stream_ids[rows])
proba = {name: np.concatenate(p) for name, p in proba.items()}
reference = proba["never saved"]
for name, p in proba.items():
    print(f"{name:<20} identical predictions: {np.array_equal(p, reference)}")
accuracy = np.mean(reference.argmax(axis=1) == y[half:])
print(f"accuracy on the second half, predicted before learning it: {accuracy:.3f}")

# %%
# Plot the probability of the true regime for stream 0 after the save point:
# the three curves lie on top of each other.
stream0 = stream_ids[half:] == 0
true_proba = {name: p[stream0, y[half:][stream0]] for name, p in proba.items()}
t = np.arange(n_steps // 2, n_steps)
fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
styles = [{"linewidth": 4, "alpha": 0.35}, {"linestyle": "--"}, {"linestyle": ":"}]
for (name, p), style in zip(true_proba.items(), styles):
    ax.plot(t, p, label=name, **style)
ax.set(
    xlabel="time step of stream 0 (saved and resumed at step 300)",
    ylabel="predicted probability of the true regime",
    title="Resumed after saving: identical to the model never saved",
    ylim=(-0.02, 1.05),
)
fig.legend(loc="outside lower center", ncols=3)
path = out_dir / "persistence_resume.png"
fig.savefig(path, dpi=100)
print(f"wrote {path}")
