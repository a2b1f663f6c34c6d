"""Serving a fitted estimator: one writer at a time, readers on a frozen model.

Concurrency contract of :class:`SignalAccumulativeClassifier`:

* Mutating calls (``fit``, ``partial_fit``, ``update_accumulators``,
  ``reset_accumulators``) on one estimator hold its lock for their whole
  duration, so they run one after another and no update is lost; skorch's
  training loop and the stream state are never touched by two threads at once.
* ``predict``, ``predict_proba`` and ``score`` take no estimator lock. They
  run a :class:`FrozenModule`, an eval-mode copy of the weights made when a
  training call ends and swapped in as one reference, so a prediction made
  beside ``partial_fit`` uses the old or the new weights, never a mix, and
  never a training-mode (dropout) forward pass. Their reads of the stream
  state are atomic per call (see :class:`~sklearn_samlp._streams.StreamStates`).
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import copy
import functools
import threading

import numpy as np
import torch
from torch import nn

_GUARD = threading.Lock()  # creates estimators' locks, once each
_PREDICT_BATCH = 65536  # rows per forward pass at inference: memory, not accuracy
_SMALL = 16  # calls up to this many rows run the layers in numpy


def estimator_lock(estimator):
    """The estimator's re-entrant lock, created on first use.

    Not made in ``__init__``, which only stores parameters, and not pickled.
    """
    lock = estimator.__dict__.get("_lock")
    if lock is None:
        with _GUARD:
            lock = estimator.__dict__.setdefault("_lock", threading.RLock())
    return lock


def serialised(method):
    """Run ``method`` holding the estimator's lock."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with estimator_lock(self):
            return method(self, *args, **kwargs)

    return wrapper


def inference_snapshot(net, online, streams, classes):
    """What ``predict`` runs, swapped in as one reference after a training call.

    The eval-mode weights with the online input scaling they were trained
    with, and the streams and classes of the same call: a predict running
    beside a training call reads them all from one snapshot, old or new.
    """
    predictor = FrozenModule(net.module_, None if online is None else online.transform)
    predictor.streams, predictor.classes = streams, classes
    return predictor


class FrozenModule:
    """An eval-mode snapshot of a trained module, for inference only.

    A plain stack of ``Linear``, ``ReLU`` and ``Dropout`` (the estimator's
    MLP) is kept as copies of its weights: a few rows go through numpy, which
    costs a few microseconds per layer where torch's dispatch costs tens, and
    batches through ``torch.nn.functional.linear`` on the same memory. Any
    other module is deep-copied and run in eval mode.

    Parameters
    ----------
    module : torch.nn.Module
        The trained module; it is copied, not referenced.
    transform : callable, default=None
        Applied to the features first (the online input scaling that was
        trained with the weights), so that both are swapped in together.
    """

    def __init__(self, module, transform=None):
        self.transform = transform
        self.layers = _plain_layers(module)
        self.module = self.numpy_layers = None
        if self.layers is None:
            self.module = copy.deepcopy(module).eval().requires_grad_(False)
            return
        device = next(iter(module.parameters())).device
        # numpy views of the copied weights (transposed, for x @ W) where the
        # module lives on the CPU.
        if device.type == "cpu":
            self.numpy_layers = [
                (np.ascontiguousarray(w.numpy().T), b.numpy()) for w, b in self.layers
            ]

    def __call__(self, features):
        """Logits of ``features`` (a tensor), in inference mode."""
        if self.transform is not None:
            features = self.transform(features)
        if self.numpy_layers is not None and len(features) <= _SMALL:
            return torch.from_numpy(self._numpy_forward(features.numpy()))
        with torch.inference_mode():
            if len(features) <= _PREDICT_BATCH:
                return self._forward(features)
            return torch.cat(
                [self._forward(part) for part in features.split(_PREDICT_BATCH)]
            )

    def _forward(self, x):
        if self.module is not None:
            return self.module(x)
        last = len(self.layers) - 1
        for k, (weight, bias) in enumerate(self.layers):
            x = nn.functional.linear(x, weight, bias)
            if k < last:
                x = torch.relu(x)
        return x

    def _numpy_forward(self, x):
        last = len(self.numpy_layers) - 1
        for k, (weight_t, bias) in enumerate(self.numpy_layers):
            x = x @ weight_t
            x += bias
            if k < last:
                np.maximum(x, 0, out=x)
        return x


def _plain_layers(module):
    """``[(weight, bias), ...]`` copies if ``module`` is Linear(ReLU Linear)*.

    Dropout is the identity in eval mode and is skipped; anything else, or a
    ReLU misplaced, gives None.
    """
    if not isinstance(module, nn.Sequential):
        return None
    layers, expect_relu = [], False
    for child in module:
        if isinstance(child, nn.Dropout):
            continue
        if isinstance(child, nn.Linear) and not expect_relu:
            if child.bias is None:
                return None
            layers.append((child.weight.detach().clone(), child.bias.detach().clone()))
            expect_relu = True
        elif isinstance(child, nn.ReLU) and expect_relu:
            expect_relu = False
        else:
            return None
    if not layers or not expect_relu:  # must end on a Linear
        return None
    return layers
