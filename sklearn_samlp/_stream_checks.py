"""Warnings for stream ids that silently change what a prediction means.

Two calls are legal but usually mistakes, and they only lower the score:

* Predicting streams that ``fit`` trained on. After ``fit`` every stream's
  accumulator is at its last training row, so a held-out series whose id was
  also used in training (the usual result of numbering each split from 0)
  starts from a training series' memory instead of from zero.
* Predicting without ``stream_ids`` on a model that knows several streams.
  All rows then form one stream; under ``GridSearchCV`` without metadata
  routing, ``score`` never gets the ids, so each test fold is scored as one
  long stream.

Each warning is shown once per process and kind of call, as Python's
``"default"`` action would show it, unless a filter asks for every one
(``"always"``, ``"error"``): a search clones the estimator for every fit, and
scikit-learn's workers reset Python's own once-registry, so without this one
``GridSearchCV`` would print the same warning for every candidate and fold.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import os
import sys
import warnings

from ._streams import _factorize

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _user_stacklevel():
    """``stacklevel`` that points a warning at the first caller outside the package."""
    frame, level = sys._getframe(1), 1  # the function that warns: level 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


_SHOWN = set()  # (kind, method) of the warnings shown once already


def _every_time(message, category):
    """Whether the filters in force ask to see ``category`` on every call."""
    for action, text, cat, _module, _lineno in warnings.filters:
        if issubclass(category, cat) and (text is None or text.match(message)):
            return action in ("always", "error")
    return warnings.defaultaction in ("always", "error")


def _warn_once(key, message, category):
    """Warn ``message``, only the first time for ``key`` unless filters say always."""
    if _every_time(message, category):
        _SHOWN.discard(key)  # seen under "always": show again once it is lifted
    elif key in _SHOWN:
        return
    else:
        _SHOWN.add(key)
    warnings.warn(message, category, stacklevel=_user_stacklevel())


class StreamIdWarning(UserWarning):
    """A call's stream ids probably do not mean what the caller intends.

    Examples
    --------
    >>> import warnings
    >>> from sklearn_samlp import StreamIdWarning
    >>> warnings.simplefilter("error", StreamIdWarning)  # make the traps errors
    >>> warnings.resetwarnings()
    """


def _preview(ids, n=5):
    shown = ", ".join(map(repr, ids[:n]))
    return f"[{shown}{', ...' if len(ids) > n else ''}]"


def warn_reused_streams(known, stream_ids, method):
    """Warn if ``stream_ids`` name streams in ``known``, the streams fit left."""
    ids, _ = _factorize(stream_ids, len(stream_ids))
    reused = [sid for sid in ids if sid in known]
    if not reused:
        return
    _warn_once(
        ("reused", method),
        f"{method} got {len(reused)} of {len(ids)} stream ids that fit trained on "
        f"{_preview(reused)}: these streams continue from their accumulator at "
        "the end of training. If they are new series numbered like the training "
        "ones, call reset_accumulators() first (or give them new ids, or set "
        "after_fit='reset'); if they continue the training streams, set "
        "after_fit='continue' to silence this warning.",
        StreamIdWarning,
    )


def warn_missing_stream_ids(n_streams, method):
    """Warn that rows without ``stream_ids`` form one stream of a multi-stream model."""
    _warn_once(
        ("missing", method),
        f"{method} was called without stream_ids on a model that holds "
        f"{n_streams} streams: all rows are taken as one stream (the default "
        "stream). Pass stream_ids; under GridSearchCV, cross_val_score and the "
        "like, enable metadata routing (sklearn.set_config(enable_metadata_"
        "routing=True)): the estimator requests stream_ids and timestamps by "
        "default, and without routing score gets no stream ids.",
        StreamIdWarning,
    )


def warn_missing_timestamps(method):
    """Warn that rows without ``timestamps`` reach a model trained with them."""
    _warn_once(
        ("timestamps", method),
        f"{method} was called without timestamps on a model trained with them: "
        "each row is taken as one time_unit after its stream's previous row. "
        "Pass the rows' timestamps.",
        UserWarning,
    )


def known_streams(streams):
    """The ids of the streams with a state, other than the default stream."""
    return {sid for sid in streams.index if sid is not None}
