"""torch's intra-op thread count, set for the duration of a call.

The network is small: each operation is too short for a second thread to pay
off, and on a machine whose other cores are busy torch's default (one thread
per core) makes every operation wait for a descheduled thread, up to ten times
slower (``benchmarks/bench_threads.py``). The estimator therefore runs on
``n_threads`` threads and gives the process its setting back afterwards.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import functools
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(n_threads):
    """Run the block with ``torch.set_num_threads(n_threads)``; None: unchanged.

    Examples
    --------
    >>> import torch
    >>> from sklearn_samlp._threads import torch_threads
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    before = torch.get_num_threads()
    change = n_threads is not None and n_threads != before
    if change:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        if change:
            torch.set_num_threads(before)


def with_torch_threads(method):
    """Decorate an estimator method to run on ``self.n_threads`` threads."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with torch_threads(self.n_threads):
            return method(self, *args, **kwargs)

    return wrapper
