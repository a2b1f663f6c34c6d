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

import numpy as np
import torch

from ._checkpoint import check_load_device, read_checkpoint, write_atomically
from ._convolution import CausalConvolutions
from ._convolution_streams import ConvolutionStreams
from ._online import _BOOST, OnlineState
from ._serving import inference_snapshot
from ._streams import StreamStates, _check_decays, _check_no_nan
from ._time import duration_text, is_duration, time_unit_value

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
    if is_duration(params["time_unit"]):  # a Timedelta: as a string, in ns
        params["time_unit"] = duration_text(time_unit_value(params["time_unit"]))
    for name in ("decay", "convolution_decay"):
        if isinstance(params[name], (list, tuple, np.ndarray)):
            params[name] = [float(d) for d in params[name]]
    params["hidden_layer_sizes"] = np.atleast_1d(params["hidden_layer_sizes"]).tolist()
    ids, states, elapsed, last_time = estimator._streams.to_arrays()
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
        "stream_states": torch.from_numpy(states),
        "decays": torch.from_numpy(estimator.decays_),
        "stream_elapsed": torch.from_numpy(elapsed),
        "stream_last_time": torch.from_numpy(last_time),
        "rng_state": torch.from_numpy(estimator._rng_state.copy()),
        "n_iter": int(estimator.n_iter_),
        # Optional: absent in files written before partial_fit had online state.
        "online_state": (None if online is None else online.to_dict()),
    }
    if isinstance(estimator._streams, ConvolutionStreams):
        streams = estimator._streams
        content["convolution"] = {
            name: torch.from_numpy(values)
            for name, values in streams.convolutions.to_arrays().items()
        }
        # The decays the states were accumulated with, not the parameter: it
        # may have been set since.
        content["convolution"]["decays"] = torch.tensor(
            streams.convolution_decays, dtype=torch.float64
        )
    # "~/model.pt" is a file in the home folder, not in a folder named "~".
    write_atomically(content, os.path.expanduser(os.fspath(path)))


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def load_estimator(cls, path, device=None):
    """Read an estimator written by :func:`save_estimator`.

    Every field is checked against the others before anything is built; a
    file that contradicts itself raises ValueError.
    """
    path = os.path.expanduser(os.fspath(path))
    content = read_checkpoint(
        path,
        what="SignalAccumulativeClassifier",
        format_name=FORMAT,
        version_key="version",
        version=VERSION,
        keys=_KEYS,
    )
    fname = os.fspath(path)
    try:
        params = json.loads(content["params"])
        for name in ("decay", "convolution_decay"):
            if isinstance(params.get(name), list):
                params[name] = tuple(params[name])
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        if device is None:
            saved = torch.device(params["device"])
            cuda_ok = saved.type != "cuda" or torch.cuda.is_available()
            device = params["device"] if cuda_ok else "cpu"
        params["device"] = str(check_load_device(device, fname))
        estimator = cls(**params)
        estimator._validate_params()
        fitted = _check_fitted_fields(content, estimator)
        net = estimator._build_net(fitted["streams"], len(fitted["classes"]))
        with torch.random.fork_rng(devices=[]):  # initialisation is overwritten
            net.initialize()
        _check_module_state(content["module_state"], net.module_)
        net.module_.load_state_dict(content["module_state"])
        # The optimizer's step trusts its state's shapes: a wrong one writes
        # out of bounds, so every tensor is checked before torch sees it.
        _check_optimizer_state(content["optimizer_state"], net.optimizer_)
        net.optimizer_.load_state_dict(content["optimizer_state"])
        online = content.get("online_state")
        if online is not None:
            _check_online_state(
                online, fitted["streams"].n_inputs, len(fitted["classes"])
            )
            online = OnlineState.from_dict(online, fitted["streams"].n_inputs, device)
    except (
        KeyError,
        TypeError,
        ValueError,
        RuntimeError,
        AttributeError,
        IndexError,
        json.JSONDecodeError,
    ) as exc:
        raise ValueError(f"{fname!r} holds an invalid model: {exc}") from exc

    estimator.classes_ = fitted["classes"]
    estimator.n_features_in_ = fitted["streams"].n_features
    if fitted["names"] is not None:
        estimator.feature_names_in_ = fitted["names"]
    estimator.net_, estimator._streams = net, fitted["streams"]
    estimator._rng_state = fitted["rng_state"]
    estimator.n_iter_ = fitted["n_iter"]
    estimator._online = online
    estimator._predictor = inference_snapshot(
        net, online, fitted["streams"], fitted["classes"]
    )
    return estimator


def _check_fitted_fields(content, estimator):
    """The fitted state in ``content``, each field checked against the others."""
    labels = json.loads(content["classes"])
    dtype = content["classes_dtype"]
    try:
        classes = np.array(labels, dtype=dtype)
    except (OverflowError, TypeError, ValueError) as exc:
        raise ValueError(f"classes {labels!r} cannot be held as {dtype!r}: {exc}.")
    if classes.ndim == 1 and classes.tolist() != labels:  # e.g. "<U1" truncates
        raise ValueError(
            f"classes_dtype {dtype!r} changes the labels {labels!r} to "
            f"{classes.tolist()!r}."
        )
    if classes.ndim != 1 or len(classes) < 2:
        raise ValueError(f"classes must be 2 or more labels, got {classes.tolist()}.")
    _check_no_nan(classes, "classes")
    if not np.array_equal(np.unique(classes), classes):
        raise ValueError(f"classes are not sorted and unique: {classes.tolist()}.")

    n_features = content["n_features_in"]
    if (
        isinstance(n_features, bool)
        or not isinstance(n_features, int)
        or n_features < 1
    ):
        raise ValueError(f"n_features_in must be a positive int, got {n_features!r}.")
    names = json.loads(content["feature_names_in"])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError("feature_names_in must be a list of str.")
    if names and len(names) != n_features:
        raise ValueError(
            f"{len(names)} feature names for n_features_in={n_features} features."
        )

    decays = _finite_array(content, "decays", np.float64)
    expected = np.asarray(_check_decays(estimator.decay))
    n_decays = len(expected) * (2 if estimator.learn_decay else 1)  # start + learned
    if decays.shape != (n_decays, n_features):
        raise ValueError(
            f"decays have shape {decays.shape}, expected {(n_decays, n_features)} "
            "for the decay parameter and n_features_in."
        )
    if estimator.learn_decay:
        start = np.broadcast_to(expected[:, None], (len(expected), n_features))
        if not np.array_equal(decays[: len(expected)], start):
            raise ValueError("the first decays contradict the decay parameter.")
        if not np.all((decays > 0) & (decays < 1)):
            raise ValueError("the learned decays must be in (0, 1).")
    else:
        if not np.array_equal(decays, np.broadcast_to(expected[:, None], decays.shape)):
            raise ValueError(
                f"the decays {decays[:, 0].tolist()} contradict the decay parameter "
                f"{estimator.decay!r}."
            )
        decays = tuple(decays[:, 0].tolist())  # a shared decay per entry of the bank

    for name in ("module_state", "optimizer_state"):
        for key, tensor in _tensors(content[name]):
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise ValueError(f"{name} {key} contains NaN or infinity.")

    cls, extra = StreamStates, {}
    if (estimator.accumulator == "convolution") != ("convolution" in content):
        raise ValueError(
            f"accumulator={estimator.accumulator!r} contradicts the stream "
            "states the file holds."
        )
    if estimator.accumulator == "convolution":
        cls, extra = ConvolutionStreams, _convolution_fields(content, estimator)
    streams = cls.from_arrays(
        decays,
        n_features,
        time_unit_value(estimator.time_unit),
        json.loads(content["stream_ids"]),
        *(
            _float_tensor(content, name).numpy()
            for name in ("stream_states", "stream_elapsed", "stream_last_time")
        ),
        **extra,
    )

    rng_state = content["rng_state"]
    try:
        torch.Generator().set_state(rng_state)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"rng_state is not a torch generator state: {exc}") from exc

    n_iter = content["n_iter"]
    if isinstance(n_iter, bool) or not isinstance(n_iter, int) or n_iter < 1:
        raise ValueError(f"n_iter must be a positive int, got {n_iter!r}.")
    return {
        "classes": classes,
        "names": np.array(names, dtype=object) if names else None,
        "streams": streams,
        "rng_state": rng_state.numpy().copy(),
        "n_iter": n_iter,
    }


def _convolution_fields(content, estimator):
    """The convolutions and their decays in ``content``, checked against the params."""
    fields = content["convolution"]
    if not isinstance(fields, dict) or not all(
        isinstance(v, torch.Tensor) for v in fields.values()
    ):
        raise TypeError("the convolution entry must be a dict of tensors.")
    arrays = {name: value.numpy() for name, value in fields.items()}
    decays = _check_decays(
        estimator.convolution_decay, closed=True, name="convolution_decay"
    )
    if not np.array_equal(arrays.pop("decays"), decays):
        raise ValueError(
            f"the convolution decays in the file contradict convolution_decay="
            f"{estimator.convolution_decay!r}."
        )
    n_features = content["n_features_in"]
    return {
        "convolutions": CausalConvolutions.from_arrays(n_features, arrays),
        "convolution_decays": decays,
    }


def _check_module_state(state, module):
    """Each saved weight has its parameter's dtype (``load_state_dict`` would cast)."""
    if not isinstance(state, dict):
        raise ValueError("module_state must be a dict of tensors.")
    for key, tensor in module.state_dict().items():
        saved = state.get(key)
        if isinstance(saved, torch.Tensor) and saved.dtype != tensor.dtype:
            raise ValueError(
                f"module_state {key!r} has dtype {saved.dtype}, the network's "
                f"{tensor.dtype}."
            )


def _float_tensor(content, name):
    """``content[name]``, a tensor of floats (another dtype would be cast silently)."""
    value = content[name]
    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        raise ValueError(f"{name} must be a tensor of floats.")
    return value


def _finite_array(content, name, dtype):
    value = content[name]
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a tensor.")
    if value.is_floating_point() != np.issubdtype(dtype, np.floating):
        raise ValueError(f"{name} has dtype {value.dtype}, expected {np.dtype(dtype)}.")
    array = value.numpy().astype(dtype)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return array


def _tensors(obj, prefix=""):
    """``(key, tensor)`` of every tensor in nested dicts and lists."""
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _tensors(value, f"{prefix}[{key!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from _tensors(value, f"{prefix}[{i}]")


# Optimizer state entries that are running means of squares: never negative.
_NON_NEGATIVE_STATE = ("exp_avg_sq", "max_exp_avg_sq", "square_avg", "sum")


def _check_optimizer_state(state_dict, optimizer):
    """Check a saved optimizer state against the optimizer that will load it.

    Each per-parameter tensor must have its parameter's shape and dtype,
    ``step`` must be one finite number >= 0, and the second moments >= 0.
    """
    if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
        raise ValueError("optimizer_state must hold 'state' and 'param_groups'.")
    groups, state = state_dict["param_groups"], state_dict["state"]
    if not isinstance(groups, list) or len(groups) != len(optimizer.param_groups):
        raise ValueError("optimizer_state has the wrong number of parameter groups.")
    params = {}
    for saved, group in zip(groups, optimizer.param_groups):
        ids = saved.get("params") if isinstance(saved, dict) else None
        if not isinstance(ids, list) or len(ids) != len(group["params"]):
            raise ValueError(
                "optimizer_state's parameter groups do not match the network."
            )
        params.update(zip(ids, group["params"]))
        _check_hyperparameters(saved, group)
    if len(params) != sum(len(g["params"]) for g in optimizer.param_groups):
        raise ValueError("optimizer_state repeats a parameter id.")
    if not isinstance(state, dict):
        raise ValueError("optimizer_state's state must be a dict.")
    for pid, entry in state.items():
        if pid not in params or not isinstance(entry, dict):
            raise ValueError(
                f"optimizer_state holds state for unknown parameter {pid!r}."
            )
        param = params[pid]
        for key, value in entry.items():
            if value is None:
                continue
            if not isinstance(value, torch.Tensor):
                raise ValueError(f"optimizer_state {pid}[{key!r}] is not a tensor.")
            if not value.is_floating_point() or not bool(torch.isfinite(value).all()):
                raise ValueError(
                    f"optimizer_state {pid}[{key!r}] must be finite floats."
                )
            if key == "step":
                if value.numel() != 1 or float(value) < 0:
                    raise ValueError(
                        f"optimizer_state {pid}['step'] must be one number >= 0."
                    )
                continue
            if value.shape != param.shape or value.dtype != param.dtype:
                raise ValueError(
                    f"optimizer_state {pid}[{key!r}] has shape {tuple(value.shape)} "
                    f"and dtype {value.dtype}, its parameter {tuple(param.shape)} "
                    f"and {param.dtype}."
                )
            if key in _NON_NEGATIVE_STATE and bool((value < 0).any()):
                raise ValueError(f"optimizer_state {pid}[{key!r}] must be >= 0.")


def _check_hyperparameters(saved, group):
    """A saved parameter group's settings: a fresh group's keys and types, in range.

    The flags (``amsgrad``, ``fused``, ...) are the estimator's choice for this
    torch and device, not state: the fresh group's replace the file's, so
    that one saved on another device trains here as a fresh one would.
    """
    if set(saved) != set(group):
        raise ValueError("optimizer_state's parameter group settings do not match.")
    for key, value in saved.items():
        fresh = group[key]
        if key == "params" or fresh is None or isinstance(fresh, bool):
            if isinstance(fresh, bool) and not isinstance(value, bool):
                raise ValueError(f"optimizer_state setting {key!r} must be a bool.")
            if key != "params":
                saved[key] = fresh
            continue
        values = value if isinstance(value, tuple) else (value,)
        if isinstance(fresh, tuple) != isinstance(value, tuple) or not all(
            isinstance(v, (int, float))
            and not isinstance(v, bool)
            and np.isfinite(v)
            and v >= 0
            for v in values
        ):
            raise ValueError(
                f"optimizer_state setting {key!r} must be finite numbers >= 0, "
                f"got {value!r}."
            )
        if key == "betas" and (len(values) != 2 or not all(v < 1 for v in values)):
            raise ValueError(f"optimizer_state betas must be in [0, 1), got {value!r}.")


def _check_online_state(online, n_inputs, n_classes):
    """Check every field of a saved online state (``OnlineState.to_dict``)."""
    if not isinstance(online, dict):
        raise ValueError("online_state must be a dict.")

    def integer(name, low=0):
        value = online[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(
                f"online_state {name} must be an int >= {low}, got {value!r}."
            )
        return value

    def array(name, shape, low=None, kind="f"):
        value = online[name]
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"online_state {name} must be a tensor.")
        ok_kind = (
            value.is_floating_point()
            if kind == "f"
            else (
                not value.is_floating_point()
                and not value.is_complex()
                and value.dtype != torch.bool
            )
        )
        if not ok_kind or tuple(value.shape) != shape:
            raise ValueError(
                f"online_state {name} has shape {tuple(value.shape)} and dtype "
                f"{value.dtype}, expected shape {shape} of "
                f"{'floats' if kind == 'f' else 'integers'}."
            )
        if kind == "f" and not bool(torch.isfinite(value).all()):
            raise ValueError(f"online_state {name} contains NaN or infinity.")
        if low is not None and value.numel() and bool((value < low).any()):
            raise ValueError(f"online_state {name} must be >= {low}.")
        return value

    if not isinstance(online.get("drift"), bool):
        raise ValueError("online_state drift must be a bool.")
    capacity = integer("capacity")
    if online["scaler_n"] is not None:
        integer("scaler_n")
        array("scaler_mean", (n_inputs,))
        array("scaler_m2", (n_inputs,), low=0)
    elif online["scaler_mean"] is not None or online["scaler_m2"] is not None:
        raise ValueError("online_state holds scaler moments without a count.")
    if online["buffer_X"] is None:
        if online["buffer_y"] is not None or online["buffer_w"] is not None:
            raise ValueError("online_state holds replay labels without rows.")
    else:
        n = online["buffer_X"].shape[0] if online["buffer_X"].ndim else -1
        if n > capacity:
            raise ValueError(
                f"online_state holds {n} replay rows, more than its capacity "
                f"{capacity}."
            )
        array("buffer_X", (n, n_inputs))
        y = array("buffer_y", (n,), low=0, kind="i")
        if y.numel() and int(y.max()) >= n_classes:
            raise ValueError(
                f"online_state buffer_y holds a class index >= {n_classes}."
            )
        if online["buffer_w"] is not None:
            array("buffer_w", (n,), low=0)
    for name in ("fast_loss", "slow_loss"):
        value = online[name]
        if not isinstance(value, float) or value < 0 or value == float("inf"):
            raise ValueError(f"online_state {name} must be a float >= 0 or NaN.")
    boost = online["boost"]
    if not isinstance(boost, float) or not 1.0 <= boost <= _BOOST:
        raise ValueError(f"online_state boost must be in [1, {_BOOST}], got {boost!r}.")
    integer("n_drifts")
    rows_seen = integer("rows_seen")
    integer("age")
    if online["scaler_n"] is not None and online["scaler_n"] > rows_seen:
        raise ValueError(
            f"online_state scaler_n {online['scaler_n']} counts more rows than "
            f"rows_seen {rows_seen}."
        )
