"""Timestamps and time units: datetimes and durations as float time.

The accumulator works on float time: a gap ``dt`` decays the state by
``decay ** (dt / time_unit)``. Numbers keep their plain meaning. Datetimes
(numpy ``datetime64``, pandas ``Timestamp``/``DatetimeIndex``/datetime
Series, tz-aware or not) and durations (``timedelta64``, pandas
``Timedelta``) become seconds, and a ``time_unit`` given as a duration
(``"20ms"``, ``"1s"``, a ``Timedelta``) becomes seconds too. Without this,
``np.asarray`` of datetimes gives integers in ns or µs since 1970, so that a
20 ms gap counts as 20 000 000 units and the memory is silently gone.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import datetime
import re
from numbers import Real

import numpy as np

# Seconds per unit of the duration strings accepted by ``time_unit``.
_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zµ]+)\s*$")


def duration_text(seconds):
    """``seconds`` as the shortest duration string ``time_unit`` reads back exactly.

    Examples
    --------
    >>> from sklearn_samlp._time import duration_text
    >>> duration_text(10.0), duration_text(0.02), duration_text(90.0)
    ('10s', '20ms', '90s')
    """
    ns = round(seconds * 1e9)
    for unit in ("d", "h", "min", "s", "ms", "us"):
        size = round(_UNITS[unit] * 1e9)
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def is_duration(time_unit):
    """Whether ``time_unit`` is a duration (str, timedelta) rather than a number."""
    return isinstance(time_unit, (str, datetime.timedelta, np.timedelta64))


def time_unit_value(time_unit):
    """``time_unit`` as a positive float: a number as is, a duration in seconds.

    Examples
    --------
    >>> from sklearn_samlp._time import time_unit_value
    >>> time_unit_value("20ms"), time_unit_value(2.5)
    (0.02, 2.5)
    """
    if isinstance(time_unit, str):
        match = _DURATION.match(time_unit)
        if match is None or match.group(2) not in _UNITS:
            raise ValueError(
                f"time_unit {time_unit!r} is not a duration such as '1s', '20ms', "
                f"'5min' (units: {', '.join(_UNITS)})."
            )
        value = float(match.group(1)) * _UNITS[match.group(2)]
    elif isinstance(time_unit, datetime.timedelta):  # also pandas.Timedelta
        value = float(_timedelta_seconds(np.timedelta64(time_unit)))
    elif isinstance(time_unit, np.timedelta64):
        value = float(_timedelta_seconds(time_unit))
    elif isinstance(time_unit, Real) and not isinstance(time_unit, bool):
        value = float(time_unit)
    else:
        raise TypeError(
            "time_unit must be a positive number or a duration ('1s', '20ms', a "
            f"Timedelta or timedelta64), got {type(time_unit).__name__}."
        )
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"time_unit must be positive, got {time_unit!r}.")
    return value


def _timedelta_seconds(values):
    """Float seconds of timedelta64 values (NaT refused)."""
    values = np.asarray(values)
    if np.any(np.isnat(values)):
        raise ValueError("timestamps contain NaT (missing times).")
    return values.astype("timedelta64[ns]").astype(np.int64) * 1e-9


def _is_aware(value):
    """Whether ``value`` is a datetime with a time zone (Python's definition)."""
    return (
        isinstance(value, datetime.datetime)
        and value.tzinfo is not None
        and value.utcoffset() is not None
    )


def _as_datetime_array(timestamps):
    """numpy datetime64/timedelta64 array of ``timestamps``, or None if numeric.

    pandas objects are handled through their dtype (``kind`` "M" or "m"), so
    pandas is not imported; tz-aware datetimes are converted to UTC.
    """
    dtype = getattr(timestamps, "dtype", None)
    if dtype is not None and getattr(dtype, "tz", None) is not None:
        # pandas tz-aware: the UTC instants, as naive datetime64[ns].
        timestamps = getattr(timestamps, "dt", timestamps).tz_convert(None)
    if dtype is not None and getattr(dtype, "kind", None) in "Mm":
        return np.asarray(timestamps)
    if dtype is not None and getattr(dtype, "kind", None) != "O":
        return None
    values = np.asarray(timestamps)
    if values.dtype.kind in "Mm":
        return values
    if values.dtype == object and values.size:
        first = values.flat[0]
        if isinstance(first, (datetime.datetime, datetime.date, np.datetime64)):
            aware = [_is_aware(v) for v in values.ravel().tolist()]
            if any(aware):
                if not all(aware):
                    # A naive time would be read in this machine's time zone.
                    raise ValueError(
                        "timestamps mix timezone-aware and naive datetimes (row "
                        f"{aware.index(not aware[0])} differs from row 0); give "
                        "them all a time zone, or none."
                    )
                values = np.array(
                    [v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
                     for v in values.ravel().tolist()]
                )  # fmt: skip
            return values.astype("datetime64[ns]")
        if isinstance(first, (datetime.timedelta, np.timedelta64)):
            return values.astype("timedelta64[ns]")
    return None


def timestamps_as_float(timestamps, time_unit):
    """``timestamps`` as float64 in the unit that ``time_unit_value`` divides by.

    Numbers are returned unchanged (``check_array`` validates them later).
    Datetimes become seconds since 1970-01-01 UTC, durations seconds; they
    need a duration as ``time_unit``, since a bare number would be ambiguous.
    Numbers with a duration ``time_unit`` are refused for the same reason.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_samlp._time import timestamps_as_float
    >>> t = np.array(["2024-01-01T00:00:00", "2024-01-01T00:00:00.020"], "M8[ms]")
    >>> np.diff(timestamps_as_float(t, "20ms"))
    array([0.02])
    """
    values = _as_datetime_array(timestamps)
    if values is None:
        if is_duration(time_unit):
            raise ValueError(
                f"time_unit={time_unit!r} is a duration, so timestamps must be "
                "datetimes or timedeltas (datetime64, pandas datetimes); for "
                "numeric timestamps pass time_unit as a number in their unit."
            )
        return timestamps
    if not is_duration(time_unit):
        raise ValueError(
            "timestamps are datetimes or timedeltas; pass time_unit as a duration "
            "such as '1s' or '20ms' (or a Timedelta), the time in which the "
            f"accumulator forgets as much as over one row (got {time_unit!r})."
        )
    if values.ndim != 1:
        raise ValueError(f"timestamps must be 1-dimensional, got shape {values.shape}.")
    if values.dtype.kind == "M":
        values = values - np.datetime64(0, "ns")
    return _timedelta_seconds(values)
