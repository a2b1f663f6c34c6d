"""skorch callbacks that the estimator adds to every net."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

from skorch.callbacks import Callback


class TrainAccuracy(Callback):
    """Record the accuracy of each epoch as ``train_acc`` (and ``valid_acc``).

    It counts the correct predictions of the mini-batches as they are trained
    (as the original design's training loop does), so it costs no extra pass
    over the data; the count stays on the device until the epoch ends. With a
    validation split it counts the validation batches as ``valid_acc``.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.correct_, self.seen_ = {True: 0, False: 0}, {True: 0, False: 0}

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        y = batch[1][0]
        self.correct_[training] = self.correct_[training] + (
            (y_pred.argmax(dim=1) == y).sum()
        )
        self.seen_[training] += len(y)

    def on_epoch_end(self, net, **kwargs):
        for training, key in ((True, "train_acc"), (False, "valid_acc")):
            if self.seen_[training]:
                accuracy = float(self.correct_[training]) / self.seen_[training]
                net.history.record(key, accuracy)
