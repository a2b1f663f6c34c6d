"""``python -m sklearn_samlp``: the command line demo (see ``--help``)."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

from ._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
