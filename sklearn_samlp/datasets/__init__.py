"""Stream generators and small real time-series data sets."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

from ._real import (
    load_basic_motions,
    load_gunpoint,
    load_italy_power_demand,
    load_japanese_vowels,
    train_test_split_streams,
)
from ._regime import make_regime_streams

__all__ = [
    "load_basic_motions",
    "load_gunpoint",
    "load_italy_power_demand",
    "load_japanese_vowels",
    "make_regime_streams",
    "train_test_split_streams",
]
