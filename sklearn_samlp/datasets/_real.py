"""Loaders for the small real time-series data sets shipped with the package."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

from importlib import resources
from numbers import Integral

import numpy as np
from sklearn.model_selection import GroupShuffleSplit
from sklearn.utils import Bunch, _safe_indexing, indexable
from sklearn.utils._param_validation import Interval, RealNotInt, validate_params

__all__ = [
    "load_basic_motions",
    "load_gunpoint",
    "load_italy_power_demand",
    "load_japanese_vowels",
    "train_test_split_streams",
]

DATA_MODULE = "sklearn_samlp.datasets.data"
DESCR_MODULE = "sklearn_samlp.datasets.data"

# Keys every packaged ``.npz`` file must hold; nothing else is read.
_NPZ_KEYS = ("X", "y", "classes", "feature_names", "series_id", "t", "split")


def _load_npz(data_file_name, *, data_module=DATA_MODULE):
    """Read a packaged ``.npz`` file into a dict of arrays, without pickle.

    Rows are returned grouped by series and in time order within each series
    (they are stored that way; they are re-sorted, stably, if not).
    """
    path = resources.files(data_module) / data_file_name
    with path.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in _NPZ_KEYS}

    series_id, t = arrays["series_id"], arrays["t"]
    step = np.diff(series_id)
    in_order = np.all((step > 0) | ((step == 0) & (np.diff(t) > 0)))
    if not in_order:
        order = np.lexsort((t, series_id))
        for key in ("X", "y", "series_id", "t", "split"):
            arrays[key] = arrays[key][order]
    return arrays


def _load_descr(descr_file_name, *, descr_module=DESCR_MODULE):
    """Read a packaged ``.rst`` description."""
    return (resources.files(descr_module) / descr_file_name).read_text(encoding="utf-8")


def _load_stream_dataset(name, *, return_X_y, as_frame):
    """Build the Bunch (or the ``(data, target)`` pair) for one data set."""
    data_file_name = f"{name}.npz"
    arrays = _load_npz(data_file_name)

    data = np.ascontiguousarray(arrays["X"], dtype=np.float32)
    target = arrays["y"].astype(np.intp)
    target_names = arrays["classes"].astype(str)
    feature_names = arrays["feature_names"].astype(str).tolist()
    stream_ids = arrays["series_id"].astype(np.intp)
    time_index = arrays["t"].astype(np.intp)
    split = arrays["split"].astype(np.int8)

    frame = None
    if as_frame:
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on environment
            raise ImportError(
                f"load_{name} with as_frame=True requires pandas. "
                "Install it with `pip install pandas`."
            ) from exc
        data = pd.DataFrame(data, columns=feature_names, copy=False)
        target = pd.Series(target, name="target")
        frame = pd.concat(
            [
                data,
                pd.DataFrame(
                    {
                        "stream_id": stream_ids,
                        "time_index": time_index,
                        "split": split,
                    }
                ),
                target,
            ],
            axis=1,
        )

    if return_X_y:
        return data, target

    return Bunch(
        data=data,
        target=target,
        frame=frame,
        target_names=target_names,
        feature_names=feature_names,
        stream_ids=stream_ids,
        time_index=time_index,
        split=split,
        DESCR=_load_descr(f"{name}.rst"),
        filename=data_file_name,
        data_module=DATA_MODULE,
    )


_LOADER_DOC = """Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch, exactly as the
        scikit-learn loaders do. The series each row belongs to is then not
        returned: load the Bunch and read ``stream_ids`` when you need it (to
        reset a stream's state, or to split by series).

    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame, ``target`` a pandas Series
        and ``frame`` a DataFrame with the features and the columns
        ``stream_id``, ``time_index``, ``split`` and ``target``. Requires
        pandas (imported only then).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : {{ndarray, DataFrame}} of shape ({n_rows}, {n_features})
            One row per time step, float32. The series are concatenated one
            after another, each in time order.
        target : {{ndarray, Series}} of shape ({n_rows},)
            Integer class code of each row; every row of a series carries that
            series' label. ``target_names[target]`` gives the original labels.
        target_names : ndarray of shape ({n_classes},)
            The original class labels, as strings.
        feature_names : list of str
            The names of the {n_features} columns of ``data``.
        stream_ids : ndarray of shape ({n_rows},)
            The series (stream) each row belongs to, numbered ``0`` to
            ``{last_stream}``. Rows of one series are contiguous and in time
            order.
        time_index : ndarray of shape ({n_rows},)
            The time step of each row within its series, from 0.
        split : ndarray of shape ({n_rows},), dtype int8
            The archive's original partition: 0 for rows of its TRAIN file, 1
            for rows of its TEST file. Whole series share one value.
        frame : DataFrame of shape ({n_rows}, {n_frame_columns}) or None
            Only set when ``as_frame=True``, else None.
        DESCR : str
            Full description of the data set: provenance, licence, citation.
        filename : str
            Name of the packaged file, relative to ``data_module``.
        data_module : str
            The package holding the data file, for ``importlib.resources``.

    (data, target) : tuple if ``return_X_y`` is True
        ``data`` of shape ({n_rows}, {n_features}) and ``target`` of shape
        ({n_rows},), as ndarrays, or as a DataFrame and a Series when
        ``as_frame=True``.
"""


def _fill_loader_doc(*, n_rows, n_features, n_classes, n_streams):
    """Decorator: insert the shared Parameters/Returns text into a loader."""

    def decorate(func):
        func.__doc__ = func.__doc__.format(
            loader_doc=_LOADER_DOC.format(
                n_rows=n_rows,
                n_features=n_features,
                n_classes=n_classes,
                last_stream=n_streams - 1,
                n_frame_columns=n_features + 4,
            )
        )
        return func

    return decorate


@validate_params(
    {"return_X_y": ["boolean"], "as_frame": ["boolean"]},
    prefer_skip_nested_validation=True,
)
@_fill_loader_doc(n_rows=9961, n_features=12, n_classes=9, n_streams=640)
def load_japanese_vowels(*, return_X_y=False, as_frame=False):
    """Load the Japanese Vowels speaker data set (stream classification).

    Nine male speakers each uttered the vowels /ae/; each utterance is one
    series of 12 LPC cepstrum coefficients per 6.4 ms frame. Identify the
    speaker.

    =================   ===========================
    Classes                                       9
    Series (streams)     640 (270 TRAIN, 370 TEST)
    Series length                           7 to 29
    Rows total                                 9961
    Dimensionality                               12
    Features                          real, float32
    =================   ===========================

    The data ship with the package (UCI "Japanese Vowels", CC BY 4.0, in the
    UCR/UEA archive version of aeon 1.6.0); loading needs no network.
    See ``DESCR`` for provenance, licence and citation.

    {loader_doc}
    See Also
    --------
    load_basic_motions : The other shipped real data set.
    train_test_split_streams : Split rows into train and test by whole series.

    References
    ----------
    .. [1] M. Kudo, J. Toyama and M. Shimbo (1999). "Multidimensional curve
       classification using passing-through regions". Pattern Recognition
       Letters, 20(11-13).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_samlp.datasets import load_japanese_vowels
    >>> bunch = load_japanese_vowels()
    >>> bunch.data.shape, bunch.data.dtype
    ((9961, 12), dtype('float32'))
    >>> len(np.unique(bunch.stream_ids))
    640
    >>> bunch.target_names
    array(['1', '2', '3', '4', '5', '6', '7', '8', '9'], dtype='<U1')
    >>> X, y = load_japanese_vowels(return_X_y=True)
    >>> y[:3]
    array([0, 0, 0])
    """
    return _load_stream_dataset(
        "japanese_vowels", return_X_y=return_X_y, as_frame=as_frame
    )


@validate_params(
    {"return_X_y": ["boolean"], "as_frame": ["boolean"]},
    prefer_skip_nested_validation=True,
)
@_fill_loader_doc(n_rows=8000, n_features=6, n_classes=4, n_streams=80)
def load_basic_motions(*, return_X_y=False, as_frame=False):
    """Load the BasicMotions activity data set (stream classification).

    Smart-watch recordings (3-axis accelerometer and 3-axis gyroscope at
    10 Hz, 10 seconds each) of four activities. Identify the activity.

    =================   ===========================
    Classes                                       4
    Series (streams)         80 (40 TRAIN, 40 TEST)
    Series length                               100
    Rows total                                 8000
    Dimensionality                                6
    Features                          real, float32
    =================   ===========================

    The data ship with the package (UEA multivariate archive, in the version
    of aeon 1.6.0); loading needs no network. See ``DESCR`` for provenance,
    licence and citation.

    {loader_doc}
    See Also
    --------
    load_japanese_vowels : The other shipped real data set.
    train_test_split_streams : Split rows into train and test by whole series.

    References
    ----------
    .. [1] A. Bagnall, H. A. Dau, J. Lines, M. Flynn, J. Large, A. Bostrom,
       P. Southam and E. Keogh (2018). "The UEA multivariate time series
       classification archive, 2018". arXiv:1811.00075.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_samlp.datasets import load_basic_motions
    >>> bunch = load_basic_motions()
    >>> bunch.data.shape
    (8000, 6)
    >>> bunch.feature_names
    ['acc_x', 'acc_y', 'acc_z', 'gyr_x', 'gyr_y', 'gyr_z']
    >>> len(np.unique(bunch.stream_ids))
    80
    >>> bunch.target_names[bunch.target[:1]]
    array(['standing'], dtype='<U9')
    """
    return _load_stream_dataset(
        "basic_motions", return_X_y=return_X_y, as_frame=as_frame
    )


@validate_params(
    {
        "X": ["array-like"],
        "y": ["array-like"],
        "stream_ids": ["array-like"],
        "test_size": [
            Interval(RealNotInt, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def train_test_split_streams(X, y, stream_ids, *, test_size=0.3, random_state=None):
    """Split rows into train and test sets, keeping each series whole.

    A thin wrapper over :class:`~sklearn.model_selection.GroupShuffleSplit`
    with the series ids as groups: a random subset of the *series* goes to
    the test set, so no series is split between the two sets. Within each
    set, rows keep their input order, so the rows of a series stay
    contiguous and in time order.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features)
        The rows (time steps) of all series.

    y : array-like of shape (n_rows,)
        The label of each row.

    stream_ids : array-like of shape (n_rows,)
        The series each row belongs to.

    test_size : float or int, default=0.3
        If float, the proportion of *series* (not rows) in the test set; if
        int, the number of test series.

    random_state : int, RandomState instance or None, default=None
        Controls which series go to the test set. Pass an int for
        reproducible output across calls.

    Returns
    -------
    X_train, X_test, y_train, y_test, stream_ids_train, stream_ids_test : list
        The train and test parts of ``X``, ``y`` and ``stream_ids``, of the
        same types as the inputs.

    See Also
    --------
    sklearn.model_selection.GroupShuffleSplit : The splitter used here.
    sklearn.model_selection.train_test_split : The row-wise equivalent.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_samlp.datasets import (
    ...     load_basic_motions, train_test_split_streams)
    >>> bunch = load_basic_motions()
    >>> X_train, X_test, y_train, y_test, ids_train, ids_test = (
    ...     train_test_split_streams(bunch.data, bunch.target, bunch.stream_ids,
    ...                              test_size=0.25, random_state=0))
    >>> X_train.shape, X_test.shape
    ((6000, 6), (2000, 6))
    >>> len(np.unique(ids_test)), np.intersect1d(ids_train, ids_test).size
    (20, 0)
    """
    X, y, stream_ids = indexable(X, y, stream_ids)
    splitter = GroupShuffleSplit(
        n_splits=1, test_size=test_size, random_state=random_state
    )
    train, test = next(splitter.split(X, y, groups=stream_ids))
    return [
        part
        for array in (X, y, stream_ids)
        for part in (_safe_indexing(array, train), _safe_indexing(array, test))
    ]


@validate_params(
    {"return_X_y": ["boolean"], "as_frame": ["boolean"]},
    prefer_skip_nested_validation=True,
)
@_fill_loader_doc(n_rows=30000, n_features=1, n_classes=2, n_streams=200)
def load_gunpoint(*, return_X_y=False, as_frame=False):
    """Load the GunPoint data set (series classification by shape).

    The x-position of an actor's hand while drawing a gun or pointing a
    finger, 150 video frames per series. Both classes reach the same height;
    only the shape of the curve tells them apart.

    =================   ===========================
    Classes                                       2
    Series (streams)      200 (50 TRAIN, 150 TEST)
    Series length                               150
    Rows total                                30000
    Dimensionality                                1
    Features                          real, float32
    =================   ===========================

    The data ship with the package (UCR archive, in the version of aeon
    1.6.0); loading needs no network. See ``DESCR`` for provenance and
    citation.

    {loader_doc}
    See Also
    --------
    load_italy_power_demand : The other shipped shape problem.
    sklearn_samlp.rows_to_series : These rows as aeon-style series.

    References
    ----------
    .. [1] H. A. Dau et al. (2019). "The UCR time series archive". IEEE/CAA
       Journal of Automatica Sinica 6(6). arXiv:1810.07758.

    Examples
    --------
    >>> from sklearn_samlp.datasets import load_gunpoint
    >>> bunch = load_gunpoint()
    >>> bunch.data.shape, bunch.target_names.tolist()
    ((30000, 1), ['1', '2'])
    """
    return _load_stream_dataset("gunpoint", return_X_y=return_X_y, as_frame=as_frame)


@validate_params(
    {"return_X_y": ["boolean"], "as_frame": ["boolean"]},
    prefer_skip_nested_validation=True,
)
@_fill_loader_doc(n_rows=26304, n_features=1, n_classes=2, n_streams=1096)
def load_italy_power_demand(*, return_X_y=False, as_frame=False):
    """Load the ItalyPowerDemand data set (series classification by shape).

    One day of hourly electricity demand in Italy per series, z-normalised;
    tell the days of October to March from those of April to September.

    =================   ===========================
    Classes                                       2
    Series (streams)    1096 (67 TRAIN, 1029 TEST)
    Series length                                24
    Rows total                                26304
    Dimensionality                                1
    Features                          real, float32
    =================   ===========================

    The data ship with the package (UCR archive, in the version of aeon
    1.6.0); loading needs no network. See ``DESCR`` for provenance and
    citation.

    {loader_doc}
    See Also
    --------
    load_gunpoint : The other shipped shape problem.
    sklearn_samlp.rows_to_series : These rows as aeon-style series.

    References
    ----------
    .. [1] H. A. Dau et al. (2019). "The UCR time series archive". IEEE/CAA
       Journal of Automatica Sinica 6(6). arXiv:1810.07758.

    Examples
    --------
    >>> from sklearn_samlp.datasets import load_italy_power_demand
    >>> bunch = load_italy_power_demand()
    >>> bunch.data.shape, int((bunch.split == 0).sum())
    ((26304, 1), 1608)
    """
    return _load_stream_dataset(
        "italy_power_demand", return_X_y=return_X_y, as_frame=as_frame
    )
