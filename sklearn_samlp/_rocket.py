"""MultiRocket's pooled features and Hydra's counts, accumulated causally.

The convolution classifiers of aeon describe a whole series by pooling the
responses of random dilated convolutions over its time steps. Every pooling
they use is a sum or a running extreme over time, so each can be carried per
stream with a few numbers of state and read at any row:

- MultiRocket (Tan, Dempster, Bergmeir and Webb, 2022), for each of
  MiniRocket's 84 kernels, each dilation and each bias ``b``, pools
  ``c_t = r_t - b`` (``r`` the response) into PPV, the proportion of positive
  ``c_t``; MPV, their mean; MIPV, the mean (relative) index of the positive
  values (-1 if none); and LSPV, the longest stretch of positive values (as a
  fraction of the rows read). State: the count, the sum of the positive
  values, the sum of their indices, the current and the longest stretch.
- Hydra (Dempster, Schmidt and Webb, 2023) draws random kernels in groups; at
  each row, within each group, the kernel with the largest response adds
  that response to its count (soft counting) and the kernel with the
  smallest response adds one (hard counting). State: one sum per kernel and
  counting.

Both run on the series and on its first difference ``x_t - x_{t-1}``, with
dilations spread exponentially up to about a typical length / 8, as
MiniRocket spreads them. The convolutions are *causal*: the response at row
``t`` uses rows ``t, t - k, ..., t - 8k`` for dilation ``k``, and a new
stream's past is 0 (the mean level, in standardised units: its first rows
respond to its level, as a series zero-padded on the left does in
MiniRocket), so every feature is
known as soon as its row arrives and a stream's state is its last
``8 * max(dilations) + 1`` rows plus the sums above. Read at the last row of
a series, the features are the offline transform of the whole series; read
earlier, they describe the prefix.

Responses are computed in float64 from float32 rows with weights of few
binary digits (MiniRocket's -1 and 2; Hydra's rounded to multiples of
2^-10 and summing to exactly 0), so a response is an exact sum: it does not
depend on how the rows were split into calls, and a constant stretch
responds exactly 0.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import itertools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import _rocket_pooling as pooling

_LENGTH = 9  # taps per kernel
_SPAN = _LENGTH - 1  # rows before the current one that dilation 1 reaches
_MINIROCKET = np.full((84, _LENGTH), -1.0)
for _k, _taps in enumerate(itertools.combinations(range(_LENGTH), 3)):
    _MINIROCKET[_k, list(_taps)] = 2.0
_N_KERNELS = len(_MINIROCKET)
_POOLS = ("ppv", "mpv", "mipv", "lspv")
_REPRESENTATIONS = ("series", "difference")
_HYDRA_KERNELS = pooling.HYDRA_KERNELS
_HYDRA_GRID = 2.0**-10  # Hydra's weights are multiples of this: exact sums
_BLOCK_ELEMENTS = 1 << 23  # (series x kernels x biases x rows) per block: memory
_STATE_BYTES = 64 << 20  # state of the series that transform reads at a time
_PHI = (np.sqrt(5) - 1) / 2  # low-discrepancy quantile levels, as MiniRocket


def spread_dilations(length, n_max=32):
    """Exponentially spaced dilations from 1 to about ``(length - 1) / 8``.

    As MiniRocket places them, so that the kernels' spans cover scales from
    9 rows to the whole of a series of ``length`` rows.

    Parameters
    ----------
    length : int
        A typical length of the series.
    n_max : int, default=32
        Most dilations.

    Returns
    -------
    dilations : tuple of int
        Increasing and distinct.

    Examples
    --------
    >>> from sklearn_samlp._rocket import spread_dilations
    >>> spread_dilations(150)
    (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 18)
    >>> spread_dilations(9)
    (1,)
    """
    top = max(np.log2(max(length - 1, 1) / _SPAN), 0.0)
    grid = np.floor(2.0 ** np.linspace(0, top, n_max)).astype(int)
    return tuple(int(d) for d in np.unique(grid))


@dataclass
class RocketState:
    """What each stream carries: its last rows and the running sums.

    Attributes
    ----------
    rows : tensor of shape (n_streams, n_channels, history + 1), float64
        The stream's last rows (0 before it had so many).
    seen : tensor of shape (n_streams,), int64
        Rows read.
    sums : tensor of shape (n_streams, 2, n_combinations, 5), float64
        Per representation and (kernel, dilation, bias): count of positive
        values, their sum, the sum of their indices, the current stretch and
        the longest stretch.
    counts : tensor of shape (n_streams, 2, n_hydra), float64
        Per representation, Hydra's soft then hard counts.
    """

    rows: torch.Tensor
    seen: torch.Tensor
    sums: torch.Tensor
    counts: torch.Tensor

    def nbytes(self):
        """Bytes of state per stream."""
        return sum(
            t[0].numel() * t.element_size()
            for t in (self.rows, self.seen, self.sums, self.counts)
        )

    def _tensors(self):
        return self.rows, self.seen, self.sums, self.counts


class StreamingRocket:
    """Fitted kernels, dilations and biases of the causal MultiRocket-Hydra features.

    Build one with :meth:`fit`; :meth:`initial_state`, :meth:`update` and
    :meth:`read` then carry streams along, and :meth:`transform` reads whole
    series at their last row (or at several rows).

    Parameters
    ----------
    n_channels : int
    dilations : tuple of int
        MultiRocket's dilations.
    channel_masks : ndarray of shape (2, n_dilations, 84, n_channels)
        Per representation, 1 where a channel enters a (dilation, kernel)
        convolution.
    biases : ndarray of shape (2, n_dilations, 84, n_biases)
        Per representation, the biases of each (dilation, kernel).
    hydra_dilations : tuple of int
    hydra_weights : ndarray of shape (2, n_hydra_dilations, n_groups * 8, \
            n_channels, 9)
        Per representation, Hydra's kernels, each applied to the sum of its
        group's channels.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_samlp._rocket import StreamingRocket
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(6, 2, 50)).astype(np.float32)  # 6 series, 2 channels
    >>> rocket = StreamingRocket.fit(X, n_combinations=168, n_groups=4, rng=rng)
    >>> whole = rocket.transform(X)
    >>> whole.shape == (6, rocket.n_outputs)
    True
    >>> state = rocket.update(rocket.initial_state(6, 2), X[:, :, :20])
    >>> state = rocket.update(state, X[:, :, 20:])  # the streams go on
    >>> bool(np.allclose(rocket.read(state), whole))
    True
    """

    def __init__(
        self,
        n_channels,
        dilations,
        channel_masks,
        biases,
        hydra_dilations,
        hydra_weights,
    ):
        self.n_channels = int(n_channels)
        self.dilations = tuple(int(d) for d in dilations)
        self.channel_masks = np.asarray(channel_masks, dtype=np.float64)
        self.biases = np.asarray(biases, dtype=np.float32)
        self.hydra_dilations = tuple(int(d) for d in hydra_dilations)
        self.hydra_weights = np.asarray(hydra_weights, dtype=np.float64)
        n_dil, n_hydra_dil = len(self.dilations), len(self.hydra_dilations)
        if (
            self.channel_masks.shape != (2, n_dil, _N_KERNELS, self.n_channels)
            or self.biases.ndim != 4
            or self.biases.shape[:3] != (2, n_dil, _N_KERNELS)
            or self.hydra_weights.ndim != 5
            or self.hydra_weights.shape[:2] != (2, n_hydra_dil)
            or self.hydra_weights.shape[2] % _HYDRA_KERNELS
            or self.hydra_weights.shape[3:] != (self.n_channels, _LENGTH)
        ):
            raise ValueError("rocket kernels, masks or biases have the wrong shape.")
        self._weights = {}  # device -> conv1d weights

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_weights"] = {}  # device tensors: rebuilt where the model is used
        return state

    # -- sizes ---------------------------------------------------------------

    @property
    def history(self):
        """Rows before the current one that a response reaches back to."""
        return _SPAN * max(self.dilations + self.hydra_dilations)

    @property
    def n_biases(self):
        return self.biases.shape[-1]

    @property
    def n_combinations(self):
        """(kernel, dilation, bias) combinations per representation."""
        return len(self.dilations) * _N_KERNELS * self.n_biases

    @property
    def n_groups(self):
        return self.hydra_weights.shape[2] // _HYDRA_KERNELS

    @property
    def n_hydra(self):
        """Hydra counts per representation: soft and hard, per kernel and dilation."""
        return 2 * len(self.hydra_dilations) * self.hydra_weights.shape[2]

    @property
    def n_outputs(self):
        """Features of a stream: 4 pools per combination, and Hydra's counts, twice."""
        return 2 * (len(_POOLS) * self.n_combinations + self.n_hydra)

    def feature_slices(self):
        """``{"multirocket": columns, "hydra": columns}`` of :meth:`read`'s output."""
        mr = len(_POOLS) * self.n_combinations
        columns = np.arange(self.n_outputs).reshape(2, mr + self.n_hydra)
        return {
            "multirocket": columns[:, :mr].ravel(),
            "hydra": columns[:, mr:].ravel(),
        }

    # -- fitting -------------------------------------------------------------

    @classmethod
    def fit(
        cls, X, lengths=None, n_combinations=2_500, n_groups=32, rng=None, length=None
    ):
        """Draw kernels and channel subsets, spread dilations and place biases.

        Biases are quantiles of the responses of one randomly drawn training
        series per (kernel, dilation), at low-discrepancy levels, as
        MiniRocket places them.

        Parameters
        ----------
        X : ndarray of shape (n_series, n_channels, n_timepoints), float32
            Training series, right-padded where they are shorter.
        lengths : ndarray of int of shape (n_series,), default=None
            Each series' rows; None: all ``n_timepoints``.
        n_combinations : int, default=2500
            (kernel, dilation, bias) combinations per representation, rounded
            to a whole number of biases per (kernel, dilation).
        n_groups : int, default=32
            Hydra's groups of 8 kernels; 0 for none.
        rng : numpy.random.Generator, default=None
        length : int, default=None
            The length the dilations are spread over; None: the longest of
            ``lengths`` (as MiniRocket spreads them over its padded input: on
            JapaneseVowels' unequal lengths, the median gave 0.95, the
            longest 0.98).

        Returns
        -------
        rocket : StreamingRocket
        """
        rng = np.random.default_rng(rng)
        X = np.asarray(X, dtype=np.float32)
        n_series, n_channels, n_timepoints = X.shape
        lengths = _lengths(lengths, n_series, n_timepoints)
        if length is None:
            length = int(lengths.max())
        dilations = spread_dilations(length)
        n_biases = max(1, round(n_combinations / (_N_KERNELS * len(dilations))))
        masks = _channel_masks(rng, (2, len(dilations), _N_KERNELS), n_channels)
        top = int(np.floor(np.log2(max(length - 1, 1) / _SPAN))) if length > 9 else 0
        hydra_dilations = tuple(2**k for k in range(top + 1))
        hydra = _hydra_weights(rng, 2, len(hydra_dilations), n_groups, n_channels)
        unset = np.zeros((2, len(dilations), _N_KERNELS, n_biases), dtype=np.float32)
        rocket = cls(n_channels, dilations, masks, unset, hydra_dilations, hydra)
        # One series per (representation, dilation, kernel); its responses at
        # low-discrepancy quantile levels are the biases.
        chosen = rng.integers(n_series, size=(2, len(dilations), _N_KERNELS))
        levels = (_PHI * np.arange(1, n_biases + 1)) % 1
        used = np.unique(chosen)
        x = torch.as_tensor(X[used])
        past = x.new_zeros(
            (len(x), n_channels, rocket.history + 1), dtype=torch.float64
        )
        weights, _, _ = rocket._conv_weights(x.device)
        _, representations = rocket._sequences(past, x)
        position = np.searchsorted(used, np.arange(n_series))  # row of a used series
        biases = np.empty_like(unset)
        # One (representation, dilation) at a time, on the series drawn for
        # it only: all the responses at once would take gigabytes on long
        # series (100 x 1,500 rows: 5 GB).
        for r, k in itertools.product(range(2), range(len(dilations))):
            drawn = np.unique(chosen[r, k])
            sequences = representations[r][torch.as_tensor(position[drawn])]
            (response,) = rocket._convolve(
                sequences, weights[r][k : k + 1], dilations[k : k + 1]
            )
            response = response.numpy()  # (n_drawn, 84, n_timepoints)
            for j in range(_N_KERNELS):
                s = chosen[r, k, j]
                values = response[np.searchsorted(drawn, s), j, : lengths[s]]
                biases[r, k, j] = np.quantile(values, levels)
        rocket.biases = biases.astype(np.float32)
        rocket._weights = {}  # cached with the unset biases
        return rocket

    # -- streaming -----------------------------------------------------------

    def initial_state(self, n_streams, n_channels=None, device="cpu"):
        """The state of ``n_streams`` streams that have read no row."""
        if n_channels is not None and n_channels != self.n_channels:
            raise ValueError(
                f"the series have {n_channels} channels, the features were "
                f"fitted on {self.n_channels}."
            )
        zeros = dict(dtype=torch.float64, device=device)
        return RocketState(
            rows=torch.zeros((n_streams, self.n_channels, self.history + 1), **zeros),
            seen=torch.zeros(n_streams, dtype=torch.int64, device=device),
            sums=torch.zeros((n_streams, 2, self.n_combinations, 5), **zeros),
            counts=torch.zeros((n_streams, 2, self.n_hydra), **zeros),
        )

    def update(self, state, X, lengths=None):
        """The state after each stream reads its next rows; ``state`` is unchanged.

        Parameters
        ----------
        state : RocketState
            Of ``n_streams`` streams.
        X : ndarray or tensor of shape (n_streams, n_channels, n_rows)
            Each stream's next rows, right-padded where a stream has fewer.
        lengths : array-like of int of shape (n_streams,), default=None
            Rows of each stream in ``X``; None: all ``n_rows``. 0 leaves a
            stream as it was.

        Returns
        -------
        state : RocketState
        """
        x = torch.as_tensor(X, device=state.rows.device)
        lengths = torch.as_tensor(
            _lengths(lengths, x.shape[0], x.shape[2]), device=x.device
        )
        if x.shape[1] != self.n_channels:
            raise ValueError(
                f"the series have {x.shape[1]} channels, the features were "
                f"fitted on {self.n_channels}."
            )
        out = RocketState(*(t.clone() for t in state._tensors()))
        self._advance(out, x, lengths)
        return out

    def _advance(self, state, x, lengths, reads=()):
        """Carry ``state`` over the rows ``x`` in place (lengths: a tensor).

        ``reads``: ``(ends, out)`` pairs, ``ends`` an int ndarray and ``out``
        a float32 tensor of shape (n_streams, n_outputs): on the way, the
        features of stream ``i`` after ``ends[i]`` of its new rows are
        written into ``out[i]``, from the responses computed once.
        """
        if x.shape[2] == 0:
            return
        for block in _blocks(len(x), self._block_size(x.shape[2])):
            self._update_block(
                state,
                block,
                x[block],
                lengths[block],
                [(ends[block], out[block]) for ends, out in reads],
            )

    def read(self, state):
        """Features of each stream from its state: (n_streams, n_outputs) float32.

        Streams that have read no row read 0 (and -1 for MIPV).
        """
        n, c = len(state.sums), self.n_combinations
        out = torch.empty((n, 2, 4 * c + self.n_hydra), device=state.sums.device)
        _write_pools(state.sums, state.seen, out[:, :, : 4 * c].unflatten(2, (4, c)))
        seen = state.seen.to(torch.float64).clamp(min=1)[:, None, None]
        torch.div(state.counts, seen, out=out[:, :, 4 * c :])
        return out.reshape(n, -1).cpu().numpy()

    def transform(self, X, lengths=None, at=None, rows=None, device="cpu"):
        """Features of whole series at their last row, or at given rows.

        The series are read in blocks, so that memory holds the state of a
        block of series at a time, not of all of them.

        Parameters
        ----------
        X : ndarray of shape (n_series, n_channels, n_timepoints)
            Right-padded where a series is shorter.
        lengths : array-like of int of shape (n_series,), default=None
        at : sequence of float in (0, 1], default=None
            Read each series after these fractions of its rows too (rounded
            up to a whole row, at least one); None: only at its last row.
        rows : sequence of int >= 1, default=None
            Instead of ``at``: read each series after these numbers of rows
            (after all its rows where it has fewer). Ascending.
        device : str or torch.device, default="cpu"
            Where the convolutions run.

        Returns
        -------
        features : ndarray of shape (n_series, n_outputs), or of shape \
                (len(at), n_series, n_outputs) when ``at`` or ``rows`` is given
        """
        X = np.asarray(X, dtype=np.float32)
        lengths = _lengths(lengths, X.shape[0], X.shape[2])
        if at is not None and rows is not None:
            raise ValueError("give at or rows, not both.")
        if rows is not None:
            rows = np.asarray(rows, dtype=np.int64)
            if rows.ndim != 1 or np.any(rows < 1) or np.any(np.diff(rows) < 0):
                raise ValueError("rows must be ascending integers >= 1.")
        fractions = [1.0] if at is None else list(at)
        n_reads = len(rows) if rows is not None else len(fractions)

        def stops(k, n):
            """Rows read by each series at read ``k``, before clipping."""
            if rows is not None:
                return np.full(len(n), rows[k])
            return np.ceil(fractions[k] * n).astype(np.int64)

        out = np.empty((n_reads, len(X), self.n_outputs), dtype=np.float32)
        per_series = self.initial_state(1).nbytes()
        for block in _blocks(len(X), max(1, _STATE_BYTES // per_series)):
            n = lengths[block]
            ends, done = [], np.zeros_like(n)
            for k in range(n_reads):
                done = np.maximum(np.clip(stops(k, n), 1, n), done)
                ends.append(done)
            width = int(max(done.max(), 1))
            x = torch.as_tensor(X[block, :, :width], device=device)
            state = self.initial_state(len(x), X.shape[1], device=device)
            features = torch.empty(
                (n_reads, len(x), 2, self.n_outputs // 2), device=device
            )
            # One pass over the rows; the reads are taken on the way.
            self._advance(
                state,
                x,
                torch.as_tensor(done, device=device),
                [(e, f) for e, f in zip(ends, features)],
            )
            out[:, block] = features.reshape(n_reads, len(x), -1).cpu().numpy()
        return out[0] if at is None and rows is None else out

    # -- computing -----------------------------------------------------------

    def _block_size(self, n_rows):
        per_series = max(
            _N_KERNELS * self.n_biases, self.hydra_weights.shape[2] * 2
        ) * (n_rows + self.history)
        return max(1, _BLOCK_ELEMENTS // per_series)

    def _conv_weights(self, device):
        """Per representation: MultiRocket's and Hydra's weights per dilation."""
        key = str(device)
        if key not in self._weights:
            kernels = torch.as_tensor(_MINIROCKET)[:, None, :]  # (84, 1, 9)
            masks = torch.as_tensor(self.channel_masks)[..., None]
            self._weights[key] = (
                (kernels * masks).to(device),  # (2, n_dil, 84, n_channels, 9)
                torch.as_tensor(self.hydra_weights, device=device),
                torch.as_tensor(self.biases, dtype=torch.float64, device=device),
            )
        return self._weights[key]

    def _sequences(self, rows, x):
        """Each stream's last rows then its new ones, and its two representations.

        Returns the sequence (n, n_channels, history + 1 + n_rows) and, each
        of ``history + n_rows`` rows, the series and its first difference.
        """
        sequence = torch.cat([rows, x.to(torch.float64)], dim=2)
        series = sequence[:, :, 1:]
        return sequence, (series, series - sequence[:, :, :-1])

    def _convolve(self, sequence, weights, dilations):
        """Causal responses at the new rows of ``sequence``, dilation by dilation."""
        for w, d in zip(weights, dilations):
            yield F.conv1d(sequence[:, :, self.history - _SPAN * d :], w, dilation=d)

    def _update_block(self, state, block, x, lengths, reads):
        """Carry the streams ``block`` (a slice) of ``state`` over ``x``, in place.

        ``reads``: as in :meth:`_advance`, for the streams of the block.
        """
        seen = state.seen[block]
        mr_weights, hydra_weights, biases = self._conv_weights(x.device)
        sequence, representations = self._sequences(state.rows[block], x)
        c = self.n_combinations
        for r, series in enumerate(representations):
            # numba reads and writes contiguous arrays: each block of sums is
            # copied out, updated and written back into the state's view.
            sums = state.sums[block, r]
            width = _N_KERNELS * self.n_biases
            for k, response in enumerate(
                self._convolve(series, mr_weights[r], self.dilations)
            ):
                columns = slice(k * width, (k + 1) * width)
                part = sums[:, columns].contiguous()
                for done, ends, out in _segments(reads, lengths):
                    pooling.pool(
                        _window(response, done, ends),
                        biases[r, k],
                        _as_like(ends - done, lengths),
                        seen + _as_like(done, lengths),
                        part,
                    )
                    if out is not None:
                        pools = out[:, r, : 4 * c].unflatten(1, (4, c))
                        _write_pools(
                            part, seen + _as_like(ends, lengths), pools[:, :, columns]
                        )
                sums[:, columns] = part
            counts = state.counts[block, r]
            width = 2 * hydra_weights.shape[2]
            for k, response in enumerate(
                self._convolve(series, hydra_weights[r], self.hydra_dilations)
            ):
                columns = slice(k * width, (k + 1) * width)
                part = counts[:, columns].contiguous()
                for done, ends, out in _segments(reads, lengths):
                    pooling.count(
                        _window(response, done, ends),
                        _as_like(ends - done, lengths),
                        part,
                    )
                    if out is not None:
                        at = (seen + _as_like(ends, lengths)).clamp(min=1)
                        hydra = out[:, r, 4 * c :]
                        hydra[:, columns] = part / at.to(torch.float64)[:, None]
                counts[:, columns] = part
        # The last history + 1 rows of each stream, old rows where it read fewer.
        keep = lengths[:, None] + torch.arange(self.history + 1, device=x.device)
        state.rows[block] = torch.gather(
            sequence, 2, keep[:, None, :].expand(-1, self.n_channels, -1)
        )
        state.seen[block] = seen + lengths

    # -- saving --------------------------------------------------------------

    def to_arrays(self):
        """The fitted arrays, to save: ``{name: ndarray}``."""
        return {
            "dilations": np.asarray(self.dilations, dtype=np.int64),
            "channel_masks": self.channel_masks.astype(np.uint8),
            "biases": self.biases.copy(),
            "hydra_dilations": np.asarray(self.hydra_dilations, dtype=np.int64),
            "hydra_weights": self.hydra_weights.astype(np.float32),
        }

    @classmethod
    def from_arrays(cls, n_channels, arrays):
        """Rebuild from :meth:`to_arrays`; ValueError if they do not fit together."""
        for name in ("dilations", "hydra_dilations"):
            d = np.asarray(arrays[name])
            if (
                d.ndim != 1
                or not np.issubdtype(d.dtype, np.integer)
                or np.any(d < 1)
                or np.any(d > 1 << 20)
                or (name == "dilations" and not len(d))
            ):
                raise ValueError(f"rocket {name} must be positive integers.")
        masks = np.asarray(arrays["channel_masks"])
        biases = np.asarray(arrays["biases"])
        weights = np.asarray(arrays["hydra_weights"])
        if not (
            np.isin(masks, (0, 1)).all()
            and np.isfinite(biases).all()
            and np.isfinite(weights).all()
            and np.all(
                np.abs(weights / _HYDRA_GRID - np.round(weights / _HYDRA_GRID)) == 0
            )
        ):
            raise ValueError("rocket biases, masks or kernels are invalid.")
        return cls(
            n_channels,
            arrays["dilations"].tolist(),
            masks,
            biases,
            arrays["hydra_dilations"].tolist(),
            weights,
        )


def _lengths(lengths, n_series, n_timepoints):
    if lengths is None:
        return np.full(n_series, n_timepoints, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.shape != (n_series,) or np.any((lengths < 0) | (lengths > n_timepoints)):
        raise ValueError("lengths must give each series' rows, within its width.")
    return lengths


def _write_pools(sums, seen, out):
    """MultiRocket's four pools from running sums, into float32 ``out``.

    ``sums``: (n, ..., combinations, 5); ``seen``: (n,) rows read; ``out``:
    (n, ..., 4, combinations). Streams that read no row read 0 (-1 for MIPV).
    """
    count, positive, index, _, longest = sums.unbind(dim=-1)
    seen = seen.to(torch.float64).clamp(min=1).reshape(-1, *[1] * (count.ndim - 1))
    counted = count.clamp(min=1)
    torch.div(count, seen, out=out.select(-2, 0))
    torch.div(positive, counted, out=out.select(-2, 1))  # 0 where none
    out.select(-2, 2).copy_(torch.where(count > 0, index / counted / seen, -1.0))
    torch.div(longest, seen, out=out.select(-2, 3))


def _segments(reads, lengths):
    """``(done, ends, out)`` per read, then the rest to ``lengths`` (out None)."""
    done = np.zeros(len(lengths), dtype=np.int64)
    for ends, out in reads:
        yield done, ends, out
        done = ends
    rest = lengths.cpu().numpy()
    if np.any(rest > done):
        yield done, rest, None


def _as_like(values, like):
    return torch.as_tensor(values, dtype=like.dtype, device=like.device)


def _blocks(n, size):
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def _window(X, start, stop):
    """Rows ``start[i]:stop[i]`` of each series, right-padded: (n, channels, width)."""
    width = int((stop - start).max()) if len(start) else 0
    first = np.unique(start[stop > start])
    if len(first) <= 1:  # one start for every stream that reads: a view, no copy
        begin = int(first[0]) if len(first) else 0
        return X[:, :, begin : begin + width]
    index = torch.as_tensor(start, device=X.device)[:, None] + torch.arange(
        width, device=X.device
    )
    index = index.clamp(max=X.shape[2] - 1)
    return torch.gather(X, 2, index[:, None, :].expand(-1, X.shape[1], -1))


def _channel_masks(rng, shape, n_channels):
    """Random channel subsets, of 1 to 9 channels, log-uniformly, as MiniRocket.

    Few channels per convolution keep each response specific; the subsets of
    all the convolutions together cover the channels.
    """
    masks = np.zeros((int(np.prod(shape)), n_channels))
    top = np.log2(min(n_channels, 9) + 1)
    sizes = np.floor(2 ** rng.uniform(0, top, size=len(masks))).astype(int)
    for mask, size in zip(masks, np.minimum(sizes, n_channels)):
        mask[rng.choice(n_channels, size, replace=False)] = 1.0
    return masks.reshape(*shape, n_channels)


def _hydra_weights(rng, n_representations, n_dilations, n_groups, n_channels):
    """Normal kernels, centred, scaled to unit absolute sum, on a binary grid.

    Each group reads the sum of a random subset of the channels. The last tap
    takes what makes the kernel sum to exactly 0 on the grid, so that a
    constant stretch responds exactly 0 for every kernel.
    """
    shape = (n_representations, n_dilations, n_groups * _HYDRA_KERNELS)
    weights = rng.normal(size=(*shape, _LENGTH))
    weights -= weights.mean(axis=-1, keepdims=True)
    weights /= np.abs(weights).sum(axis=-1, keepdims=True)
    weights = np.round(weights / _HYDRA_GRID) * _HYDRA_GRID
    weights[..., -1] -= weights.sum(axis=-1)
    groups = _channel_masks(rng, (n_representations, n_dilations, n_groups), n_channels)
    masks = np.repeat(groups, _HYDRA_KERNELS, axis=2)  # one subset per group
    return weights[..., None, :] * masks[..., :, None]
