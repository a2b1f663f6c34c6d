"""skorch callbacks that the estimator adds to every net."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

from skorch.callbacks import Callback


class TrainAccuracy(Callback):
    """Record the training accuracy of each epoch as ``train_acc`` in the history.

    It counts the correct predictions of the mini-batches as they are trained
    (as the original design's training loop does), so it costs no extra pass
    over the data; the count stays on the device until the epoch ends.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.correct_, self.seen_ = 0, 0

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if training:
            y = batch[1][0]
            self.correct_ = self.correct_ + (y_pred.argmax(dim=1) == y).sum()
            self.seen_ += len(y)

    def on_epoch_end(self, net, **kwargs):
        if self.seen_:
            net.history.record("train_acc", float(self.correct_) / self.seen_)
