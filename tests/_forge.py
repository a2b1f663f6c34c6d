"""Write a crafted model file as a forger would: with a matching checksum.

The checksum in a model file detects damage, not forgery (anyone can compute
it), so the tests of what ``load`` refuses re-sign the files they craft: the
checks behind the checksum are what they test.
"""

import torch

from sklearn_samlp._checkpoint import CHECKSUM, payload_digest


def forge(content, path):
    content = {key: value for key, value in content.items() if key != CHECKSUM}
    torch.save({**content, CHECKSUM: payload_digest(content)}, path)
