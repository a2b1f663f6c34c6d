"""Training with learned decays: truncated backpropagation through the scan.

With ``learn_decay=True`` every accumulated feature (input feature x entry of
the decay bank) has its own decay ``sigmoid(logit)``, trained with the MLP.
The features then depend on the parameters, so they cannot be computed once:
each stream is cut into contiguous windows, windows are shuffled into
mini-batches, and the differentiable block scan runs over each window from the
exact (detached) state at its start. Those start states are recomputed with
the current decays at the start of every epoch by :class:`RefreshWindowStarts`.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn

from ._accumulate import _block_layout, _local_scan, bias_correction, scan_codes
from ._net import MLPModule

# Decays stay inside [_LOW, _HIGH]: their logit is finite at initialisation, and
# a learned decay never rounds to 1 (or 0), in float32 as in float64.
_LOW, _HIGH = 1e-3, 1 - 1e-6


class AccumulatorMLP(nn.Module):
    """Learned per-feature decays, the bias-corrected scan of a window, an MLP.

    Parameters
    ----------
    n_features : int
    initial_decays : array-like of shape (n_decays, n_features)
    n_classes : int
    hidden_layer_sizes : tuple of int
    dropout : float
    """

    def __init__(
        self,
        n_features,
        initial_decays,
        n_classes,
        hidden_layer_sizes=(64, 64),
        dropout=0.0,
    ):
        super().__init__()
        decays = torch.as_tensor(
            np.clip(initial_decays, _LOW, _HIGH), dtype=torch.float32
        )
        self.decay_logit = nn.Parameter(torch.logit(decays))
        n_inputs = n_features * (1 + decays.shape[0])
        self.mlp = MLPModule(n_inputs, n_classes, hidden_layer_sizes, dropout)

    def decays(self):
        """Current decays, shape (n_decays, n_features), inside (0, 1)."""
        return torch.sigmoid(self.decay_logit).clamp(_LOW, _HIGH)

    def forward(self, windows, initial_states, elapsed, steps=None):
        """Logits of every row of a batch of windows, flattened to (n_rows, n_classes).

        ``initial_states`` (n_windows, n_decays, n_features) is the raw state
        entering each window; ``elapsed`` (n_windows, window) is the time each
        row's stream has accumulated, for the bias correction.
        """
        decays = self.decays()
        features = [windows]
        for k in range(decays.shape[0]):
            local, carry_weight = _local_scan(windows, decays[k], steps)
            states = local + carry_weight * initial_states[:, k, None, :]
            weight_sum = bias_correction(torch.log(decays[k]), elapsed[:, :, None])
            features.append(states / weight_sum)
        logits = self.mlp(torch.cat(features, dim=2))
        return logits.reshape(-1, logits.shape[-1])


class WindowBatches(torch.utils.data.Dataset):
    """The rows of a call cut into windows of consecutive rows of one stream.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features), float32
    y_codes, sample_weight : ndarray of shape (n_rows,)
    rows : StreamRows
        How the rows continue their streams (codes, initial states, steps, elapsed).
    window : int
    device : str or torch.device
    """

    def __init__(self, X, y_codes, sample_weight, rows, window, device):
        order = np.argsort(rows.codes, kind="stable")  # streams one after another
        lengths = np.bincount(rows.codes, minlength=len(rows.stream_ids))
        present = lengths > 0
        window = min(window, int(lengths.max()))  # no window of padding only
        dest, windows_per_stream, window_stream = _block_layout(
            lengths[present], window
        )
        n_windows = len(window_stream)

        def layout(values, fill, dtype):
            out = np.full((n_windows * window,) + values.shape[1:], fill, dtype=dtype)
            out[dest] = values[order]
            return torch.as_tensor(
                out.reshape((n_windows, window) + values.shape[1:]), device=device
            )

        self.X = layout(X, 0.0, np.float32)
        self.y = layout(y_codes, 0, np.int64)
        self.sample_weight = layout(sample_weight, 0.0, np.float32)  # padding weighs 0
        self.elapsed = layout(rows.elapsed, 1.0, np.float32)
        self.steps = None if rows.steps is None else layout(rows.steps, 0.0, np.float32)

        # What the start-of-epoch refresh needs: the rows in stream order, and
        # the row just before each window (or -1 for a stream's first window).
        self._device = device
        self._sorted_X = X[order]
        self._sorted_codes = np.repeat(np.arange(present.sum()), lengths[present])
        self._sorted_steps = None if rows.steps is None else rows.steps[order]
        self._initial_states = rows.initial_states[present]
        first = np.cumsum(windows_per_stream) - windows_per_stream
        row_start = np.cumsum(lengths[present]) - lengths[present]
        window_rank = np.arange(n_windows) - np.repeat(first, windows_per_stream)
        self._before = (
            np.repeat(row_start, windows_per_stream) + window_rank * window - 1
        )
        self._before[first] = -1
        self._window_stream = window_stream
        self.initial_states = None

    def __len__(self):
        return len(self.X)

    def refresh(self, decays):
        """Recompute the exact state entering each window with ``decays``."""
        n_decays, n_features = decays.shape
        states, _ = scan_codes(
            self._sorted_X,
            decays.astype(np.float64),
            self._sorted_codes,
            self._initial_states,
            steps=self._sorted_steps,
        )
        starts = np.where(
            (self._before >= 0)[:, None],
            states[np.maximum(self._before, 0)],
            self._initial_states[self._window_stream],
        )
        self.initial_states = torch.as_tensor(
            starts.reshape(-1, n_decays, n_features),
            dtype=torch.float32,
            device=self._device,
        )


class WindowIterator:
    """Shuffled mini-batches of windows, ``batch_size`` rows (whole windows) each."""

    def __init__(self, dataset, batch_size, shuffle=False):
        self.dataset, self.shuffle = dataset, shuffle
        self.windows_per_batch = max(1, round(batch_size / dataset.X.shape[1]))

    def __len__(self):
        return -(-len(self.dataset) // self.windows_per_batch)

    def __iter__(self):
        data = self.dataset
        order = torch.randperm(len(data)) if self.shuffle else torch.arange(len(data))
        for idx in order.to(data.X.device).split(self.windows_per_batch):
            X = {
                "windows": data.X[idx],
                "initial_states": data.initial_states[idx],
                "elapsed": data.elapsed[idx],
            }
            if data.steps is not None:
                X["steps"] = data.steps[idx]
            yield X, (data.y[idx].reshape(-1), data.sample_weight[idx].reshape(-1))


class RefreshWindowStarts(Callback):
    """Before each epoch, recompute the window start states with the current decays."""

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        with torch.no_grad():
            decays = net.module_.decays().double().cpu().numpy()
        dataset_train.refresh(decays)
