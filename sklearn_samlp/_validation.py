"""Checks of scalar arguments for the PyTorch API, with messages naming them."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import math
from numbers import Integral, Real

import numpy as np
import torch


def check_int(name, value, min_value):
    """Return ``value`` as an int ``>= min_value``; bools are refused."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(
            f"{name} must be an integer >= {min_value}, got {value!r} "
            f"of type {type(value).__name__}."
        )
    if value < min_value:
        raise ValueError(f"{name} must be an integer >= {min_value}, got {value!r}.")
    return int(value)


def check_real(name, value, low, high, high_closed):
    """Return ``value`` as a finite float in ``[low, high]`` or ``[low, high)``."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, Real)
        and math.isfinite(value)
        and low <= value
        and (value <= high if high_closed else value < high)
    )
    if not ok:
        bracket = "]" if high_closed else ")"
        raise ValueError(
            f"{name} must be a real number in [{low}, {high}{bracket}, got {value!r}."
        )
    return float(value)


def check_layer_sizes(name, value):
    """Return ``value`` (an int or a sequence of them) as a tuple of ints >= 1.

    Checked before anything is built: torch would accept ``0`` (a layer that
    outputs nothing) and fail late, or not at all, on negative or fractional
    sizes.
    """
    sizes = np.atleast_1d(np.asarray(value, dtype=object))
    if sizes.ndim != 1 or not all(
        isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in sizes
    ):
        raise ValueError(
            f"{name} must be a positive integer or a sequence of positive "
            f"integers, got {value!r}."
        )
    return tuple(int(s) for s in sizes)


def check_device(name, device):
    """Return ``device`` as a ``torch.device`` that this machine has."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"{name}={device!r} is not a torch device: {exc}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"{name}={str(device)!r} but CUDA is not available on this machine; "
            "use device='cpu'."
        )
    return device
