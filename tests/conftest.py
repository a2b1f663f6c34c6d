# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Run the suite with one intra-op thread, then restore the count.

    The test models are tiny: extra intra-op threads only add synchronisation,
    which dominates when another process holds a core (tens of times slower on
    two cores). The library itself never changes the thread count.
    """
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)
