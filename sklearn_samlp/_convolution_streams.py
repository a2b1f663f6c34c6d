"""Stream state of the convolution accumulator: raw accumulators, shape, buffer.

With ``accumulator="convolution"`` the network sees, for every row,

    [x_t, a_t(x; d) for d in decay, p_t(c; e) for e in convolution_decay]

where ``a`` are the raw accumulators of the input model and ``p`` accumulates
the indicators ``c_t`` of the causal convolutions (see ``_convolution.py``):
a bias-corrected leaky integrator for ``e < 1``, the running mean of the
stream's rows for ``e = 1`` (MiniRocket's proportion of positive values).

A stream's state is one float32 row, in columns::

    [raw accumulators | indicator accumulators | last rows buffer | rows seen]
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import numpy as np
import torch

from ._accumulate import _scan_grouped, as_tensor, bias_correction, scan_codes
from ._streams import StateUpdate, StreamStates, _last_index


def _bias_corrected(states, decays, elapsed):
    """``states / (1 - decay^elapsed)``: weighted averages of the rows seen.

    ``decays`` gives the decay of every column; ``elapsed`` (n_rows,) the time
    each row's stream has accumulated. Only the rows where the divisor is not 1
    to float32 precision (``decay^elapsed >= 2^-26``), the first rows of each
    stream, are divided, in place; columns sharing one decay share a divisor
    per row.
    """
    decays = np.asarray(decays, dtype=np.float64)
    d_max = float(decays.max())
    if d_max <= 0:
        return states
    needed = np.flatnonzero(elapsed < -26 * np.log(2) / np.log(d_max))
    if not needed.size:
        return states
    device = states.device
    rows = (
        slice(None)
        if needed.size == len(elapsed)
        else torch.as_tensor(needed, device=device)
    )
    with np.errstate(divide="ignore"):  # log(0) = -inf: decay^elapsed = 0
        log_decays = np.log(decays)
    if np.all(decays == decays[0]):  # one divisor per row
        divisor = bias_correction(log_decays[0], elapsed[needed])
        states[rows] /= torch.as_tensor(divisor, dtype=states.dtype, device=device)[
            :, None
        ]
    else:
        divisor = bias_correction(log_decays[None, :], elapsed[needed, None])
        states[rows] = (states[rows] / torch.as_tensor(divisor, device=device)).to(
            states.dtype
        )
    return states


def _running_means(values, codes, n_streams, means0, counts0):
    """Running mean of each stream's rows, continuing ``means0`` over ``counts0`` rows.

    The running sums are the scan with decay 1 and no ``1 - d`` factor, from
    the sums ``means0 * counts0``. ``values`` are 0/1 indicators, so their
    float32 sums are exact (up to 2^24 rows per call).

    Returns the mean after every row (n_rows, n_columns) and after each
    stream's last row (n_streams, n_columns).
    """
    device = values.device
    lengths = np.bincount(codes, minlength=n_streams)
    order = torch.as_tensor(np.argsort(codes, kind="stable"), device=device)
    sums0 = (
        means0 * torch.as_tensor(counts0, dtype=means0.dtype, device=device)[:, None]
    )
    sums = _scan_grouped(values[order], [1.0], lengths, sums0[None], scaled=False)[0]
    starts = np.cumsum(lengths) - lengths
    position = np.arange(len(codes)) - np.repeat(starts, lengths)
    counts = np.repeat(counts0, lengths) + position + 1
    sums /= torch.as_tensor(counts, dtype=sums.dtype, device=device)[:, None]
    final = sums[torch.as_tensor(starts + lengths - 1, device=device)]
    means = torch.empty_like(sums)
    means[order] = sums
    return means, final


class ConvolutionStreams(StreamStates):
    """:class:`StreamStates` whose streams also accumulate convolution indicators.

    Parameters
    ----------
    decays : float or tuple of float
        The raw accumulators' bank, as for :class:`StreamStates`.
    n_features : int
    time_unit : float
    convolutions : CausalConvolutions
        Fitted kernels and thresholds.
    convolution_decays : tuple of float
        Decays in [0, 1] of the indicator accumulators; 1 is a running mean.
    """

    def __init__(self, decays, n_features, time_unit, convolutions, convolution_decays):
        self.convolutions = convolutions
        self.convolution_decays = tuple(float(e) for e in convolution_decays)
        super().__init__(decays, n_features, time_unit)

    @property
    def _raw_width(self):
        return len(self.decays) * self.n_features

    @property
    def _shape_width(self):
        return len(self.convolution_decays) * self.convolutions.n_outputs

    @property
    def width(self):
        buffer = self.convolutions.history * self.n_features
        return self._raw_width + self._shape_width + buffer + 1

    @property
    def n_inputs(self):
        return self.n_features + self._raw_width + self._shape_width

    def advance(self, X, stream_ids=None, timestamps=None, device="cpu"):
        return self.features(X, stream_ids, timestamps, device)[1]

    def _start(self, X, stream_ids, timestamps, device):
        """What a call starts from: for :meth:`features` and :meth:`last_row_features`.

        The call's rows, the rows as a tensor, the states before the call
        (raw accumulators, one block of indicator accumulators per decay, the
        rows seen), the indicators of the call's rows and each stream's buffer
        of last rows after the call.
        """
        rows = self.rows(stream_ids, timestamps, X.shape[0])
        x = as_tensor(X, device)
        h0 = torch.as_tensor(rows.initial_states, device=x.device)
        raw, n_outputs = self._raw_width, self.convolutions.n_outputs
        shape0 = [
            h0[:, raw + k * n_outputs : raw + (k + 1) * n_outputs]
            for k in range(len(self.convolution_decays))
        ]
        seen = rows.initial_states[:, -1].astype(np.float64)
        buffers = h0[:, raw + self._shape_width : -1]
        responses, buffers = self.convolutions.responses(
            x, rows.codes, buffers.reshape(len(h0), -1, self.n_features), seen == 0
        )
        indicators = self.convolutions.indicators(responses)
        return rows, x, h0[:, :raw], shape0, seen, indicators, buffers

    def last_row_features(self, X, stream_ids=None, timestamps=None, device="cpu"):
        """Network input at the last row of each stream of the call; changes nothing.

        The indicator accumulators at a stream's last row are weighted sums
        of its indicators, ``d^n h0 + sum_t (1 - g_t) d^(tau_n - tau_t) c_t``
        (``g_t = d^step_t``, ``tau`` the time since the call's start), or
        their running mean for decay 1: a weighted sum per stream instead of a
        scan over every row, which is what classifying whole series needs.
        """
        rows, x, raw0, shape0, seen, indicators, _ = self._start(
            X, stream_ids, timestamps, device
        )
        n_streams, n_outputs = len(rows.stream_ids), self.convolutions.n_outputs
        lengths = np.bincount(rows.codes, minlength=n_streams)
        last = _last_index(rows.codes, n_streams)
        codes_t = torch.as_tensor(rows.codes, device=x.device)
        _, raw_final = scan_codes(
            x, self._bank_array(), rows.codes, raw0, steps=rows.steps
        )
        parts = [
            x[torch.as_tensor(last, device=x.device)],
            _bias_corrected(
                raw_final.to(x.dtype), self.decay_matrix.ravel(), rows.final_elapsed
            ),
        ]
        steps = np.ones(len(x)) if rows.steps is None else rows.steps
        # tau: time from the state before the call to each row, in its stream.
        order = np.argsort(rows.codes, kind="stable")
        elapsed_sorted = np.cumsum(steps[order])
        before = np.concatenate([[0.0], elapsed_sorted])[np.cumsum(lengths) - lengths]
        tau = np.empty(len(x))
        tau[order] = elapsed_sorted - np.repeat(before, lengths)
        total = tau[last]  # the call's time, per stream
        for decay, state0 in zip(self.convolution_decays, shape0):
            sums = state0.new_zeros((n_streams, n_outputs))
            if decay == 1.0:
                sums.index_add_(0, codes_t, indicators)
                counts = torch.as_tensor(seen, dtype=x.dtype, device=x.device)
                state = (state0 * counts[:, None] + sums) / (
                    counts + torch.as_tensor(lengths, device=x.device)
                )[:, None]
            else:
                weights = -np.expm1(steps * np.log(decay)) * decay ** (
                    total[rows.codes] - tau
                )
                weights = torch.as_tensor(weights, dtype=x.dtype, device=x.device)
                sums.index_add_(0, codes_t, indicators * weights[:, None])
                carry = torch.as_tensor(decay**total, dtype=x.dtype, device=x.device)
                state = _bias_corrected(
                    state0 * carry[:, None] + sums,
                    np.full(n_outputs, decay),
                    rows.final_elapsed,
                )
            parts.append(state)
        return rows.stream_ids, torch.cat(parts, dim=1)

    def features(self, X, stream_ids=None, timestamps=None, device="cpu"):
        """Network input of every row and the update carrying each stream on."""
        rows, x, raw0, shape0, seen, indicators, buffers = self._start(
            X, stream_ids, timestamps, device
        )
        n_streams, n_outputs = len(rows.stream_ids), self.convolutions.n_outputs
        # Each part is written into its columns of the output as it is made.
        features = x.new_empty((len(x), self.n_inputs))
        features[:, : self.n_features] = x
        raw_states, raw_final = scan_codes(
            x, self._bank_array(), rows.codes, raw0, steps=rows.steps
        )
        start = self.n_features + self._raw_width
        features[:, self.n_features : start] = _bias_corrected(
            raw_states, self.decay_matrix.ravel(), rows.elapsed
        )
        del raw_states
        finals = [raw_final]
        for decay, state0 in zip(self.convolution_decays, shape0):
            if decay == 1.0:
                means, final = _running_means(
                    indicators, rows.codes, n_streams, state0, seen
                )
            else:
                means, final = scan_codes(
                    indicators, decay, rows.codes, state0, steps=rows.steps
                )
                means = _bias_corrected(means, np.full(n_outputs, decay), rows.elapsed)
            features[:, start : start + n_outputs] = means
            start += n_outputs
            finals.append(final)
            del means
        del indicators
        lengths = np.bincount(rows.codes, minlength=n_streams)
        finals += [
            buffers.reshape(n_streams, -1),
            torch.as_tensor(seen + lengths, device=x.device)[:, None],
        ]
        final = torch.cat([f.to(x.dtype) for f in finals], dim=1)
        update = StateUpdate(
            rows.stream_ids,
            final.cpu().numpy(),
            rows.final_elapsed,
            rows.final_time,
            hint=rows.hint,
        )
        return features, update
