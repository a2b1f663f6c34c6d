"""Save and load a fitted estimator as one file that cannot execute code.

The file is written by ``torch.save`` and holds only tensors, numbers, strings
and containers of them; it is read back with ``torch.load(weights_only=True)``,
whose unpickler refuses anything else. Labels, stream ids and parameters travel
as JSON strings, so that ``1`` and ``"1"`` stay distinct.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import json
import os
import pickle

import numpy as np
import torch

from ._online import OnlineState
from ._streams import StreamStates

FORMAT = "sklearn_samlp.SignalAccumulativeClassifier"
VERSION = 1
_KEYS = {
    "format",
    "version",
    "params",
    "classes",
    "classes_dtype",
    "n_features_in",
    "feature_names_in",
    "module_state",
    "optimizer_state",
    "decays",
    "stream_ids",
    "stream_states",
    "stream_elapsed",
    "stream_last_time",
    "rng_state",
    "n_iter",
}
_JSON_SCALARS = (str, int, float, bool, type(None))


def _to_json(value, what):
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Cannot save {what}: {exc}.") from exc


def save_estimator(estimator, path):
    """Write a fitted estimator to ``path`` (``SignalAccumulativeClassifier.save``)."""
    params = estimator.get_params()
    params["callbacks"] = None  # arbitrary objects (writers, files): not model state
    if not isinstance(params["random_state"], (int, type(None))):
        params["random_state"] = None  # a generator cannot be saved; its state is
    params["device"] = str(params["device"])
    if isinstance(params["decay"], (list, tuple, np.ndarray)):
        params["decay"] = [float(d) for d in params["decay"]]
    params["hidden_layer_sizes"] = np.atleast_1d(params["hidden_layer_sizes"]).tolist()
    ids = list(estimator._streams.index)
    if not all(isinstance(sid, _JSON_SCALARS) for sid in ids):
        raise TypeError(
            "Cannot save stream ids that are not str, int, float, bool or None."
        )
    net = estimator.net_
    online = getattr(estimator, "_online", None)
    content = {
        "format": FORMAT,
        "version": VERSION,
        "params": _to_json(params, "the parameters"),
        "classes": _to_json(estimator.classes_.tolist(), "the class labels"),
        "classes_dtype": estimator.classes_.dtype.str,
        "n_features_in": int(estimator.n_features_in_),
        "feature_names_in": _to_json(
            getattr(estimator, "feature_names_in_", np.array([])).tolist(),
            "feature names",
        ),
        "module_state": {k: v.cpu() for k, v in net.module_.state_dict().items()},
        "optimizer_state": _to_cpu(net.optimizer_.state_dict()),
        "stream_ids": _to_json(ids, "the stream ids"),
        "stream_states": torch.from_numpy(estimator._streams.states.copy()),
        "decays": torch.from_numpy(estimator.decays_),
        "stream_elapsed": torch.from_numpy(estimator._streams.elapsed.copy()),
        "stream_last_time": torch.from_numpy(estimator._streams.last_time.copy()),
        "rng_state": torch.from_numpy(estimator._rng_state.copy()),
        "n_iter": int(estimator.n_iter_),
        # Optional: absent in files written before partial_fit had online state.
        "online_state": (None if online is None else online.to_dict()),
    }
    directory = os.path.dirname(os.fspath(path))
    if directory:
        os.makedirs(directory, exist_ok=True)
    torch.save(content, path)


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def _read(path):
    """The dict stored at ``path``, or a ValueError that says what is wrong."""
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except pickle.UnpicklingError as exc:
        raise ValueError(
            f"Refusing to load {path!r}: it holds objects other than tensors and "
            f"plain data, which could execute code ({exc})."
        ) from exc
    except Exception as exc:  # truncated or not a torch file at all
        raise ValueError(f"{path!r} is not a readable model file: {exc}") from exc
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not a saved SignalAccumulativeClassifier.")
    if content.get("version") != VERSION:
        raise ValueError(
            f"{path!r} has format version {content.get('version')!r}; this "
            f"version of sklearn_samlp reads version {VERSION}."
        )
    missing = _KEYS - set(content)
    if missing:
        raise ValueError(f"{path!r} is incomplete: missing {sorted(missing)}.")
    return content


def load_estimator(cls, path, device=None):
    """Read an estimator written by :func:`save_estimator`."""
    content = _read(path)
    try:
        params = json.loads(content["params"])
        if isinstance(params["decay"], list):
            params["decay"] = tuple(params["decay"])
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        if device is None:
            saved = torch.device(params["device"])
            cuda_ok = saved.type != "cuda" or torch.cuda.is_available()
            device = params["device"] if cuda_ok else "cpu"
        if torch.device(device).type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"cannot load onto device={device!r}: CUDA is not available"
            )
        params["device"] = str(device)
        estimator = cls(**params)
        estimator._validate_params()

        classes = np.array(
            json.loads(content["classes"]), dtype=content["classes_dtype"]
        )
        names = json.loads(content["feature_names_in"])
        decays = content["decays"].numpy()
        n_features = int(content["n_features_in"])
        if not estimator.learn_decay:  # a shared decay per entry of the bank
            decays = tuple(decays[:, 0].tolist())
        streams = StreamStates(decays, n_features, estimator.time_unit)
        ids = json.loads(content["stream_ids"])
        arrays = {
            "states": (
                content["stream_states"].numpy(),
                (len(ids), streams.width),
                np.float32,
            ),
            "elapsed": (content["stream_elapsed"].numpy(), (len(ids),), np.float64),
            "last_time": (content["stream_last_time"].numpy(), (len(ids),), np.float64),
        }
        for name, (values, shape, dtype) in arrays.items():
            if values.shape != shape:
                raise ValueError(f"the stream {name} do not match the stream ids")
            setattr(streams, name, values.astype(dtype))
        streams.index = {sid: k for k, sid in enumerate(ids)}

        net = estimator._build_net(streams, len(classes))
        with torch.random.fork_rng(devices=[]):  # initialisation is overwritten
            net.initialize()
        net.module_.load_state_dict(content["module_state"])
        net.optimizer_.load_state_dict(content["optimizer_state"])
        online = content.get("online_state")
        if online is not None:
            online = OnlineState.from_dict(
                online, streams.n_features + streams.width, device
            )
    except (KeyError, TypeError, ValueError, RuntimeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path!r} holds an invalid model: {exc}") from exc

    estimator.classes_ = classes
    estimator.n_features_in_ = streams.n_features
    if names:
        estimator.feature_names_in_ = np.array(names, dtype=object)
    estimator.net_, estimator._streams = net, streams
    estimator._rng_state = content["rng_state"].numpy().copy()
    estimator.n_iter_ = int(content["n_iter"])
    estimator._online = online
    return estimator
