"""skorch callbacks that the estimator adds to every net."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import torch
from skorch.callbacks import Callback


class TrainAccuracy(Callback):
    """Record the accuracy of each epoch as ``train_acc`` (and ``valid_acc``).

    It counts the correct predictions of the mini-batches as they are trained
    (as the original design's training loop does), so it costs no extra pass
    over the data. This is the one place where it is counted: skorch's loop
    feeds it through ``on_batch_end``, the estimator's tight loop calls
    :meth:`add` directly. The predictions stay on the device and are compared
    once, at the end of the epoch. With a validation split it counts the
    validation batches as ``valid_acc``.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.batches_ = {True: [], False: []}  # training -> [(predicted, y)]

    def add(self, y_pred, y, training=True):
        """Count a mini-batch: its logits and its labels."""
        self.batches_[training].append((y_pred.detach().argmax(dim=1), y))

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        self.add(y_pred, batch[1][0], training)

    def on_epoch_end(self, net, **kwargs):
        for training, key in ((True, "train_acc"), (False, "valid_acc")):
            batches = self.batches_[training]
            if batches:
                predicted, labels = (torch.cat(part) for part in zip(*batches))
                correct = float((predicted == labels).sum())
                net.history.record(key, correct / len(labels))
        self.batches_ = {True: [], False: []}  # no tensors kept between calls
