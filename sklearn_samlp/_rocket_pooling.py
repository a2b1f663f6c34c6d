"""The running sums of MultiRocket's pools and Hydra's counts, one pass per block.

Compiled with numba (as aeon's and sktime's convolution transforms are): each
response is read once and every statistic of every bias is updated in the
same pass, branch-free and in row order, so that a stream's sums do not
depend on how its rows were split into calls. The torch versions below do
the same on any device (the features of tensors that are not on the CPU).
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import torch
from numba import njit

HYDRA_KERNELS = 8  # kernels per group
N_SUMS = 5  # count, sum of the positive values, sum of their indices, stretches


@njit(cache=True, nogil=True)
def _pool_numba(response, biases, lengths, seen, sums):  # pragma: no cover (jit)
    n, n_kernels, _ = response.shape
    n_biases = biases.shape[1]
    for i in range(n):
        start = seen[i]
        for k in range(n_kernels):
            for b in range(n_biases):
                bias = biases[k, b]
                s = sums[i, k * n_biases + b]
                count, total, index, current, longest = s[0], s[1], s[2], s[3], s[4]
                for t in range(lengths[i]):
                    value = response[i, k, t] - bias
                    above = 1.0 if value > 0 else 0.0
                    count += above
                    total += value * above
                    index += (start + t) * above
                    current = (current + 1.0) * above
                    longest = max(longest, current)
                s[0], s[1], s[2], s[3], s[4] = count, total, index, current, longest


@njit(cache=True, nogil=True)
def _hydra_numba(response, lengths, counts):  # pragma: no cover (jit)
    n, width, _ = response.shape
    for i in range(n):
        for g in range(0, width, 8):
            for t in range(lengths[i]):
                best, worst = g, g
                for k in range(g + 1, g + 8):
                    value = response[i, k, t]
                    if value > response[i, best, t]:
                        best = k
                    if value < response[i, worst, t]:
                        worst = k
                counts[i, best] += response[i, best, t]
                counts[i, width + worst] += 1.0


def pool(response, biases, lengths, seen, sums):
    """Add a block of responses to MultiRocket's running sums, in place.

    Parameters
    ----------
    response : tensor of shape (n, 84, n_rows), float64
        Responses at each stream's next rows.
    biases : tensor of shape (84, n_biases), float64
    lengths : tensor of int of shape (n,)
        Valid rows of each stream (the rest is padding).
    seen : tensor of int of shape (n,)
        Rows each stream read before: the index of its first new row.
    sums : tensor of shape (n, 84 * n_biases, 5), float64
        Per (kernel, bias): count of positive values, their sum, the sum of
        their indices, the current and the longest stretch of them.
    """
    if response.device.type == "cpu":
        _pool_numba(
            response.contiguous().numpy(),
            biases.numpy(),
            lengths.numpy(),
            seen.to(torch.float64).numpy(),
            sums.numpy(),
        )
        return
    _pool_torch(response, biases, lengths, seen, sums)


def count(response, lengths, counts):
    """Add a block of responses to Hydra's counts, in place.

    Parameters
    ----------
    response : tensor of shape (n, n_groups * 8, n_rows), float64
    lengths : tensor of int of shape (n,)
    counts : tensor of shape (n, 2 * n_groups * 8), float64
        Soft counts of each group's largest response, then hard counts of
        its smallest, per kernel. Ties go to the group's first kernel.
    """
    if response.device.type == "cpu":
        _hydra_numba(response.contiguous().numpy(), lengths.numpy(), counts.numpy())
        return
    _hydra_torch(response, lengths, counts)


def _valid(lengths, n_rows):
    return torch.arange(n_rows, device=lengths.device)[None, :] < lengths[:, None]


def _pool_torch(response, biases, lengths, seen, sums):
    n, n_kernels, n_rows = response.shape
    n_biases = biases.shape[1]
    valid = _valid(lengths, n_rows)
    steps = torch.arange(n_rows, device=response.device, dtype=torch.float64)
    value = response[:, :, None, :] - biases[None, :, :, None]
    above = ((value > 0) & valid[:, None, None, :]).to(torch.float64)
    s = sums.view(n, n_kernels, n_biases, N_SUMS)
    index = seen.to(torch.float64)[:, None] + steps[None, :]
    # The stretch ending at each row continues the current one; a row that
    # is not above the bias ends it.
    marks = torch.where(above > 0, (-1 - s[..., 3])[..., None], steps)
    run = (steps - torch.cummax(marks, dim=-1).values) * valid[:, None, None, :]
    last = (
        (lengths - 1)
        .clamp(min=0)[:, None, None, None]
        .expand(-1, n_kernels, n_biases, 1)
    )
    current = torch.where(
        (lengths > 0)[:, None, None], run.gather(-1, last)[..., 0], s[..., 3]
    )
    s[..., 0] += above.sum(-1)
    s[..., 1] += (value * above).sum(-1)
    s[..., 2] += torch.einsum("nkbt,nt->nkb", above, index)
    s[..., 4] = torch.maximum(s[..., 4], run.max(dim=-1).values)
    s[..., 3] = current


def _hydra_torch(response, lengths, counts):
    n, width, n_rows = response.shape
    grouped = response.reshape(n, -1, HYDRA_KERNELS, n_rows)
    mask = _valid(lengths, n_rows).to(torch.float64)[:, None, :]
    best, which = grouped.max(dim=2)
    worst = grouped.argmin(dim=2)
    soft = torch.zeros_like(grouped).scatter_add_(
        2, which[:, :, None, :], (best * mask)[:, :, None, :]
    )
    hard = torch.zeros_like(grouped).scatter_add_(
        2, worst[:, :, None, :], mask.expand_as(best)[:, :, None, :].contiguous()
    )
    counts[:, :width] += soft.sum(-1).reshape(n, width)
    counts[:, width:] += hard.sum(-1).reshape(n, width)
