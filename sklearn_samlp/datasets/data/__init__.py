"""Data files of :mod:`sklearn_samlp.datasets`: ``.npz`` arrays, ``.rst`` texts."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0
