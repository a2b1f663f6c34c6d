"""Console output of training: plain text when piped, one progress bar per fit.

skorch's epoch table colours its columns with ANSI escape codes, which end up
as garbage in a log file or a pipe; :func:`print_plain_when_piped` removes
them when standard output is not a terminal. skorch's ``ProgressBar`` draws a
bar per epoch over the mini-batches, which needs a hook per batch (and so
turns off the estimator's fast training loop) and leaves fragments when
standard error is piped; :class:`EpochProgressBar` draws one bar over the
epochs of a fit instead, and nothing when standard error is not a terminal.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import re
import sys

from skorch.callbacks import Callback
from tqdm.auto import tqdm

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_ansi(text):
    """``text`` without ANSI colour codes.

    Examples
    --------
    >>> from sklearn_samlp._console import strip_ansi
    >>> strip_ansi("\\x1b[36m0.6931\\x1b[0m")
    '0.6931'
    """
    return _ANSI.sub("", text)


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def print_plain_when_piped(text):
    """``print`` that drops ANSI colour codes unless stdout is a terminal.

    It writes through ``tqdm.write``, which lifts an :class:`EpochProgressBar`
    out of the way and draws it again below the line.
    """
    tqdm.write(text if _isatty(sys.stdout) else strip_ansi(text), file=sys.stdout)


class EpochProgressBar(Callback):
    """One progress bar over the epochs of a fit, for ``callbacks=``.

    Unlike skorch's ``ProgressBar`` (one bar per epoch over the batches) it
    listens only to epochs, so the estimator keeps its fast training loop.
    Like tqdm with ``disable=None`` it draws nothing when standard error is not
    a terminal, so piped output stays clean.

    Parameters
    ----------
    disable : bool or None, default=None
        True: never draw; None: draw only when standard error is a terminal.

    Examples
    --------
    >>> from sklearn_samlp import EpochProgressBar, SignalAccumulativeClassifier
    >>> clf = SignalAccumulativeClassifier(callbacks=[EpochProgressBar()])
    """

    def __init__(self, disable=None):
        self.disable = disable

    def on_train_begin(self, net, **kwargs):
        disable = self.disable
        if disable is None:
            disable = not _isatty(sys.stderr)
        self.bar_ = tqdm(
            total=net.max_epochs, unit="epoch", leave=False, disable=disable
        )

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1].get("train_loss")
        if loss is not None:
            self.bar_.set_postfix(train_loss=f"{loss:.4f}", refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()
        self.bar_ = None  # a tqdm object does not pickle
