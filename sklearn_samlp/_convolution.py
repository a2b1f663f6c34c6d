"""Causal random convolutions: the shape of a signal, accumulated per stream.

MiniRocket (Dempster, Schmidt and Webb, 2021) describes a series by the
proportion of its time steps at which a dilated length-9 convolution of it
exceeds a threshold. That proportion is an accumulator with decay 1 (a running
mean) of a thresholded convolution; with a decay ``d < 1`` it becomes a
recency-weighted proportion, which suits endless streams. Here the
convolutions are *causal*: the response at row ``t`` uses rows ``t, t - k,
..., t - 8k`` of the same stream for dilation ``k``, so it is known as soon as
row ``t`` arrives. A stream's state is then a buffer of its last
``8 * max(dilations)`` rows plus its accumulators, updated once per row.

- Kernels: MiniRocket's 84 kernels of length 9, weights -1 with three of them
  2. They sum to zero, so a constant signal responds 0: the features see the
  shape of the signal, not its level (the raw accumulators see the level).
- Dilations: powers of two up to ``max_dilation``.
- Channels: each (dilation, kernel) sums the responses of a random subset of
  the channels, as MiniRocket does for multivariate series.
- Thresholds: quantiles of each convolution's responses over training rows.
- A new stream's buffer holds copies of its first row (the convolution then
  starts at 0, rather than with a jump from an arbitrary zero padding).
- Responses are computed in float64 from float32 rows: the products by -1 and
  2 and their short sums are then exact, so a response does not depend on how
  the rows were split into calls (chunk invariance holds bit for bit) and a
  constant stretch responds exactly 0.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import itertools

import numpy as np
import torch

_LENGTH = 9  # taps per kernel
_KERNELS = np.full((84, _LENGTH), -1.0, dtype=np.float32)
for _k, _taps in enumerate(itertools.combinations(range(_LENGTH), 3)):
    _KERNELS[_k, list(_taps)] = 2.0
_N_KERNELS = len(_KERNELS)
_QUANTILE_ROWS = 20_000  # rows sampled to place the thresholds
_ROWS_PER_PRODUCT = 1 << 16  # rows whose taps are gathered at once: memory


def dilations_up_to(max_dilation):
    """Powers of two from 1 up to ``max_dilation``: ``(1, 2, 4, ...)``."""
    return tuple(2**k for k in range(int(np.log2(max_dilation)) + 1))


def auto_max_dilation(lengths, cap=32):
    """A receptive field of about a typical stream: ``(median length - 1) // 8``."""
    return int(np.clip((np.median(lengths) - 1) // (_LENGTH - 1), 1, cap))


class CausalConvolutions:
    """Fixed dilated causal convolutions and their thresholds.

    Parameters
    ----------
    n_features : int
        Channels of a row.
    dilations : tuple of int
    channel_masks : ndarray of shape (n_dilations, 84, n_features)
        1 where a channel enters a (dilation, kernel) convolution, else 0.
    thresholds : ndarray of shape (n_dilations * 84, n_thresholds)
        Thresholds of each convolution's response.
    """

    def __init__(self, n_features, dilations, channel_masks, thresholds):
        self.n_features = int(n_features)
        self.dilations = tuple(int(d) for d in dilations)
        self.channel_masks = np.asarray(channel_masks, dtype=np.float32)
        self.thresholds = np.asarray(thresholds, dtype=np.float32)
        expected = (len(self.dilations) * _N_KERNELS, self.thresholds.shape[-1])
        if self.channel_masks.shape != (
            len(self.dilations),
            _N_KERNELS,
            self.n_features,
        ) or (self.thresholds.ndim != 2 or self.thresholds.shape != expected):
            raise ValueError("convolution masks or thresholds have the wrong shape.")
        self._weights = {}  # device -> conv1d weights, one tensor per dilation

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_weights"] = {}  # device tensors: rebuilt where the model is used
        return state

    @property
    def history(self):
        """Rows before the current one that a response reaches back to."""
        return (_LENGTH - 1) * max(self.dilations)

    @property
    def n_outputs(self):
        """Indicators per row: one per convolution and threshold."""
        return self.thresholds.size

    @classmethod
    def fit(cls, X, codes, max_dilation, n_thresholds, rng):
        """Draw channel subsets and place thresholds on the rows of new streams.

        Parameters
        ----------
        X : ndarray of shape (n_rows, n_features), float32
        codes : ndarray of int of shape (n_rows,)
            Stream of each row; every stream starts fresh.
        max_dilation : int
        n_thresholds : int
        rng : numpy.random.Generator
        """
        n_features = X.shape[1]
        dilations = dilations_up_to(max_dilation)
        # Each channel enters with probability 1/2, and at least one does.
        masks = rng.random((len(dilations), _N_KERNELS, n_features)) < 0.5
        forced = rng.integers(n_features, size=(len(dilations), _N_KERNELS))
        np.put_along_axis(masks, forced[..., None], True, axis=2)
        unset = np.zeros((len(dilations) * _N_KERNELS, n_thresholds))
        convolutions = cls(n_features, dilations, masks, unset)
        n_streams = int(codes.max()) + 1
        history = convolutions.history
        buffers = np.zeros((n_streams, history, n_features), dtype=np.float32)
        responses, _ = convolutions.responses(
            torch.as_tensor(X), codes, buffers, np.ones(n_streams, dtype=bool)
        )
        if len(responses) > _QUANTILE_ROWS:
            responses = responses[rng.choice(len(responses), _QUANTILE_ROWS, False)]
        levels = (np.arange(n_thresholds) + 1.0) / (n_thresholds + 1.0)
        # float32 thresholds compared with float64 responses: store exactly
        # what is compared.
        thresholds = np.quantile(responses.numpy(), levels, axis=0).T
        convolutions.thresholds = thresholds.astype(np.float32)
        return convolutions

    def _tap_weights(self, device):
        """Per dilation, the (9 * n_features, 84) float64 map from taps to responses."""
        key = str(device)
        if key not in self._weights:
            kernels = torch.as_tensor(_KERNELS, dtype=torch.float64)[:, :, None]
            self._weights[key] = [
                (kernels * torch.as_tensor(mask, dtype=torch.float64)[:, None, :])
                .reshape(_N_KERNELS, -1)  # (84, 9 taps x n_features)
                .T.contiguous()
                .to(device)
                for mask in self.channel_masks
            ]
        return self._weights[key]

    def responses(self, x, codes, buffers, fresh):
        """Causal responses of every row, and each stream's buffer after the call.

        Each stream's buffer and rows are laid out one after another in one
        sequence; the 9 taps of every row are gathered from it (a response
        reaches back at most ``history`` rows, never into the stream before)
        and mapped to the 84 responses of each dilation by one matrix product.
        Only the call's rows are computed, so a call of one row for each of
        many streams costs what its rows cost.

        Parameters
        ----------
        x : tensor of shape (n_rows, n_features)
        codes : ndarray of int of shape (n_rows,)
            Stream of each row, in ``[0, n_streams)``; every stream has rows.
        buffers : ndarray or tensor of shape (n_streams, history, n_features)
            The last ``history`` rows of each stream before the call.
        fresh : ndarray of bool of shape (n_streams,)
            Streams with no rows yet: their buffer is filled with their first row.

        Returns
        -------
        responses : tensor of shape (n_rows, n_dilations * 84), float64, in
            the order of the rows of ``x``
        buffers : tensor of shape (n_streams, history, n_features)
        """
        history, device = self.history, x.device
        x = x.double()
        n_streams, n_features = len(buffers), x.shape[1]
        lengths = np.bincount(codes, minlength=n_streams)
        starts = np.cumsum(lengths) - lengths
        order = np.argsort(codes, kind="stable")
        buffers = torch.as_tensor(buffers, dtype=x.dtype, device=device).clone()
        if np.any(fresh):
            first_rows = x[torch.as_tensor(order[starts], device=device)]
            fresh_t = torch.as_tensor(fresh, device=device)
            buffers[fresh_t] = first_rows[fresh_t][:, None, :]
        # Stream s occupies [offset_s, offset_s + history + length_s).
        offset = np.arange(n_streams) * history + starts
        sequence = x.new_empty((n_streams * history + len(codes), n_features))
        buffer_position = offset[:, None] + np.arange(history)
        sequence[torch.as_tensor(buffer_position.ravel(), device=device)] = (
            buffers.reshape(-1, n_features)
        )
        # Row i of x sits at its stream's offset + history + its rank in the stream.
        position = np.empty(len(codes), dtype=np.int64)
        position[order] = np.repeat(offset + history - starts, lengths) + np.arange(
            len(codes)
        )
        sequence[torch.as_tensor(position, device=device)] = x
        lags = (_LENGTH - 1) - np.arange(_LENGTH)  # tap j is 8 - j steps back
        responses = x.new_empty((len(codes), len(self.dilations) * _N_KERNELS))
        for k, (dilation, weight) in enumerate(
            zip(self.dilations, self._tap_weights(device))
        ):
            columns = slice(k * _N_KERNELS, (k + 1) * _N_KERNELS)
            for rows in np.array_split(
                np.arange(len(codes)), -(-len(codes) // _ROWS_PER_PRODUCT)
            ):
                taps = position[rows, None] - dilation * lags[None, :]
                gathered = sequence[torch.as_tensor(taps, device=device)]
                responses[torch.as_tensor(rows, device=device), columns] = (
                    gathered.reshape(len(rows), -1) @ weight
                )
        end = offset + history + lengths  # the last ``history`` positions of each
        new_buffers = sequence[
            torch.as_tensor(end[:, None] - history + np.arange(history), device=device)
        ]
        return responses, new_buffers

    def indicators(self, responses):
        """``1.0`` where a response exceeds a threshold: (n_rows, n_outputs)."""
        thresholds = torch.as_tensor(self.thresholds, device=responses.device)
        above = responses[:, :, None] > thresholds.to(responses.dtype)
        return above.reshape(len(responses), -1).to(torch.float32)

    def to_arrays(self):
        """The fitted arrays, to save: ``{name: ndarray}``."""
        return {
            "dilations": np.asarray(self.dilations, dtype=np.int64),
            "channel_masks": self.channel_masks.copy(),
            "thresholds": self.thresholds.copy(),
        }

    @classmethod
    def from_arrays(cls, n_features, arrays):
        """Rebuild from :meth:`to_arrays`; ValueError if they do not fit together."""
        dilations = np.asarray(arrays["dilations"])
        if (
            dilations.ndim != 1
            or not len(dilations)
            or not np.issubdtype(dilations.dtype, np.integer)
            or np.any(dilations < 1)
        ):
            raise ValueError("convolution dilations must be positive integers.")
        masks, thresholds = arrays["channel_masks"], arrays["thresholds"]
        if not np.issubdtype(np.asarray(thresholds).dtype, np.floating):
            raise ValueError("convolution thresholds must be floats.")
        if not (np.isfinite(thresholds).all() and np.isin(masks, (0, 1)).all()):
            raise ValueError("convolution thresholds or masks are invalid.")
        return cls(n_features, dilations.tolist(), masks, thresholds)
