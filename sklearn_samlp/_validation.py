"""Checks of scalar arguments for the PyTorch API, with messages naming them."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import math
from numbers import Integral, Real


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
