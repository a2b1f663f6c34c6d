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
    warnings.warn(
        f"{method} got {len(reused)} of {len(ids)} stream ids that fit trained on "
        f"{_preview(reused)}: these streams continue from their accumulator at "
        "the end of training. If they are new series numbered like the training "
        "ones, call reset_accumulators() first (or give them new ids, or set "
        "after_fit='reset'); if they continue the training streams, set "
        "after_fit='continue' to silence this warning.",
        StreamIdWarning,
        stacklevel=_user_stacklevel(),
    )


def warn_missing_stream_ids(n_streams, method):
    """Warn that rows without ``stream_ids`` form one stream of a multi-stream model."""
    warnings.warn(
        f"{method} was called without stream_ids on a model that holds "
        f"{n_streams} streams: all rows are taken as one stream (the default "
        "stream). Pass stream_ids; under GridSearchCV, cross_val_score and the "
        "like, enable metadata routing (sklearn.set_config(enable_metadata_"
        "routing=True)) and call set_score_request(stream_ids=True), or score "
        "gets no stream ids.",
        StreamIdWarning,
        stacklevel=_user_stacklevel(),
    )


def known_streams(streams):
    """The ids of the streams with a state, other than the default stream."""
    return {sid for sid in streams.index if sid is not None}
