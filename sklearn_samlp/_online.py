"""What ``partial_fit`` adds to a plain epoch: the online learner's state.

``fit`` trains epochs over a data set held in memory; ``partial_fit`` sees a
live stream in chunks of any size, from one row to many thousands, unscaled,
drifting, with classes that appear late. :class:`OnlineState` carries what
that needs from one call to the next:

- a running standardisation of the network's inputs (Chan's parallel update
  of the mean and variance of every input column, as river's
  ``StandardScaler``), applied before the network, also at inference;
- a replay buffer of the most recent rows, mixed into every optimisation
  step, so that one-row chunks still make steps on a mini-batch and a chunk
  of one class does not wipe out the others;
- a drift rule on the prequential loss (each chunk's loss under the model as
  it was before the chunk): a fast and a slow exponential average of it,
  and when the fast one rises well above the slow one the learning rate is
  raised for a while and the replay buffer forgets the old concept;
- the number of rows since the start or the last drift, over which the
  learning rate anneals (to a floor, so that the steps never vanish).

A call is planned from the current state and the new state is returned;
the estimator stores it only once the whole call has succeeded.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import math

import numpy as np
import torch
from torch.nn import functional as F

from ._net import TensorBatches

# Horizons, in rows, of the two averages of the prequential loss.
_FAST_ROWS = 50.0
_SLOW_ROWS = 1000.0
# The fast average must exceed the slow one by this factor and margin.
_DRIFT_FACTOR = 2.0
_DRIFT_MARGIN = 0.5
# After a drift the learning rate is multiplied by the ratio of the fast to
# the slow average, at most _BOOST, and falls back over _BOOST_ROWS rows.
_BOOST = 5.0
_BOOST_ROWS = 300.0
# Rows of the old concept kept in the replay buffer after a drift.
_KEEP_AFTER_DRIFT = 0
# The learning rate anneals as 1 / sqrt(1 + age / _ANNEAL_ROWS) with the rows
# since the start or the last drift, down to _LR_FLOOR times its value: steady
# streams average out noise, and the steps never shrink to nothing.
_ANNEAL_ROWS = 2000.0
_LR_FLOOR = 0.1


# Standardised inputs are clipped to +-_CLIP, and once _CLIP_AFTER rows are
# seen the statistics are updated with rows clipped to mean +- _CLIP std: one
# glitch in a raw stream (a missing-value code, a 90-sigma reading) neither
# saturates the network nor inflates a column's variance for good.
_CLIP = 5.0
_CLIP_AFTER = 100


class RunningScaler:
    """Running mean and variance of every column; standardises with them.

    Columns of zero variance (or before any row) are only centred.
    """

    def __init__(self, n_columns):
        self.n = 0
        self.mean = np.zeros(n_columns)
        self.m2 = np.zeros(n_columns)
        self._cache = None

    def updated(self, features):
        """A copy that has also seen ``features`` (a 2-D tensor)."""
        batch = features.detach().to("cpu", torch.float64).numpy()
        n_b = len(batch)
        new = RunningScaler(len(self.mean))
        if n_b == 0:
            new.n, new.mean, new.m2 = self.n, self.mean.copy(), self.m2.copy()
            return new
        if self.n >= _CLIP_AFTER:
            std = np.sqrt(self.m2 / self.n)
            batch = np.clip(batch, self.mean - _CLIP * std, self.mean + _CLIP * std)
        mean_b = batch.mean(axis=0)
        m2_b = ((batch - mean_b) ** 2).sum(axis=0)
        n = self.n + n_b
        delta = mean_b - self.mean
        new.n = n
        new.mean = self.mean + delta * (n_b / n)
        new.m2 = self.m2 + m2_b + delta**2 * (self.n * n_b / n)
        return new

    def transform(self, features):
        """``(features - mean) / std``, as float32 on the features' device."""
        if self.n == 0:
            return features
        cache = self._cache
        if cache is None or cache[0].device != features.device:
            var = self.m2 / self.n
            scale = np.where(var > 1e-12, 1.0 / np.sqrt(np.maximum(var, 1e-12)), 1.0)
            cache = (
                torch.as_tensor(self.mean, dtype=torch.float32, device=features.device),
                torch.as_tensor(scale, dtype=torch.float32, device=features.device),
            )
            self._cache = cache
        return ((features - cache[0]) * cache[1]).clamp_(-_CLIP, _CLIP)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = None
        return state


def _cat_weights(w1, n1, w2, n2, device):
    """Weights of two blocks of rows one after the other; None if both are."""
    if w1 is None and w2 is None:
        return None
    w1 = torch.ones(n1, device=device) if w1 is None else w1
    w2 = torch.ones(n2, device=device) if w2 is None else w2
    return torch.cat([w1, w2])


class PlannedBatches:
    """skorch ``iterator_train`` over the batches an :class:`OnlineEpoch` plans.

    Before each batch it sets the batch's learning rate on the optimizer's
    parameter groups: the rate follows the rows within a long call too.
    """

    def __init__(self, dataset, batch_size=None, shuffle=None):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset.batches)

    def __iter__(self):
        data = self.dataset
        for index, lr in zip(data.batches, data.lrs):
            for group in data.param_groups:
                group["lr"] = lr
            yield data.X[index], data.target(index)


class OnlineEpoch(TensorBatches):
    """The rows of one call followed by replayed rows, the batches over them
    and the learning rate of each batch."""

    def __init__(self, X, y, sample_weight, batches, lrs, param_groups):
        super().__init__(X, y, sample_weight)
        self.batches, self.lrs, self.param_groups = batches, lrs, param_groups


class OnlineState:
    """State of ``partial_fit``'s online learning; see the module docstring.

    Parameters
    ----------
    n_inputs : int
        Columns of the network's input.
    scaling : bool
        Standardise the network's inputs with running statistics.
    replay : int
        Capacity of the replay buffer, in rows.
    drift : bool
        Watch the prequential loss for drift.
    """

    def __init__(self, n_inputs, scaling, replay, drift):
        self.drift = bool(drift)
        self.scaler = RunningScaler(n_inputs) if scaling else None
        self.capacity = int(replay)
        self.buffer_X = None  # raw (unscaled) inputs, on the training device
        self.buffer_y = None
        self.buffer_w = None
        self.fast_loss = math.nan
        self.slow_loss = math.nan
        self.boost = 1.0
        self.n_drifts = 0
        self.rows_seen = 0
        self.age = 0  # rows since the start or the last drift

    # ------------------------------------------------------------ inference

    def transform(self, features):
        return features if self.scaler is None else self.scaler.transform(features)

    # ------------------------------------------------------------- learning

    def __getstate__(self):
        # Buffers travel on the CPU, so that a pickle of a model trained on a
        # GPU loads where there is none; learn() moves them back.
        state = self.__dict__.copy()
        for name in ("buffer_X", "buffer_y", "buffer_w"):
            if state[name] is not None:
                state[name] = state[name].cpu()
        return state

    def _copy(self):
        new = OnlineState.__new__(OnlineState)
        new.__dict__.update(self.__dict__)
        return new

    def _prequential_loss(self, logits_of, X, y, w):
        """Mean loss of the rows under the model as it stands (no gradient).

        ``logits_of`` maps the network's raw inputs to logits: the
        estimator's eval-mode snapshot of the weights and this state's
        scaling, so that the training module is neither switched to eval
        mode and back (which walks every submodule) nor run with autograd.
        """
        with torch.no_grad():
            loss = F.cross_entropy(logits_of(X).float(), y, reduction="none")
        if w is not None:
            loss = loss * w
        return float(loss.mean())

    def _watch(self, loss, n_rows):
        """Update the loss averages and the boost; whether a drift was detected."""
        fast_a = 1.0 - (1.0 - 1.0 / _FAST_ROWS) ** n_rows
        # Until its horizon is filled the slow average is the plain mean of
        # the losses since the start or the last drift: its first value, the
        # loss of an untrained model, must not linger as the reference.
        slow_a = max(
            1.0 - (1.0 - 1.0 / _SLOW_ROWS) ** n_rows, n_rows / (self.age + n_rows)
        )
        if math.isnan(self.slow_loss):
            self.fast_loss = self.slow_loss = loss
            return False
        self.fast_loss += fast_a * (loss - self.fast_loss)
        drift = self.fast_loss > max(
            _DRIFT_FACTOR * self.slow_loss, self.slow_loss + _DRIFT_MARGIN
        )
        if drift:
            self.boost = min(_BOOST, self.fast_loss / self.slow_loss)
            self.slow_loss = self.fast_loss  # the new level is the reference
            self.n_drifts += 1
            self.age = 0
        else:
            self.slow_loss += slow_a * (loss - self.slow_loss)
        return drift

    def learn(self, net, dataset, batch_size, lr, replay, drift, logits_of=None):
        """Train ``net`` one pass over ``dataset``; return the next state.

        Parameters
        ----------
        net : skorch.NeuralNet
            Initialised; trained in place.
        dataset : TensorBatches
            The call's unscaled inputs, encoded labels and weights.
        batch_size : int
            Rows of the call per optimisation step.
        lr : float
            Learning rate of the steps, before the annealing and the boost.
        replay : int
            Capacity of the replay buffer from now on; each step draws
            ``batch_size`` rows from it.
        drift : bool
            Whether to watch this call's loss for drift.
        logits_of : callable, default=None
            The model as it stands, from raw network inputs to logits (the
            estimator's inference snapshot); None before it has learned
            anything. Only with it is the rows' prequential loss watched for
            drift.
        """
        new = self._copy()
        new.capacity, new.drift = int(replay), bool(drift)
        replay_per_step = batch_size
        X, y, w = dataset.X, dataset.y, dataset.sample_weight
        for name in ("buffer_X", "buffer_y", "buffer_w"):  # e.g. unpickled: CPU
            buffer = getattr(new, name)
            if buffer is not None and buffer.device != X.device:
                setattr(new, name, buffer.to(X.device))
        n = len(X)
        if new.scaler is not None:
            new.scaler = new.scaler.updated(X)
        Xs = new.transform(X)
        if logits_of is not None and new.drift:
            loss = self._prequential_loss(logits_of, X, y, w)
            if new._watch(loss, n):
                new._forget_old_rows()

        # Batches of the call's rows in order, each topped up with rows drawn
        # at random from the buffer of rows before the call. The learning
        # rate anneals with the rows since the start or the last drift, and
        # a drift's boost fades; while it lasts the steps are smaller as well
        # as faster: more of them.
        starts, sizes, lrs, pos = [], [], [], 0
        while pos < n:
            boost = 1.0 + (new.boost - 1.0) * math.exp(-pos / _BOOST_ROWS)
            anneal = max(_LR_FLOOR, (1.0 + (new.age + pos) / _ANNEAL_ROWS) ** -0.5)
            size = max(1, round(batch_size / boost))
            starts.append(pos)
            sizes.append(size)
            lrs.append(lr * boost * anneal)
            pos += size
        new.boost = 1.0 + (new.boost - 1.0) * math.exp(-n / _BOOST_ROWS)
        n_buffer = 0 if new.buffer_X is None else len(new.buffer_X)
        k = min(replay_per_step, n_buffer) if new.capacity else 0
        if k:
            picks = torch.randint(n_buffer, (len(starts), k)).to(X.device) + n
            all_X = torch.cat([Xs, new.transform(new.buffer_X)])
            all_y = torch.cat([y, new.buffer_y])
            all_w = _cat_weights(w, n, new.buffer_w, n_buffer, X.device)
        else:
            all_X, all_y, all_w = Xs, y, w
        arange = torch.arange(n, device=X.device)
        batches = []
        for i, (start, size) in enumerate(zip(starts, sizes)):
            own = arange[start : start + size]
            batches.append(torch.cat([own, picks[i]]) if k else own)
        groups = net.optimizer_.param_groups
        epoch = OnlineEpoch(all_X, all_y, all_w, batches, lrs, groups)

        saved_lr = [g["lr"] for g in groups]
        saved_iterator = net.iterator_train
        try:
            net.iterator_train = PlannedBatches
            net.partial_fit(epoch, epochs=1)
        finally:
            net.iterator_train = saved_iterator
            for g, value in zip(groups, saved_lr):
                g["lr"] = value

        new._remember(X, y, w)
        new.rows_seen += n
        new.age += n
        return new

    def _forget_old_rows(self):
        if self.buffer_X is not None:
            keep = slice(len(self.buffer_X) - _KEEP_AFTER_DRIFT, None)
            self.buffer_X = self.buffer_X[keep]
            self.buffer_y = self.buffer_y[keep]
            self.buffer_w = None if self.buffer_w is None else self.buffer_w[keep]

    def _remember(self, X, y, w):
        """Append the call's rows to the buffer, keeping the last ``capacity``."""
        if self.capacity == 0:
            self.buffer_X = self.buffer_y = self.buffer_w = None
            return
        if self.buffer_X is None or len(self.buffer_X) == 0:
            bx, by, bw = X, y, w
        else:
            bx = torch.cat([self.buffer_X, X])
            by = torch.cat([self.buffer_y, y])
            bw = _cat_weights(self.buffer_w, len(self.buffer_X), w, len(X), X.device)
        keep = slice(max(0, len(bx) - self.capacity), None)
        self.buffer_X = bx[keep].clone()
        self.buffer_y = by[keep].clone()
        self.buffer_w = None if bw is None else bw[keep].clone()

    # ---------------------------------------------------------- persistence

    def to_dict(self):
        """Plain data and CPU tensors, for ``save`` (``torch.load`` safe)."""

        def cpu(t):
            return None if t is None else t.cpu()

        scaler = self.scaler
        return {
            "scaler_n": None if scaler is None else int(scaler.n),
            "scaler_mean": None if scaler is None else torch.from_numpy(scaler.mean),
            "scaler_m2": None if scaler is None else torch.from_numpy(scaler.m2),
            "capacity": self.capacity,
            "drift": self.drift,
            "buffer_X": cpu(self.buffer_X),
            "buffer_y": cpu(self.buffer_y),
            "buffer_w": cpu(self.buffer_w),
            "fast_loss": float(self.fast_loss),
            "slow_loss": float(self.slow_loss),
            "boost": float(self.boost),
            "n_drifts": int(self.n_drifts),
            "rows_seen": int(self.rows_seen),
            "age": int(self.age),
        }

    @classmethod
    def from_dict(cls, content, n_inputs, device):
        """The state :meth:`to_dict` wrote, its tensors moved to ``device``."""
        new = cls(
            n_inputs,
            scaling=content["scaler_n"] is not None,
            replay=content["capacity"],
            drift=content["drift"],
        )
        if new.scaler is not None:
            new.scaler.n = int(content["scaler_n"])
            new.scaler.mean = content["scaler_mean"].numpy().astype(np.float64)
            new.scaler.m2 = content["scaler_m2"].numpy().astype(np.float64)
            if new.scaler.mean.shape != (n_inputs,) or new.scaler.m2.shape != (
                n_inputs,
            ):
                raise ValueError("the online scaler does not match the network")
        for name in ("buffer_X", "buffer_y", "buffer_w"):
            value = content[name]
            setattr(new, name, None if value is None else value.to(device))
        if new.buffer_X is not None and new.buffer_X.shape[1:] != (n_inputs,):
            raise ValueError("the replay buffer does not match the network")
        for name in ("fast_loss", "slow_loss", "boost"):
            setattr(new, name, float(content[name]))
        new.n_drifts = int(content["n_drifts"])
        new.rows_seen = int(content["rows_seen"])
        new.age = int(content["age"])
        return new
