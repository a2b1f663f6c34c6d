"""Save and load a fitted series classifier as one file that cannot execute code.

The same safe format as the row model's (``_persistence.py``): ``torch.save``
of tensors, numbers and JSON strings, read back with
``torch.load(weights_only=True)``, every field checked against the others
before anything is built.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import json
import os

import numpy as np
import torch

from ._checkpoint import check_load_device, read_checkpoint, write_atomically
from ._rocket import StreamingRocket
from ._series_head import FeatureScaler, LogisticHead, RidgeHead

FORMAT = "sklearn_samlp.SignalAccumulativeSeriesClassifier"
VERSION = 1
_SEQUENCES = ("decay", "convolution_decay", "hidden_layer_sizes", "prefix_rows")
_HEADS = {"ridge": RidgeHead, "logistic": LogisticHead}
_ROCKET = ("dilations", "channel_masks", "biases", "hydra_dilations", "hydra_weights")
_KEYS = {
    "format",
    "version",
    "params",
    "classes",
    "classes_dtype",
    "n_features_in",
    "feature_names_in",
    "channel_mean",
    "channel_scale",
    "rocket",
    "scaler_mean",
    "scaler_scale",
    "head_kind",
    "head_coef",
    "head_intercept",
    "head_temperature",
}


def _json(value, what):
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Cannot save {what}: {exc}.") from exc


def save_series_estimator(estimator, path):
    """Write a fitted series classifier to ``path``."""
    if hasattr(estimator, "estimator_"):
        raise TypeError(
            "save writes the closed-form heads; a model fitted with head='mlp' "
            "holds a row model: save that one (estimator_.save) or pickle the "
            "whole estimator with joblib."
        )
    params = estimator.get_params()
    if not isinstance(params["random_state"], (int, type(None))):
        params["random_state"] = None  # a generator cannot be saved
    params["device"] = str(params["device"])
    for name in _SEQUENCES:  # tuples travel as JSON lists
        if np.ndim(params[name]):
            params[name] = np.asarray(params[name]).tolist()
        elif isinstance(params[name], np.generic):
            params[name] = params[name].item()
    head = estimator.head_
    content = {
        "format": FORMAT,
        "version": VERSION,
        "params": _json(params, "the parameters"),
        "classes": _json(estimator.classes_.tolist(), "the class labels"),
        "classes_dtype": estimator.classes_.dtype.str,
        "n_features_in": int(getattr(estimator, "n_features_in_", -1)),
        "feature_names_in": _json(
            getattr(estimator, "feature_names_in_", np.array([])).tolist(),
            "feature names",
        ),
        "channel_mean": torch.from_numpy(estimator.channel_mean_.copy()),
        "channel_scale": torch.from_numpy(estimator.channel_scale_.copy()),
        "rocket": {
            name: torch.from_numpy(np.ascontiguousarray(values))
            for name, values in estimator.rocket_.to_arrays().items()
        },
        "head_kind": "ridge" if isinstance(head, RidgeHead) else "logistic",
        **_head_entries(estimator.scaler_, head),
    }
    if hasattr(estimator, "prefix_heads_"):  # one more head per prefix row
        content["prefix_heads"] = [
            {"row": int(row), **_head_entries(*pair)}
            for row, pair in zip(estimator.prefix_rows_, estimator.prefix_heads_)
        ]
    write_atomically(content, os.path.expanduser(os.fspath(path)))


def _head_entries(scaler, head):
    return {
        "scaler_mean": torch.from_numpy(scaler.mean_.copy()),
        "scaler_scale": torch.from_numpy(scaler.scale_.copy()),
        "head_coef": torch.from_numpy(head.coef_.copy()),
        "head_intercept": torch.from_numpy(head.intercept_.copy()),
        "head_temperature": float(getattr(head, "temperature_", 1.0)),
    }


def load_series_estimator(cls, path, device=None):
    """Read a classifier written by :func:`save_series_estimator`."""
    path = os.path.expanduser(os.fspath(path))
    content = read_checkpoint(
        path,
        what=cls.__name__,
        format_name=FORMAT,
        version_key="version",
        version=VERSION,
        keys=_KEYS,
    )

    def fail(problem):
        return ValueError(f"Cannot load {cls.__name__} from {path!r}: {problem}")

    try:
        estimator = _build(cls, content, fail)
    except (TypeError, KeyError, json.JSONDecodeError, AttributeError) as exc:
        raise fail(f"malformed entries ({exc}).") from exc
    if device is None:  # where it ran, unless that is a GPU this machine lacks
        saved = torch.device(estimator.device)
        device = (
            "cpu" if saved.type == "cuda" and not torch.cuda.is_available() else saved
        )
    estimator.device = str(check_load_device(device, path))
    return estimator


def _build(cls, content, fail):
    params = json.loads(content["params"])
    for name in _SEQUENCES:
        if isinstance(params.get(name), list):
            params[name] = tuple(params[name])
    estimator = cls()
    try:
        estimator.set_params(**params)
        estimator._validate_params()
    except (TypeError, ValueError) as exc:
        raise fail(f"invalid parameters ({exc}).") from exc
    if estimator.head == "mlp":
        raise fail("head='mlp' models are not saved in this format.")
    classes = np.asarray(json.loads(content["classes"]))
    dtype = np.dtype(content["classes_dtype"])
    if dtype.kind not in "biufUS" or classes.ndim != 1 or len(classes) < 2:
        raise fail("the classes must be at least 2 labels of a plain dtype.")
    cast = classes.astype(dtype)
    if not np.array_equal(cast.astype(classes.dtype), classes) or len(
        np.unique(cast)
    ) != len(cast):
        raise fail(f"the classes do not fit their dtype {dtype.str!r} or repeat.")
    n_classes = len(cast)

    mean = _array(content, "channel_mean", np.float32, fail)
    scale = _array(content, "channel_scale", np.float32, fail)
    if mean.ndim != 1 or scale.shape != mean.shape or not len(mean):
        raise fail("channel_mean and channel_scale must be 1-D, one per channel.")
    if not np.all(scale > 0):
        raise fail("channel_scale must be positive.")
    n_channels = len(mean)

    rocket_arrays = content["rocket"]
    if not isinstance(rocket_arrays, dict) or set(rocket_arrays) != set(_ROCKET):
        raise fail(f"rocket must hold exactly {list(_ROCKET)}.")
    try:
        rocket = StreamingRocket.from_arrays(
            n_channels, {k: np.asarray(v.numpy()) for k, v in rocket_arrays.items()}
        )
    except ValueError as exc:
        raise fail(str(exc)) from exc

    kind = content["head_kind"]
    if kind not in _HEADS:
        raise fail(f"unknown head {kind!r}.")
    scaler, head = _read_head(content, kind, rocket, n_classes, fail)
    prefix = content.get("prefix_heads")
    if (prefix is None) != (estimator.prefix_rows is None):
        raise fail("prefix heads must be saved exactly when prefix_rows is set.")
    if prefix is not None:
        if not isinstance(prefix, list) or not all(isinstance(e, dict) for e in prefix):
            raise fail("prefix_heads must be a list of entries.")
        rows = [e.get("row") for e in prefix]
        if not all(isinstance(r, int) and not isinstance(r, bool) for r in rows) or (
            (rows and rows[0] < 1) or np.any(np.diff(rows) <= 0)
        ):
            raise fail("the prefix heads' rows must be ascending whole rows >= 1.")
        estimator.prefix_rows_ = np.asarray(rows, dtype=np.int64)
        estimator.prefix_heads_ = [
            _read_head(e, kind, rocket, n_classes, fail) for e in prefix
        ]

    n_features_in = content["n_features_in"]
    names = np.asarray(json.loads(content["feature_names_in"]), dtype=object)
    if isinstance(n_features_in, bool) or not isinstance(n_features_in, int):
        raise fail("n_features_in must be an int.")
    if n_features_in != -1:
        if n_features_in < 1 or n_channels != 1:
            raise fail("n_features_in is set only for univariate 2-D fits.")
        estimator.n_features_in_ = n_features_in
        if len(names):
            if len(names) != n_features_in:
                raise fail("feature_names_in must have n_features_in names.")
            estimator.feature_names_in_ = names
    estimator.classes_ = cast
    estimator.n_channels_ = n_channels
    estimator.channel_mean_, estimator.channel_scale_ = mean, scale
    estimator.rocket_, estimator.scaler_, estimator.head_ = rocket, scaler, head
    return estimator


def _read_head(content, kind, rocket, n_classes, fail):
    """(scaler, head) from their entries, each checked against the rocket."""
    scaler = FeatureScaler()
    scaler.hydra_columns = rocket.feature_slices()["hydra"]
    scaler.mean_ = _array(content, "scaler_mean", np.float32, fail)
    scaler.scale_ = _array(content, "scaler_scale", np.float32, fail)
    if scaler.mean_.shape != (rocket.n_outputs,) or scaler.scale_.shape != (
        rocket.n_outputs,
    ):
        raise fail(f"the feature scaler must have {rocket.n_outputs} entries.")
    if not np.all(scaler.scale_ > 0):
        raise fail("the feature scaler's scale must be positive.")
    head = _HEADS[kind]()
    head.coef_ = _array(content, "head_coef", np.float32, fail)
    head.intercept_ = _array(content, "head_intercept", np.float32, fail)
    rows = 1 if kind == "ridge" and n_classes == 2 else n_classes
    if head.coef_.shape != (rows, rocket.n_outputs) or head.intercept_.shape != (rows,):
        raise fail(
            f"the head's coefficients must be ({rows}, {rocket.n_outputs}) "
            f"with {rows} intercepts for {n_classes} classes."
        )
    temperature = content["head_temperature"]
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise fail("head_temperature must be a number.")
    if not 0 < temperature < 1e6:
        raise fail("head_temperature must be positive and finite.")
    if kind == "ridge":
        head.temperature_ = float(temperature)
    return scaler, head


def _array(content, name, dtype, fail):
    value = content[name]
    if not isinstance(value, torch.Tensor):
        raise fail(f"{name} must be a tensor.")
    array = value.numpy()
    if array.dtype != dtype or not np.isfinite(array).all():
        raise fail(f"{name} must be finite {np.dtype(dtype).name}.")
    return array.copy()
