"""skorch callbacks that the estimator adds to every net."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import torch
from skorch.callbacks import Callback


class TrainAccuracy(Callback):
    """Record the training accuracy of each epoch as ``train_acc`` in the history.

    It counts the correct predictions of the mini-batches as they are trained
    (as the original design's training loop does), so it costs no extra pass
    over the data. This is the one place where it is counted: skorch's loop
    feeds it through ``on_batch_end``, the estimator's tight loop calls
    :meth:`add` directly. The predictions stay on the device and are compared
    once, at the end of the epoch.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.predicted_, self.labels_ = [], []

    def add(self, y_pred, y):
        """Count a trained mini-batch: its logits and its labels."""
        self.predicted_.append(y_pred.detach().argmax(dim=1))
        self.labels_.append(y)

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if training:
            self.add(y_pred, batch[1][0])

    def on_epoch_end(self, net, **kwargs):
        if self.labels_:
            correct = (torch.cat(self.predicted_) == torch.cat(self.labels_)).sum()
            net.history.record(
                "train_acc", float(correct) / sum(map(len, self.labels_))
            )
        self.predicted_, self.labels_ = [], []  # no tensors kept between calls
