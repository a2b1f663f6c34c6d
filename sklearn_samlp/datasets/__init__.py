"""Stream generators and small real time-series data sets."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

__all__ = []
