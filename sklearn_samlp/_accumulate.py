"""The accumulator scan: a leaky integrator of the input signal, vectorised.

For rows ``x_t`` of one stream in time order, a decay ``d`` in ``[0, 1)`` and an
initial state ``a_{-1}``, the accumulator is::

    a_t = d * a_{t-1} + (1 - d) * x_t

This module computes every ``a_t`` at once, for a bank of decays and for many
interleaved streams, without a Python loop over rows. Everything here is a pure
function of its arguments; numpy arrays and torch tensors (CPU or CUDA) are
accepted and the output has the type, dtype and device of the input.

How it is vectorised
--------------------
Rows are laid out in blocks of ``L`` consecutive steps of one stream (each
stream padded at its end to a whole number of blocks). Within a block the scan
from a zero state is one matrix product with the lower-triangular Toeplitz
matrix ``T[i, j] = (1 - d) d^(i - j)``. The state entering each block follows
the same recurrence one level up, over blocks, with decay ``d^L``: it is solved
by the same function, recursively, so the depth is ``log_L(stream length)``.
Each state is then ``local_i + d^(i + 1) * carry``.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

from collections.abc import Mapping
from numbers import Real

import numpy as np
import torch

__all__ = ["accumulate", "scan_codes"]

# Steps per block: a power of two large enough that the matrix product is
# efficient, small enough that the wasted upper triangle stays cheap.
_BLOCK = 32


def _check_decays(decays):
    """Return ``decays`` as a tuple of floats in [0, 1), or raise ValueError."""
    if isinstance(decays, Real):
        decays = (decays,)
    try:
        decays = tuple(float(d) for d in decays)
    except TypeError as exc:
        raise TypeError(
            f"decay must be a float or a sequence of floats, got {decays!r}."
        ) from exc
    if not decays:
        raise ValueError("decay must hold at least one value, got an empty sequence.")
    for d in decays:
        if not 0.0 <= d < 1.0:  # also rejects NaN
            raise ValueError(f"decay must be in [0, 1), got {d!r}.")
    return decays


def _as_tensor(X):
    """View ``X`` as a floating torch tensor; report whether it was numpy."""
    if isinstance(X, torch.Tensor):
        tensor, from_numpy = X, False
    else:
        array = np.asarray(X)
        if not np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float64)
        tensor, from_numpy = torch.from_numpy(np.ascontiguousarray(array)), True
    if not torch.is_floating_point(tensor):
        tensor = tensor.to(torch.get_default_dtype())
    if tensor.ndim != 2:
        raise ValueError(
            f"X must be 2-dimensional (n_rows, n_features), got shape "
            f"{tuple(tensor.shape)}."
        )
    return tensor, from_numpy


def _block_layout(lengths, block):
    """Where each row of streams stored one after another goes in the blocks.

    Parameters
    ----------
    lengths : ndarray of int, shape (n_streams,)
        Rows of each stream; streams are stored one after another.
    block : int
        Steps per block.

    Returns
    -------
    dest : ndarray of int, shape (n_rows,)
        Flat position of each row in the padded ``(n_blocks * block)`` layout.
    blocks_per_stream : ndarray of int, shape (n_streams,)
    block_stream : ndarray of int, shape (n_blocks,)
        Stream of each block.
    """
    blocks_per_stream = -(-lengths // block)
    block_start = np.cumsum(blocks_per_stream) - blocks_per_stream
    row_start = np.cumsum(lengths) - lengths
    stream_of_row = np.repeat(np.arange(len(lengths)), lengths)
    position = np.arange(lengths.sum()) - row_start[stream_of_row]
    dest = block_start[stream_of_row] * block + position
    block_stream = np.repeat(np.arange(len(lengths)), blocks_per_stream)
    return dest, blocks_per_stream, block_stream


def _toeplitz(decay, scale, block, dtype, device):
    """``T[i, j] = scale * decay^(i - j)`` for ``i >= j``, else 0; and ``decay^(i+1)``."""
    steps = torch.arange(block, dtype=torch.float64)
    lag = steps[:, None] - steps[None, :]
    # 0.0 ** 0 == 1, so decay=0 gives the identity (times scale), as it should.
    toeplitz = torch.where(lag >= 0, scale * decay ** lag.clamp(min=0), 0.0)
    carry_weight = decay ** (steps + 1)
    return toeplitz.to(dtype=dtype, device=device), carry_weight.to(dtype=dtype, device=device)


def _scan_grouped(u, decays, scales, lengths, h0, block=_BLOCK):
    """Scan streams stored one after another, for a bank of decays.

    Solves ``h_t = decay * h_{t-1} + scale * u_t`` for each decay, restarting
    each stream from its row of ``h0``.

    Parameters
    ----------
    u : tensor, shape (n_rows, n_features)
        Inputs, the rows of each stream contiguous and in time order. Shared by
        every decay when 2-D; one input per decay when 3-D
        ``(n_decays, n_rows, n_features)``.
    decays, scales : sequence of float, length n_decays
    lengths : ndarray of int, shape (n_streams,)
        Number of rows of each stream, in storage order; all positive.
    h0 : tensor, shape (n_decays, n_streams, n_features)
        State before the first row of each stream.

    Returns
    -------
    h : tensor, shape (n_decays, n_rows, n_features)
    """
    n_decays, n_streams, n_features = h0.shape
    shared = u.ndim == 2
    n_rows = u.shape[-2]
    dest, blocks_per_stream, block_stream = _block_layout(lengths, block)
    n_blocks = len(block_stream)
    padded_rows = n_blocks * block
    dtype, device = u.dtype, u.device

    if n_streams == 1:  # the common case: no scatter, only padding at the end
        pad = padded_rows - n_rows
        padded = torch.nn.functional.pad(u, (0, 0, 0, pad)) if pad else u
    else:
        dest_t = torch.as_tensor(dest, device=device)
        shape = (padded_rows, n_features) if shared else (n_decays, padded_rows, n_features)
        padded = u.new_zeros(shape)
        padded.index_copy_(-2, dest_t, u)

    out = u.new_empty((n_decays, n_rows, n_features))
    for k, (decay, scale) in enumerate(zip(decays, scales)):
        toeplitz, carry_weight = _toeplitz(decay, scale, block, dtype, device)
        blocks = (padded if shared else padded[k]).reshape(n_blocks, block, n_features)
        local = torch.matmul(toeplitz, blocks)  # scan of each block from zero

        # The state entering each block: h0 for a stream's first block, else
        # the true end state of the previous block, which obeys the same
        # recurrence over blocks with decay**block.
        first_block = np.cumsum(blocks_per_stream) - blocks_per_stream
        carry = h0[k][torch.as_tensor(block_stream, device=device)]
        if decay > 0 and (blocks_per_stream > 1).any():
            block_ends = _scan_grouped(
                local[:, -1, :], (decay**block,), (1.0,), blocks_per_stream,
                h0[k : k + 1], block,
            )[0]
            follows = np.setdiff1d(np.arange(n_blocks), first_block)
            follows_t = torch.as_tensor(follows, device=device)
            carry[follows_t] = block_ends[follows_t - 1]
        local += carry_weight[None, :, None] * carry[:, None, :]

        flat = local.reshape(padded_rows, n_features)
        out[k] = flat[:n_rows] if n_streams == 1 else flat[torch.as_tensor(dest, device=device)]
    return out


def scan_codes(X, decays, codes=None, initial_states=None):
    """Accumulated states of streams given as integer codes.

    Parameters
    ----------
    X : ndarray or tensor of shape (n_rows, n_features)
        Rows of one or more streams; each stream's rows in time order. Non
        floating input is cast to float64 (numpy) or the default dtype (torch).
    decays : float or sequence of float
        Decay(s) in [0, 1). With several, the states are stacked per decay.
    codes : ndarray of int of shape (n_rows,), default=None
        Stream of each row, in ``[0, n_streams)``. None means one stream.
    initial_states : array-like of shape (n_streams, n_decays * n_features), \
            default=None
        State before the first row of each stream; zeros when None. With
        ``codes=None`` it may also be a single state of shape
        ``(n_decays * n_features,)``.

    Returns
    -------
    states : ndarray or tensor of shape (n_rows, n_decays * n_features)
        ``[a(decays[0]), a(decays[1]), ...]`` after each row.
    final_states : ndarray or tensor of shape (n_streams, n_decays * n_features)
        State after the last row of each stream; the initial state for streams
        with no rows in ``X``. 1-D when ``initial_states`` was 1-D.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_samlp._accumulate import scan_codes
    >>> states, final = scan_codes(np.ones((3, 1)), 0.5)
    >>> states.ravel()
    array([0.5  , 0.75 , 0.875])
    """
    decays = _check_decays(decays)
    x, from_numpy = _as_tensor(X)
    n_rows, n_features = x.shape
    width = len(decays) * n_features
    if codes is None:
        codes = np.zeros(n_rows, dtype=np.intp)
    codes = np.asarray(codes)
    if codes.shape != (n_rows,):
        raise ValueError(
            f"codes must have shape ({n_rows},) to match X, got {codes.shape}."
        )

    one_state = initial_states is not None and np.ndim(initial_states) == 1
    if initial_states is None:
        n_streams = int(codes.max()) + 1 if n_rows else 1
        h0 = x.new_zeros((n_streams, width))
    else:
        h0 = torch.as_tensor(initial_states, dtype=x.dtype, device=x.device)
        h0 = h0.reshape(1, -1) if one_state else h0
        if h0.ndim != 2 or h0.shape[1] != width:
            raise ValueError(
                f"initial_states must have {width} columns (n_decays * n_features), "
                f"got shape {tuple(h0.shape)}."
            )
        n_streams = h0.shape[0]
    if n_rows and (codes.min() < 0 or codes.max() >= n_streams):
        raise ValueError(f"codes must be in [0, {n_streams}).")

    final = h0.clone()
    states = x.new_empty((n_rows, width))
    if n_rows:
        # Group rows by stream (stable, so time order is kept) unless they are.
        grouped = bool(np.all(codes[1:] >= codes[:-1]))
        order = None if grouped else np.argsort(codes, kind="stable")
        present, lengths = np.unique(codes, return_counts=True)
        x_grouped = x if grouped else x[torch.as_tensor(order, device=x.device)]
        present_t = torch.as_tensor(present, device=x.device)
        # (n_present, n_decays * f) -> (n_decays, n_present, f)
        h0_present = h0[present_t].reshape(-1, len(decays), n_features).transpose(0, 1)
        scales = [1.0 - d for d in decays]
        h = _scan_grouped(x_grouped, decays, scales, lengths, h0_present.contiguous())
        h = h.permute(1, 0, 2).reshape(n_rows, width)  # stack per decay
        if grouped:
            states = h
        else:
            states[torch.as_tensor(order, device=x.device)] = h
        last_rows = torch.as_tensor(np.cumsum(lengths) - 1, device=x.device)
        final[present_t] = h[last_rows]
    if one_state:
        final = final[0]
    if from_numpy:
        return states.numpy(), final.numpy()
    return states, final


def _factorize(stream_ids, n_rows):
    """Return (unique ids as a list, integer code of each row)."""
    ids = np.asarray(stream_ids)
    if ids.shape != (n_rows,):
        raise ValueError(
            f"stream_ids must be 1-dimensional with one id per row of X "
            f"({n_rows}), got shape {ids.shape}."
        )
    try:
        uniques, codes = np.unique(ids, return_inverse=True)
        return uniques.tolist(), codes.ravel()
    except TypeError:  # ids that numpy cannot sort, e.g. mixed types
        index = {}
        codes = np.fromiter(
            (index.setdefault(i, len(index)) for i in ids.tolist()), np.intp, n_rows
        )
        return list(index), codes


def accumulate(X, decay, *, initial_state=None, stream_ids=None):
    """Accumulated signal ``a_t = d * a_{t-1} + (1 - d) * x_t`` of every row.

    Parameters
    ----------
    X : ndarray or tensor of shape (n_rows, n_features)
        Rows in time order within each stream. numpy arrays give numpy
        results; torch tensors give tensors on the same device.
    decay : float or sequence of float
        Decay(s) ``d`` in [0, 1); with several, a bank of timescales whose
        states are stacked per decay along the columns.
    initial_state : array-like or mapping, default=None
        Without ``stream_ids``: the state before the first row, of shape
        ``(n_decays * n_features,)``. With ``stream_ids``: a mapping from
        stream id to such a state; streams missing from it start from zero.
    stream_ids : array-like of hashable of shape (n_rows,), default=None
        Stream of each row. Rows of several streams may be interleaved. None
        means that ``X`` is one stream.

    Returns
    -------
    states : ndarray or tensor of shape (n_rows, n_decays * n_features)
        State after each row.
    final_state : ndarray, tensor or dict
        State after the last row: an array without ``stream_ids``, else a dict
        from each stream id present in ``X`` to its state.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_samlp._accumulate import accumulate
    >>> X = np.array([[1.0], [1.0], [3.0], [3.0]])
    >>> states, final = accumulate(X, 0.5, stream_ids=["a", "a", "b", "b"])
    >>> states.ravel()
    array([0.5 , 0.75, 1.5 , 2.25])
    >>> final["b"]
    array([2.25])
    """
    if stream_ids is None:
        return scan_codes(X, decay, initial_states=initial_state)
    n_rows = X.shape[0] if hasattr(X, "shape") else len(X)
    uniques, codes = _factorize(stream_ids, n_rows)
    width = len(_check_decays(decay)) * np.shape(X)[1]
    h0 = None
    if initial_state is not None:
        if not isinstance(initial_state, Mapping):
            raise TypeError(
                "initial_state must be a mapping from stream id to state when "
                f"stream_ids is given, got {type(initial_state).__name__}."
            )
        h0 = np.zeros((len(uniques), width))
        for code, sid in enumerate(uniques):
            if sid in initial_state:
                h0[code] = np.asarray(initial_state[sid], dtype=np.float64).reshape(-1)
    states, final = scan_codes(X, decay, codes, h0)
    return states, {sid: final[code] for code, sid in enumerate(uniques)}
