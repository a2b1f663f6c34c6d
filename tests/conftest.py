# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import pytest
import torch


@pytest.fixture
def one_torch_thread():
    """Run a test with one intra-op thread, then restore the count.

    For tiny models extra threads only add synchronisation, which dominates
    (about 8x) on a busy machine.
    """
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)
