"""The pieces the estimator composes a skorch net from.

The accumulated features are computed before training (the decay is fixed), so
the network itself is a plain MLP over in-memory tensors. skorch's default data
path indexes a Dataset row by row and collates every batch; here a batch is one
tensor-indexing operation instead, which is what keeps a small MLP fast.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import signal
import threading
from contextlib import contextmanager

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from torch import nn
from torch.nn import functional as F

from ._callbacks import TrainAccuracy


class MLPModule(nn.Sequential):
    """Feed-forward network returning logits: (Linear, ReLU, Dropout) * k, Linear.

    A ``Sequential`` itself rather than a module holding one: one call less per
    batch, which shows for small networks.

    Parameters
    ----------
    n_inputs : int
    n_classes : int
    hidden_layer_sizes : tuple of int
    dropout : float
    """

    def __init__(self, n_inputs, n_classes, hidden_layer_sizes=(64, 64), dropout=0.0):
        layers, width = [], n_inputs
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, size), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_classes))
        super().__init__(*layers)


class TensorBatches(torch.utils.data.Dataset):
    """Features, encoded targets and sample weights as tensors of equal length.

    ``sample_weight`` is None when all rows weigh the same: the loss is then
    the plain mean, with no weight tensor to index and multiply.
    """

    def __init__(self, X, y, sample_weight=None):
        self.X, self.y, self.sample_weight = X, y, sample_weight

    def __len__(self):
        return len(self.X)

    def target(self, index):
        """``(y,)`` or ``(y, sample_weight)`` of the rows at ``index``."""
        if self.sample_weight is None:
            return (self.y[index],)
        return self.y[index], self.sample_weight[index]

    def __getitem__(self, i):
        return self.X[i], self.target(i)


class BatchIterator:
    """Mini-batches of a :class:`TensorBatches` by tensor indexing.

    Used as skorch's ``iterator_train``. Shuffling draws from torch's default
    generator, which the estimator has forked and seeded around training.
    """

    def __init__(self, dataset, batch_size, shuffle=False):
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        data = self.dataset
        n = len(data)
        if self.shuffle:
            batches = torch.randperm(n).to(data.X.device).split(self.batch_size)
        else:
            batches = (
                slice(i, i + self.batch_size) for i in range(0, n, self.batch_size)
            )
        for index in batches:
            yield data.X[index], data.target(index)


class WeightedCrossEntropy(nn.Module):
    """Cross-entropy; targets are ``(y,)`` or ``(y, sample_weight)``.

    With weights the loss of a batch is ``mean(w_i * loss_i)``: the estimator
    scales the weights to mean one over the data, so the learning rate does not
    depend on their scale.
    """

    def forward(self, logits, target):
        if len(target) == 1:
            return F.cross_entropy(logits, target[0])
        y, sample_weight = target
        return (F.cross_entropy(logits, y, reduction="none") * sample_weight).mean()


_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


@contextmanager
def rolled_back_on_error(net):
    """Put ``net``'s weights, optimizer and history back if the block raises.

    For training that continues an existing net (``partial_fit``): whatever
    stops it (an exception in a callback, Ctrl-C), the net is as it was
    before the call. The copies are plain tensor clones (``deepcopy`` of the
    optimizer's state would cost more than a small training step).
    """
    tensors = [*net.module_.parameters(), *net.module_.buffers()]
    saved_tensors = [t.detach().clone() for t in tensors]
    optimizer = net.optimizer_
    saved_state = {
        param: {k: v.clone() if torch.is_tensor(v) else v for k, v in entry.items()}
        for param, entry in optimizer.state.items()
    }
    saved_groups = [
        {k: v for k, v in group.items() if k != "params"}
        for group in optimizer.param_groups
    ]
    n_epochs = len(net.history)
    try:
        yield
    except BaseException:
        with torch.no_grad():
            for tensor, saved in zip(tensors, saved_tensors):
                tensor.copy_(saved)
        optimizer.state.clear()
        optimizer.state.update(saved_state)
        for group, saved in zip(optimizer.param_groups, saved_groups):
            group.update(saved)
        del net.history[n_epochs:]
        raise


class _Interrupted(Exception):
    """A Ctrl-C carried past skorch's ``partial_fit``, which would end training."""


@contextmanager
def _noting_ctrl_c():
    """Yield a dict whose ``"sigint"`` turns True if Ctrl-C arrives in the block.

    skorch reads a ``KeyboardInterrupt`` as a request to stop training, which
    is how its ``EarlyStopping`` callback asks; this handler tells the user's
    Ctrl-C apart from that request. Signals arrive in the main thread only,
    so elsewhere every ``KeyboardInterrupt`` is a callback's.
    """
    noted = {"sigint": False}
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(
        previous
    ):  # SIG_IGN, SIG_DFL: Ctrl-C is ignored or ends the process as it is
        yield noted
        return

    def handler(signum, frame):
        try:
            previous(signum, frame)  # Python's own raises KeyboardInterrupt
        except KeyboardInterrupt:
            noted["sigint"] = True  # not when a handler of the user's did not
            raise

    signal.signal(signal.SIGINT, handler)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)


class TightLoopNet(NeuralNet):
    """skorch's ``NeuralNet`` whose training epoch is a plain loop when it can be.

    skorch dispatches every callback hook, builds an optimizer closure and
    syncs the loss with ``.item()`` for every mini-batch; for a small MLP that
    costs a third of the time. When no callback listens to batches, the epoch
    runs as a plain loop instead and writes the same per-batch history once at
    its end (and feeds :class:`TrainAccuracy`, when the net has it). Anything
    else (initialisation, optimizer, epoch callbacks, history,
    ``partial_fit``) is skorch's own; a callback
    with a batch hook (``ProgressBar``, gradient clipping, ...) gets skorch's
    loop unchanged.

    Ctrl-C propagates, as it does out of scikit-learn's estimators: skorch's
    ``partial_fit`` would catch it and return as if training had finished (the
    estimator then puts back its state from before the call). A
    ``KeyboardInterrupt`` raised by a callback keeps skorch's meaning, a
    request to stop training (``EarlyStopping``'s).
    """

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt as exc:
            if self.__dict__.get("_sigint_noted", {}).get("sigint"):
                raise _Interrupted from exc
            raise  # a callback's request: skorch's partial_fit ends training

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        with _noting_ctrl_c() as noted:
            self.__dict__["_sigint_noted"] = noted
            try:
                return super().partial_fit(X, y, classes, **fit_params)
            except _Interrupted as exc:
                raise exc.__cause__ from None
            finally:
                self.__dict__.pop("_sigint_noted", None)

    def _listens_to_batches(self):
        return any(
            getattr(type(cb), hook) is not getattr(Callback, hook)
            for _, cb in self.callbacks_
            if not isinstance(cb, TrainAccuracy)
            for hook in _BATCH_HOOKS
        )

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None or not training or fit_params or self._listens_to_batches():
            return super().run_single_epoch(
                iterator, training, prefix, step_fn, **fit_params
            )
        if not (self.module_.training and self.criterion_.training):
            self._set_training(True)  # walks every submodule: not on every call
        module, criterion, optimizer = self.module_, self.criterion_, self.optimizer_
        accuracy = [cb for _, cb in self.callbacks_ if isinstance(cb, TrainAccuracy)]
        losses, sizes = [], []
        for X, target in iterator:  # tensors already on the device
            optimizer.zero_grad(set_to_none=True)
            y_pred = module(**X) if isinstance(X, dict) else module(X)
            loss = criterion(y_pred, target)
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
            sizes.append(len(target[0]))
            for callback in accuracy:
                callback.add(y_pred, target[0])
        history = self.history
        for value, size in zip(torch.stack(losses).tolist(), sizes):  # one sync
            history.new_batch()
            history.record_batch(prefix + "_loss", value)
            history.record_batch(prefix + "_batch_size", size)
        history.record(prefix + "_batch_count", len(sizes))
