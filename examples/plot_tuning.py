"""
=========================================
Tuning the decay with series-aware splits
=========================================

The decay ``d`` sets how long the accumulator remembers (about ``1 / (1 - d)``
rows). Tune it, together with ``dropout``, with
:class:`~sklearn.model_selection.GridSearchCV`. Two points matter:

* the folds must hold whole series, or the model would be scored on series it
  has partly trained on: :class:`~sklearn.model_selection.GroupKFold` with the
  series ids as ``groups``;
* the estimator needs the series ids too, to give each series its own
  accumulator, in ``fit`` and in ``score``: scikit-learn's metadata routing
  passes them on (``set_fit_request`` and ``set_score_request``).
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

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="samlp_"))
out_dir.mkdir(parents=True, exist_ok=True)

# %%
# Data: the archive's own train/test partition
# ---------------------------------------------
# BasicMotions: 80 recordings of four activities, 100 time steps each. The
# search uses the 40 training recordings; the 40 others are kept for the end.
from sklearn_samlp.datasets import load_basic_motions

bunch = load_basic_motions()
train, test = bunch.split == 0, bunch.split == 1
X_train, y_train, ids_train = (
    bunch.data[train],
    bunch.target[train],
    bunch.stream_ids[train],
)
X_test, y_test, ids_test = bunch.data[test], bunch.target[test], bunch.stream_ids[test]

# %%
# Grid search with routed series ids
# ----------------------------------
# Inside ``config_context(enable_metadata_routing=True)`` the estimator asks
# for ``stream_ids`` in ``fit`` and ``score``; ``groups`` goes to the splitter.
import sklearn
from sklearn.model_selection import GridSearchCV, GroupKFold

from sklearn_samlp import SignalAccumulativeClassifier

decays = [0.0, 0.5, 0.9, 0.97]
dropouts = [0.0, 0.2, 0.4]
with sklearn.config_context(enable_metadata_routing=True):
    clf = SignalAccumulativeClassifier(
        max_epochs=10, batch_size=256, lr=5e-3, random_state=0
    )
    clf.set_fit_request(stream_ids=True).set_score_request(stream_ids=True)
    search = GridSearchCV(clf, {"decay": decays, "dropout": dropouts}, cv=GroupKFold(3))
    search.fit(X_train, y_train, stream_ids=ids_train, groups=ids_train)
    test_score = search.score(X_test, y_test, stream_ids=ids_test)
print(f"best parameters: {search.best_params_}")
print(f"mean CV accuracy {search.best_score_:.3f}, test accuracy {test_score:.3f}")

# %%
# Heatmap of the mean cross-validated accuracy
# --------------------------------------------
# ``cv_results_`` lists the candidates with ``decay`` varying slowest.
scores = search.cv_results_["mean_test_score"].reshape(len(decays), len(dropouts))
fig, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
image = ax.imshow(scores, cmap="viridis", origin="lower")
for i in range(len(decays)):
    for j in range(len(dropouts)):
        color = "black" if scores[i, j] > scores.mean() else "white"
        ax.text(j, i, f"{scores[i, j]:.3f}", ha="center", va="center", color=color)
ax.set_xticks(range(len(dropouts)), [str(d) for d in dropouts])
ax.set_yticks(range(len(decays)), [str(d) for d in decays])
ax.set(
    xlabel="dropout",
    ylabel="decay",
    title="Mean accuracy, 3-fold GroupKFold\n(BasicMotions, 40 training series)",
)
fig.colorbar(image, ax=ax, label="mean CV accuracy")
path = out_dir / "tuning_heatmap.png"
fig.savefig(path, dpi=100)
print(f"wrote {path}")
