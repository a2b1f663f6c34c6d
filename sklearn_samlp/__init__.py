"""Signal Accumulative MLP: a scikit-learn classifier for streams and sequences."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

from ._classifier import SignalAccumulativeClassifier
from ._console import EpochProgressBar
from ._early import SignalAccumulativeEarlyClassifier
from ._evaluation import prequential_score
from ._series import SignalAccumulativeSeriesClassifier, rows_to_series, series_to_rows
from ._stream_checks import StreamIdWarning
from ._stream_manager import StreamManager
from ._torch_model import SignalAccumulativeMLP

__version__ = "0.1.0.dev0"

__all__ = [
    "EpochProgressBar",
    "SignalAccumulativeClassifier",
    "SignalAccumulativeEarlyClassifier",
    "SignalAccumulativeMLP",
    "SignalAccumulativeSeriesClassifier",
    "StreamIdWarning",
    "StreamManager",
    "__version__",
    "prequential_score",
    "rows_to_series",
    "series_to_rows",
]
