"""The suite's warning policy, for the scripts that tests run in a subprocess.

Python's ``-W`` and ``PYTHONWARNINGS`` match a module by its exact name, so
they cannot say "errors in sklearn_samlp.*" as pytest's ``filterwarnings``
does. A subprocess therefore shows every deprecation once
(:data:`SUBPROCESS_WARNINGS`), and the test fails on those that our code
triggered (:func:`our_deprecations`): a third-party module's own notice (an
import-time deprecation of a package that skorch imports) is shown, not fatal.
"""

import re

SUBPROCESS_WARNINGS = "default::DeprecationWarning,default::FutureWarning"

# "path/to/file.py:LINE: DeprecationWarning: message": where it was triggered.
_LINE = re.compile(r"^(?P<file>.*\.py):\d+: (?:Deprecation|Future)Warning: ", re.M)
_OURS = re.compile(r"[/\\](?:sklearn_samlp|examples|tests)[/\\][^/\\]*\.py$")


def our_deprecations(stderr):
    """The lines of ``stderr`` that report a deprecation triggered in our files."""
    return [m.group(0) for m in _LINE.finditer(stderr) if _OURS.search(m.group("file"))]


def without_others_warnings(stderr):
    """``stderr`` less the warnings that third-party modules triggered.

    Python prints a warning as its location line and the source line below it.
    """
    lines, out, skip = stderr.splitlines(keepends=True), [], False
    for line in lines:
        if skip and line.startswith("  "):
            continue
        match = _LINE.match(line)
        skip = bool(match) and not _OURS.search(match.group("file"))
        if not skip:
            out.append(line)
    return "".join(out)
