"""save / load of SignalAccumulativeSeriesClassifier, and files that lie."""

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from _forge import forge

from sklearn_samlp import SignalAccumulativeSeriesClassifier

CHEAP = dict(n_combinations=168, n_groups=2, random_state=0)


def data(n_series=24, n_channels=2, length=30, n_classes=2):
    rng = np.random.default_rng(0)
    y = np.arange(n_series) % n_classes
    t = np.linspace(0, 1, length)
    X = np.sin(2 * np.pi * (1 + y[:, None, None]) * t)
    return X + 0.3 * rng.normal(size=(n_series, n_channels, length)), y


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X, y = data()
    clf = SignalAccumulativeSeriesClassifier(**CHEAP).fit(X, y)
    path = tmp_path_factory.mktemp("series") / "model.pt"
    clf.save(path)
    return clf, path, X


@pytest.mark.parametrize("head, n_classes", [("ridge", 2), ("logistic", 3)])
def test_save_load_predicts_the_same(tmp_path, head, n_classes):
    X, y = data(n_classes=n_classes)
    labels = np.array(["low", "mid", "high"])[y]
    clf = SignalAccumulativeSeriesClassifier(head=head, **CHEAP).fit(X, labels)
    clf.save(tmp_path / "m.pt")
    loaded = SignalAccumulativeSeriesClassifier.load(tmp_path / "m.pt")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.get_params() == clf.get_params()
    assert loaded.classes_.tolist() == clf.classes_.tolist()
    pickled = joblib.load(_dump(clf, tmp_path / "m.joblib"))
    np.testing.assert_array_equal(pickled.predict_proba(X), clf.predict_proba(X))


def _dump(model, path):
    joblib.dump(model, path)
    return path


def test_2d_fit_keeps_its_width_and_names(tmp_path):
    X, y = data(n_channels=1)
    frame = pd.DataFrame(X[:, 0], columns=[f"t{k}" for k in range(X.shape[2])])
    clf = SignalAccumulativeSeriesClassifier(**CHEAP).fit(frame, y)
    clf.save(tmp_path / "m.pt")
    loaded = SignalAccumulativeSeriesClassifier.load(tmp_path / "m.pt")
    assert loaded.n_features_in_ == X.shape[2]
    assert loaded.feature_names_in_.tolist() == frame.columns.tolist()
    np.testing.assert_array_equal(loaded.predict(frame), clf.predict(frame))
    with pytest.raises(ValueError, match="feature"):
        loaded.predict(frame.iloc[:, :10])


def test_mlp_head_is_refused_with_the_way_out(tmp_path):
    X, y = data()
    clf = SignalAccumulativeSeriesClassifier(
        head="mlp", max_epochs=1, hidden_layer_sizes=(4,), random_state=0
    ).fit(X, y)
    with pytest.raises(TypeError, match="joblib"):
        clf.save(tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()


def _perturbations(content):
    """(name, change) pairs: each makes one field contradict the others."""
    rocket = content["rocket"]
    yield "params", lambda c: c.update(params='{"head": "tree"}')
    yield "classes", lambda c: c.update(classes="[1]")
    yield "classes dtype", lambda c: c.update(classes_dtype="|O")
    yield "channel shape", lambda c: c.update(channel_mean=torch.zeros(3))
    yield "channel scale", lambda c: c.update(channel_scale=-c["channel_scale"])
    yield "channel NaN", lambda c: c.update(channel_mean=c["channel_mean"] * np.nan)
    yield "channel dtype", lambda c: c.update(channel_mean=c["channel_mean"].double())
    yield "dilations", lambda c: c["rocket"].update(dilations=torch.tensor([0]))
    yield (
        "masks",
        lambda c: c["rocket"].update(channel_masks=rocket["channel_masks"] * 2),
    )
    yield "biases", lambda c: c["rocket"].update(biases=rocket["biases"][..., :0, :])
    yield "bias NaN", lambda c: c["rocket"].update(biases=rocket["biases"] * np.nan)
    yield (
        "hydra grid",
        lambda c: c["rocket"].update(hydra_weights=rocket["hydra_weights"] + 1e-4),
    )
    yield "rocket keys", lambda c: c["rocket"].pop("biases")
    yield "scaler shape", lambda c: c.update(scaler_mean=c["scaler_mean"][:-1])
    yield "scaler scale", lambda c: c.update(scaler_scale=c["scaler_scale"] * 0)
    yield "head kind", lambda c: c.update(head_kind="tree")
    yield "head coef", lambda c: c.update(head_coef=c["head_coef"][:, :-1])
    yield "head rows", lambda c: c.update(head_coef=c["head_coef"].repeat(3, 1))
    yield "intercept", lambda c: c.update(head_intercept=torch.zeros(5))
    yield "coef inf", lambda c: c.update(head_coef=c["head_coef"] / 0)
    yield "temperature", lambda c: c.update(head_temperature=-1.0)
    yield "temperature type", lambda c: c.update(head_temperature="1")
    yield "n_features_in", lambda c: c.update(n_features_in=5)
    yield (
        "format",
        lambda c: c.update(format="sklearn_samlp.SignalAccumulativeClassifier"),
    )
    yield "version", lambda c: c.update(version=2)
    yield "missing", lambda c: c.pop("head_coef")


def test_every_lying_field_is_refused(saved, tmp_path):
    clf, path, X = saved
    original = torch.load(path, weights_only=True)
    names = [name for name, _ in _perturbations(original)]
    for name in names:
        content = torch.load(path, weights_only=True)
        change = dict(_perturbations(content))[name]
        change(content)
        forge(content, tmp_path / "lie.pt")
        with pytest.raises(ValueError, match="Cannot load"):
            SignalAccumulativeSeriesClassifier.load(tmp_path / "lie.pt")
    loaded = SignalAccumulativeSeriesClassifier.load(path)  # the true file loads
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_files_that_are_not_models_are_refused(saved, tmp_path):
    _, path, _ = saved
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(ValueError, match="not a readable model file"):
        SignalAccumulativeSeriesClassifier.load(tmp_path / "text.pt")
    (tmp_path / "half.pt").write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match="Cannot load"):
        SignalAccumulativeSeriesClassifier.load(tmp_path / "half.pt")
    with pytest.raises(OSError):
        SignalAccumulativeSeriesClassifier.load(tmp_path / "missing.pt")


def test_save_needs_a_fitted_model(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SignalAccumulativeSeriesClassifier().save(tmp_path / "m.pt")
