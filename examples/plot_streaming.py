"""
=====================================
Test-then-train evaluation on streams
=====================================

A model that learns from a stream should be judged on rows it has not seen
yet. :func:`~sklearn_samlp.prequential_score` does that: it cuts the rows
into chunks and, for each chunk, first predicts and scores it, then trains on
it with ``partial_fit``. Here four synthetic streams switch between three
hidden regimes; each row is the regime's mean buried in noise, so a single
row says little and the decaying accumulator of the stream says much more.
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
# Four interleaved streams
# ------------------------
# :func:`~sklearn_samlp.datasets.make_regime_streams` returns the streams one
# after another; a live feed delivers them interleaved, one row of each stream
# per time step, so the rows are reordered time-major.
from sklearn_samlp import SignalAccumulativeClassifier, prequential_score
from sklearn_samlp.datasets import make_regime_streams

n_streams, n_steps = 4, 1000
X, y, stream_ids = make_regime_streams(
    n_streams=n_streams, n_steps=n_steps, switch_prob=0.01, random_state=0
)
time_major = np.arange(len(y)).reshape(n_streams, n_steps).T.ravel()
X, y, stream_ids = X[time_major], y[time_major], stream_ids[time_major]

# %%
# Prequential evaluation
# ----------------------
# Each chunk of 100 rows is one ``partial_fit`` epoch, so small batches give
# the network enough steps to learn from it. The first chunk is not scored:
# there is no model yet to predict it.
results = {}
for decay in (0.9, 0.0):
    clf = SignalAccumulativeClassifier(
        decay=decay, batch_size=16, lr=1e-2, random_state=0
    )
    results[decay] = prequential_score(clf, X, y, stream_ids, chunk_size=100)
    mean_score = np.nanmean(results[decay].scores)
    print(f"decay={decay}: mean prequential accuracy {mean_score:.3f}")

fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
for decay, result in results.items():
    label = f"decay={decay}" + (" (memoryless)" if decay == 0 else "")
    ax.plot(result.chunk_stops, result.scores, marker=".", label=label)
ax.axhline(1 / 3, color="grey", linestyle=":", label="chance (3 regimes)")
ax.set(
    xlabel="rows seen (end of chunk)",
    ylabel="accuracy on the chunk, before training on it",
    title="Prequential accuracy on four interleaved regime streams",
    ylim=(0, 1.05),
)
ax.legend(loc="lower right")
path = out_dir / "streaming_accuracy.png"
fig.savefig(path, dpi=100)
print(f"wrote {path}")

# %%
# What the accumulator sees
# -------------------------
# ``update_accumulators`` advances a stream's accumulator without training,
# and ``accumulators_`` reads it. Replaying the first 300 rows of stream 0
# one at a time, under a new stream id, traces
# ``a_t = d * a_{t-1} + (1 - d) * x_t`` next to the raw signal: the noise
# averages out and the regime shows. (The model divides the raw state by
# ``1 - d**n`` after ``n`` rows, which removes its start-up bias towards 0.)
clf = SignalAccumulativeClassifier(decay=0.9, max_epochs=1, random_state=0)
clf.fit(X[:100], y[:100], stream_ids=stream_ids[:100])
rows = np.flatnonzero(stream_ids == 0)[:300]
trace = []
for row in rows:
    clf.update_accumulators(X[row : row + 1], stream_ids=[-1])
    trace.append(clf.accumulators_[-1])
trace = np.array(trace)

# Show the feature whose regime means differ most.
regime_means = np.array([X[y == regime].mean(axis=0) for regime in np.unique(y)])
feature = int(np.argmax(np.ptp(regime_means, axis=0)))
t = np.arange(len(rows))
fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
colors = plt.get_cmap("Pastel1").colors
for regime in np.unique(y[rows]):
    ax.fill_between(
        t,
        0,
        1,
        where=y[rows] == regime,
        color=colors[regime],
        transform=ax.get_xaxis_transform(),
        step="mid",
        label=f"regime {regime}",
    )
ax.plot(t, X[rows, feature], color="0.5", linewidth=0.8, label="raw signal $x_t$")
ax.plot(t, trace[:, feature], color="C0", linewidth=2, label="accumulator $a_t$, d=0.9")
ax.set(
    xlabel="time step of stream 0",
    ylabel=f"feature {feature}",
    title="One feature of stream 0: raw rows and their accumulator",
)
fig.legend(loc="outside lower center", ncols=5, fontsize="small")
path = out_dir / "accumulator_trace.png"
fig.savefig(path, dpi=100)
print(f"wrote {path}")
