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
import hashlib
import os
import pickle
import re
import socket
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
    # Files of earlier versions have no checksum; every file written now has.
    if CHECKSUM in content:
        stored = content.pop(CHECKSUM)
        if not isinstance(stored, str) or stored != payload_digest(content):
            raise fail(
                "its checksum does not match its content: the file was changed "
                "or damaged after it was written."
            )
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
    it was. A symbolic link is followed: its target is replaced, the link
    kept. The temporary file is named ``.<name>.<host>.<pid>.<random>.tmp``;
    one left by a process of this host that no longer runs (killed during a
    save) is removed by the next save to ``path``. A checksum of the content
    is stored with it, so that :func:`read_checkpoint` detects a changed byte.
    Raises OSError when ``path`` cannot be written.
    """
    path = os.fspath(path)
    if os.path.islink(path):
        path = os.path.realpath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot save to {path!r}: it is a directory.")
    if os.path.lexists(path) and not os.path.isfile(path):
        # A device, a pipe, a socket: a rename would replace it, not write to it.
        raise OSError(f"cannot save to {path!r}: it is not a regular file.")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    content = {**content, CHECKSUM: payload_digest(content)}
    prefix = _temporary_prefix(path)
    _remove_stale_temporaries(directory, prefix)
    fd, temporary = tempfile.mkstemp(
        prefix=f"{prefix}{os.getpid()}.", suffix=".tmp", dir=directory
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


CHECKSUM = "checksum"


def payload_digest(content):
    """SHA-256 of every key, value and tensor byte of ``content``, as hex."""
    digest = hashlib.sha256()
    _feed(digest, content)
    return digest.hexdigest()


def _feed(digest, value):
    if isinstance(value, dict):
        digest.update(b"{%d" % len(value))
        for key in sorted(value, key=repr):  # keys may be str or int
            _feed(digest, key)
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(b"[%d" % len(value))
        for item in value:
            _feed(digest, item)
    elif isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"T{tensor.dtype}{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    else:
        digest.update(f"{type(value).__name__}:{value!r};".encode())


def _temporary_prefix(path):
    return f".{os.path.basename(path)}.{socket.gethostname()}."


def _remove_stale_temporaries(directory, prefix):
    """Remove temporary files of ``prefix`` whose writing process has ended.

    Only files of this host (in ``prefix``) with another process's id are
    considered, and only when that process no longer exists: a save running
    beside this one, in a thread or another process, keeps its file.
    """
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.[^/]*\.tmp")
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or int(match.group(1)) == os.getpid():
            continue
        if not _process_exists(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, name))


def _process_exists(pid):
    if os.name != "posix":  # Windows' os.kill(pid, 0) would send Ctrl-C
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (OverflowError, OSError):  # another user's, or unknowable: keep it
        return True
    return True


def _mode_of(path):
    """Permissions for the new file: the old file's, else 0o666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)  # read it: os has no getter
        os.umask(umask)
        return 0o666 & ~umask
