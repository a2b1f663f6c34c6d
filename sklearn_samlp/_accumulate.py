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

import functools

import numpy as np
import torch

__all__ = ["scan_codes"]

# Steps per block: a power of two large enough that the matrix product is
# efficient, small enough that the wasted upper triangle stays cheap.
_BLOCK = 32
_SHORT = 128  # calls of one stream up to this many rows are scanned as one block


def as_tensor(X, device=None):
    """``X`` as a floating tensor on ``device``, sharing memory where torch can.

    Non-floating input becomes float64 (numpy) or the default dtype (torch).
    torch cannot share read-only memory (pandas' copy-on-write frames, read-only
    memory maps), so those arrays are copied. ``device=None`` leaves a tensor
    where it is (and puts an array on the CPU).
    """
    if isinstance(X, torch.Tensor):
        tensor = X if device is None else X.to(device)
    else:
        array = np.ascontiguousarray(X)
        if not np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float64)
        if not array.flags.writeable:
            array = array.copy()
        tensor = torch.from_numpy(array)
        if device is not None:
            tensor = tensor.to(device)
    if not torch.is_floating_point(tensor):
        tensor = tensor.to(torch.get_default_dtype())
    return tensor


def _as_bank(decays, n_features):
    """The bank as the scan takes it: floats, or rows of one decay per feature.

    Not validated: the decays are checked where they are set
    (:class:`~sklearn_samlp._streams.StreamStates`).
    """
    if np.ndim(decays) == 2:
        return list(np.asarray(decays, dtype=np.float64))
    return [float(d) for d in np.atleast_1d(decays)]


def bias_correction(log_decay, elapsed):
    """``1 - d^n``: the total weight a scan from zero gives after ``n`` steps.

    Dividing a state by it turns the scan into a weighted average of the rows
    seen (see :mod:`sklearn_samlp._streams`). numpy arrays or torch tensors
    (differentiable in both arguments), broadcast together; ``log_decay`` may
    be ``-inf`` for a zero decay.
    """
    if isinstance(log_decay, torch.Tensor) or isinstance(elapsed, torch.Tensor):
        return -torch.expm1(elapsed * log_decay)
    return -np.expm1(elapsed * log_decay)


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


_MAX_TRANSFER = 1 << 23  # elements of per-block transfer matrices built at once


@functools.lru_cache(maxsize=64)
def _toeplitz(decay, block, scaled, dtype, device):
    """Block matrix ``T[i, j] = c decay^(i - j)`` (i >= j) and weights ``decay^(i+1)``.

    ``c = 1 - decay`` when ``scaled``, else 1. Cached: a fixed decay reuses them.
    """
    index = torch.arange(block, dtype=torch.float64)
    lag = (index[:, None] - index[None, :]).clamp(min=0)
    lower = index[:, None] >= index[None, :]
    transfer = torch.where(lower, torch.pow(decay, lag), 0.0) * (
        (1 - decay) if scaled else 1
    )
    carry_weight = torch.pow(decay, index + 1)[None, :, None]
    return transfer.to(dtype=dtype, device=device), carry_weight.to(
        dtype=dtype, device=device
    )


def _local_scan(blocks, decay, steps=None, scaled=True):
    """Scan each block from a zero state; also the weight of the entering state.

    Solves ``h_i = g_i h_{i-1} + c_i u_i`` within each block, where
    ``g_i = decay^steps_i`` (``steps_i = 1`` when ``steps`` is None) and
    ``c_i = 1 - g_i`` when ``scaled`` else 1. The state of row ``i`` given a
    state ``h`` entering the block is ``local_i + carry_weight_i * h``.

    Differentiable in ``blocks`` and in a tensor ``decay``.

    Parameters
    ----------
    blocks : tensor of shape (n_blocks, block, n_features)
    decay : float or tensor of shape (n_features,)
    steps : tensor of shape (n_blocks, block), default=None
        Time elapsed at each row since the row before it; 0 on padding rows,
        which then leave the state unchanged.
    scaled : bool, default=True

    Returns
    -------
    local : tensor of shape (n_blocks, block, n_features)
    carry_weight : tensor broadcastable to (n_blocks, block, n_features)
    """
    n_blocks, block, _ = blocks.shape
    per_feature = isinstance(decay, torch.Tensor)
    if steps is None and not per_feature:  # a fixed decay: cached matrices
        transfer, carry_weight = _toeplitz(
            decay, block, scaled, blocks.dtype, blocks.device
        )
        return torch.matmul(transfer, blocks), carry_weight
    # Fixed decays build their matrices in float64, learned ones in their dtype.
    work = decay.dtype if per_feature else torch.float64
    index = torch.arange(block, dtype=work, device=blocks.device)
    lower = index[:, None] >= index[None, :]

    if steps is None:  # one decay per feature: a (f, L, L) transfer
        lag = (index[:, None] - index[None, :]).clamp(min=0)
        transfer = torch.where(lower, decay[:, None, None] ** lag, 0.0)
        if scaled:
            transfer = transfer * (1 - decay)[:, None, None]
        local = torch.einsum("fij,bjf->bif", transfer.to(blocks.dtype), blocks)
        carry_weight = decay[None, :] ** (index[:, None] + 1)
        return local, carry_weight[None].to(blocks.dtype)

    # Irregular steps: the transfer from row j to row i is decay^(tau_i - tau_j),
    # a matrix per block, built a chunk of blocks at a time to bound memory.
    tau = steps.to(work).cumsum(dim=1)
    size = block * block * (len(decay) if per_feature else 1)
    chunk = max(1, _MAX_TRANSFER // size)
    parts = []
    for start in range(0, n_blocks, chunk):
        t, x = tau[start : start + chunk], blocks[start : start + chunk]
        lag = (t[:, :, None] - t[:, None, :]).clamp(min=0)
        st = steps[start : start + chunk].to(work)
        if per_feature:  # (b, f, L, L)
            transfer = torch.where(
                lower, decay[None, :, None, None] ** lag[:, None], 0.0
            )
            if scaled:
                transfer = (
                    transfer
                    * (1 - decay[None, :, None] ** st[:, None, :])[:, :, None, :]
                )
            parts.append(torch.einsum("bfij,bjf->bif", transfer.to(blocks.dtype), x))
        else:
            transfer = torch.where(lower, torch.pow(decay, lag), 0.0)
            if scaled:
                transfer = transfer * (1 - torch.pow(decay, st))[:, None, :]
            parts.append(torch.bmm(transfer.to(blocks.dtype), x))
    if per_feature:
        carry_weight = decay[None, None, :] ** tau[:, :, None]
    else:
        carry_weight = torch.pow(decay, tau)[:, :, None]
    return torch.cat(parts), carry_weight.to(blocks.dtype)


def _scan_grouped(u, decays, lengths, h0, steps=None, scaled=True, block=_BLOCK):
    """Scan streams stored one after another, for a bank of decays.

    Solves ``h_t = g_t h_{t-1} + c_t u_t`` (see :func:`_local_scan`) for each
    decay, restarting each stream from its row of ``h0``.

    Parameters
    ----------
    u : tensor, shape (n_rows, n_features)
        Inputs, the rows of each stream contiguous and in time order.
    decays : list of float or tensor of shape (n_features,), length n_decays
    lengths : ndarray of int, shape (n_streams,)
        Number of rows of each stream, in storage order; all positive.
    h0 : tensor, shape (n_decays, n_streams, n_features)
        State before the first row of each stream.
    steps : tensor of shape (n_rows,), default=None
        Time elapsed at each row since the previous row of its stream; None
        means one step per row.
    scaled : bool, default=True

    Returns
    -------
    h : tensor, shape (n_decays, n_rows, n_features)
    """
    n_decays, n_streams, n_features = h0.shape
    n_rows = u.shape[0]
    if n_streams == 1 and n_rows <= _SHORT and steps is None:
        # A short call (a chunk of a live stream): one block, no layout.
        return torch.stack(
            [_short_scan(u, decay, h0[k, 0], scaled) for k, decay in enumerate(decays)]
        )
    if n_streams == n_rows:  # one row per stream (many live streams): one step
        return torch.stack(
            [
                _one_step(u, decay, h0[k], steps, scaled)
                for k, decay in enumerate(decays)
            ]
        )
    block = _block_size(lengths, block)
    dest, blocks_per_stream, block_stream = _block_layout(lengths, block)
    n_blocks = len(block_stream)
    padded_rows = n_blocks * block
    device = u.device

    def pad(values):  # rows into the block layout; padding rows are zero
        if n_streams == 1:  # the common case: no scatter, only padding at the end
            rows = padded_rows - n_rows
            return torch.nn.functional.pad(values, (0, 0, 0, rows)[-2 * values.ndim :])
        padded = values.new_zeros((padded_rows,) + values.shape[1:])
        return padded.index_copy_(0, dest_t, values)

    dest_t = torch.as_tensor(dest, device=device)
    blocks = pad(u).reshape(n_blocks, block, n_features)
    step_blocks = None if steps is None else pad(steps).reshape(n_blocks, block)
    block_stream_t = torch.as_tensor(block_stream, device=device)
    first_block = np.cumsum(blocks_per_stream) - blocks_per_stream
    follows = torch.as_tensor(
        np.setdiff1d(np.arange(n_blocks), first_block), device=device
    )

    out = u.new_empty((n_decays, n_rows, n_features))
    for k, decay in enumerate(decays):
        local, carry_weight = _local_scan(blocks, decay, step_blocks, scaled)

        # The state entering each block: h0 for a stream's first block, else
        # the true end state of the previous block, which obeys the same
        # recurrence one level up, over blocks.
        carry = h0[k][block_stream_t]
        if len(follows) and _nonzero(decay):
            if step_blocks is None:
                upper = dict(decays=[decay**block], steps=None)
            else:
                upper = dict(decays=[decay], steps=step_blocks.sum(dim=1))
            block_ends = _scan_grouped(
                local[:, -1, :],
                lengths=blocks_per_stream,
                h0=h0[k : k + 1],
                scaled=False,
                block=block,
                **upper,
            )[0]
            carry[follows] = block_ends[follows - 1]
        states = local.addcmul_(carry_weight, carry[:, None, :]).reshape(
            padded_rows, n_features
        )
        out[k] = states[:n_rows] if n_streams == 1 else states[dest_t]
    return out


def _one_step(u, decay, h0, steps, scaled, out=None):
    """``g h0 + c u`` row by row: the scan of streams that have one row each.

    As in :func:`_local_scan`, the coefficients are computed in float64 (or the
    learned decays' dtype) and rounded to the rows' dtype. ``out``: a tensor
    (or view) of the result's shape to write it to, without temporaries.
    """
    work = decay.dtype if isinstance(decay, torch.Tensor) else torch.float64
    if steps is None:
        g = torch.as_tensor(decay, dtype=work, device=u.device).reshape(1, -1)
    else:
        g = torch.pow(decay, steps.to(work)[:, None])
    c = (1 - g) if scaled else torch.ones_like(g)
    out = torch.mul(u, c.to(u.dtype), out=out)
    return out.addcmul_(g.to(u.dtype), h0)


def _block_size(lengths, block):
    """The largest power of two up to ``block`` that pads the rows at most 2x.

    Streams are padded to whole blocks: a million one-row streams in blocks of
    32 would hold 32 times their rows. Long streams keep the full block.
    """
    n_rows = lengths.sum()
    while block > 1 and (-(-lengths // block)).sum() * block > 2 * n_rows:
        block //= 2
    return block


def _short_scan(u, decay, h0, scaled):
    """Scan of at most one block of one stream from ``h0``: (n_rows, n_features)."""
    local, carry_weight = _local_scan(u[None], decay, scaled=scaled)
    return (local + carry_weight * h0)[0]


def _nonzero(decay):
    return (
        bool(torch.any(decay != 0)) if isinstance(decay, torch.Tensor) else decay != 0
    )


def scan_codes(X, decays, codes=None, initial_states=None, steps=None):
    """Accumulated states of streams given as integer codes.

    Parameters
    ----------
    X : ndarray or tensor of shape (n_rows, n_features)
        Rows of one or more streams; each stream's rows in time order. Non
        floating input is cast to float64 (numpy) or the default dtype (torch).
    decays : float, sequence of float or array of shape (n_decays, n_features)
        Decay(s) in [0, 1), not checked here. With several, the states are
        stacked per decay. A 2-D array gives each feature its own decay.
    codes : ndarray of int of shape (n_rows,), default=None
        Stream of each row, in ``[0, n_streams)``. None means one stream.
    initial_states : array-like of shape (n_streams, n_decays * n_features), \
            default=None
        State before the first row of each stream; zeros when None. With
        ``codes=None`` it may also be a single state of shape
        ``(n_decays * n_features,)``.
    steps : array-like of shape (n_rows,), default=None
        Irregular time: the time elapsed at each row since the previous row of
        its stream (for a stream's first row here, since its state was taken),
        all positive. The decay over a step ``s`` is ``d^s``, so the update is
        ``a_t = d^s a_{t-1} + (1 - d^s) x_t``. None means one unit per row.

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
    >>> scan_codes(np.ones((2, 1)), 0.5, steps=[1.0, 2.0])[0].ravel()
    array([0.5  , 0.875])
    """
    from_numpy = not isinstance(X, torch.Tensor)
    x = as_tensor(X)
    if x.ndim != 2:
        raise ValueError(
            f"X must be 2-dimensional (n_rows, n_features), got shape {tuple(x.shape)}."
        )
    n_rows, n_features = x.shape
    bank = _as_bank(decays, n_features)
    width = len(bank) * n_features
    if codes is None:
        codes = np.zeros(n_rows, dtype=np.intp)
    codes = np.asarray(codes)
    if codes.shape != (n_rows,):
        raise ValueError(
            f"codes must have shape ({n_rows},) to match X, got {codes.shape}."
        )
    if steps is not None:
        steps = torch.as_tensor(steps, device=x.device)
        if steps.shape != (n_rows,):
            raise ValueError(
                f"steps must have shape ({n_rows},), got {tuple(steps.shape)}."
            )
        if n_rows and not bool(torch.all(steps > 0)):
            raise ValueError(
                "steps must be positive: timestamps must increase within a stream."
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
        if n_streams == 1:  # one stream: nothing to group
            grouped, present, lengths = True, np.zeros(1, np.intp), np.array([n_rows])
        else:  # group rows by stream (stable, so time order is kept)
            grouped = bool(np.all(codes[1:] >= codes[:-1]))
            present, lengths = np.unique(codes, return_counts=True)
        order = (
            None
            if grouped
            else torch.as_tensor(np.argsort(codes, kind="stable"), device=x.device)
        )
        present_t = torch.as_tensor(present, device=x.device)
        # (n_present, n_decays * f) -> (n_decays, n_present, f)
        h0_present = h0[present_t].reshape(-1, len(bank), n_features).transpose(0, 1)
        bank = [
            d if isinstance(d, float) else torch.as_tensor(d, device=x.device)
            for d in bank
        ]
        h = _scan_grouped(
            x if grouped else x[order],
            bank,
            lengths,
            h0_present.contiguous(),
            steps=steps if steps is None or grouped else steps[order],
        )
        h = h.permute(1, 0, 2).reshape(n_rows, width)  # stack per decay
        if grouped:
            states = h
        else:
            states[order] = h
        last_rows = torch.as_tensor(np.cumsum(lengths) - 1, device=x.device)
        final[present_t] = h[last_rows]
    if one_state:
        final = final[0]
    if from_numpy:
        return states.numpy(), final.numpy()
    return states, final
