"""Signal Accumulative MLP: a scikit-learn classifier for streaming and sequential data."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

__version__ = "0.1.0.dev0"

__all__ = [
    "__version__",
]
