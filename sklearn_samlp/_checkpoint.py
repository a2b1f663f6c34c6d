"""Model files: the one checkpoint reader and writer of both model classes.

``SignalAccumulativeClassifier.load`` and ``SignalAccumulativeMLP.load_model``
read files written by ``torch.save`` that hold only tensors and plain data,
with a format name and version in a header. This module opens them with
``torch.load(weights_only=True)``, which refuses anything else, and turns
every way a file can be wrong into a ``ValueError`` that names the file.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import contextlib
import os
import pickle
import stat
import tempfile

import torch

from ._validation import check_device


def check_load_device(device, path):
    """``device`` as a ``torch.device`` this machine has, or a ValueError."""
    try:
        return check_device("device", device)
    except ValueError as exc:
        raise ValueError(f"Cannot load {os.fspath(path)!r}: {exc}") from None


def read_checkpoint(path, *, what, format_name, version_key, version, keys):
    """The dict stored at ``path``, its header checked.

    Parameters
    ----------
    path : str or path-like
    what : str
        The class the file should hold, for messages.
    format_name : str
        Expected value of ``content["format"]``.
    version_key : str
        Key of the format version.
    version : int
        The version this code reads.
    keys : iterable of str
        Every key the dict must have.

    Returns
    -------
    content : dict
        Tensors on the CPU.

    Raises
    ------
    OSError
        If the file cannot be opened (missing, permission denied).
    ValueError
        If it is not a safe, whole checkpoint of ``format_name`` and
        ``version`` with all ``keys``.
    """
    fname = os.fspath(path)

    def fail(problem):
        return ValueError(f"Cannot load {what} from {fname!r}: {problem}")

    # Opening the file here keeps a missing file an OSError; anything that
    # fails inside torch.load (forbidden globals, truncated or corrupt archive:
    # UnpicklingError, RuntimeError, EOFError, even OSError) is a bad file.
    with open(fname, "rb") as f:
        if f.read(4) != b"PK\x03\x04":  # torch.save writes a zip archive
            raise fail(
                f"not a readable model file: not a model file written by "
                f"{what}.save (it is no torch.save archive)."
            )
        f.seek(0)
        try:
            content = torch.load(f, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            raise fail(
                "Refusing objects other than tensors and plain data, which could "
                f"execute code ({exc})."
            ) from exc
        except Exception as exc:
            raise fail(
                f"the file is truncated, corrupt or not a readable model file ({exc})."
            ) from exc
    if not isinstance(content, dict):
        raise fail(f"expected a dict, found {type(content).__name__}.")
    missing = sorted(set(keys) - set(content), key=str)
    if missing:
        raise fail(f"not a saved {what}: missing entries {missing}.")
    if content["format"] != format_name:
        raise fail(f"unknown format {content['format']!r}: not a saved {what}.")
    found = content[version_key]
    if isinstance(found, bool) or not isinstance(found, int):
        raise fail(f"{version_key} must be an int, got {found!r}.")
    if found != version:
        raise fail(
            f"{version_key} {found} is not supported (this version of "
            f"sklearn_samlp reads {version})."
        )
    return content


def write_atomically(content, path):
    """``torch.save(content)`` to ``path`` so that the file is whole or absent.

    The content goes to a temporary file in the same folder, flushed to disk,
    which then replaces ``path`` in one rename: a write that fails midway (disk
    full, file-size limit, interrupt) leaves any previous file at ``path`` as
    it was. Raises OSError when ``path`` cannot be written.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot save to {path!r}: it is a directory.")
    if os.path.lexists(path) and not os.path.isfile(path):
        # A device, a pipe, a socket: a rename would replace it, not write to it.
        raise OSError(f"cannot save to {path!r}: it is not a regular file.")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory
    )
    try:
        with os.fdopen(fd, "wb") as f:
            try:
                torch.save(content, f)
            except RuntimeError as exc:  # torch reports failed writes so
                raise OSError(f"cannot save to {path!r}: {exc}") from exc
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, _mode_of(path))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _mode_of(path):
    """Permissions for the new file: the old file's, else 0o666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)  # read it: os has no getter
        os.umask(umask)
        return 0o666 & ~umask
