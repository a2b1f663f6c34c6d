# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import hashlib
import os
import socket
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils import Bunch
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_samlp.datasets import (
    _real,
    load_basic_motions,
    load_japanese_vowels,
    train_test_split_streams,
)

# name -> (loader, n_rows, n_features, n_series, target_names, (train, test) series)
DATASETS = {
    "japanese_vowels": (
        load_japanese_vowels,
        9961,
        12,
        640,
        [str(i) for i in range(1, 10)],
        (270, 370),
    ),
    "basic_motions": (
        load_basic_motions,
        8000,
        6,
        80,
        ["badminton", "running", "standing", "walking"],
        (40, 40),
    ),
}
NAMES = sorted(DATASETS)
NPZ_KEYS = ("X", "y", "classes", "feature_names", "series_id", "t", "split")


def _shared_data_dir():
    """The project's shared data folder, or None when this checkout has none."""
    if "SAMLP_SHARED_DATA" in os.environ:
        candidates = [Path(os.environ["SAMLP_SHARED_DATA"])]
    else:
        root = Path(__file__).resolve().parents[1]
        candidates = [root / "shared" / "data", root.parent / "shared" / "data"]
    for path in candidates:
        if all((path / f"{name}.npz").is_file() for name in NAMES):
            return path
    return None


def _packaged(name):
    return resources.files("sklearn_samlp.datasets.data") / f"{name}.npz"


@pytest.fixture(scope="module", params=NAMES)
def dataset(request):
    name = request.param
    return name, DATASETS[name], DATASETS[name][0]()


def test_bunch_shapes_and_dtypes(dataset):
    name, (_, n_rows, n_features, n_series, target_names, _), bunch = dataset
    assert isinstance(bunch, Bunch)
    assert bunch.data.shape == (n_rows, n_features)
    assert bunch.data.dtype == np.float32
    assert bunch.data.flags["C_CONTIGUOUS"]
    assert np.isfinite(bunch.data).all()
    for key in ("target", "stream_ids", "time_index", "split"):
        assert bunch[key].shape == (n_rows,)
        assert np.issubdtype(bunch[key].dtype, np.integer)
    assert bunch.target_names.tolist() == target_names
    assert set(np.unique(bunch.target)) == set(range(len(target_names)))
    assert isinstance(bunch.feature_names, list)
    assert len(bunch.feature_names) == n_features
    assert all(isinstance(f, str) for f in bunch.feature_names)
    assert np.unique(bunch.stream_ids).tolist() == list(range(n_series))
    assert bunch.frame is None
    assert bunch.filename == f"{name}.npz"
    assert (resources.files(bunch.data_module) / bunch.filename).is_file()


def test_one_label_and_one_split_per_series(dataset):
    _, (*_, n_train_test), bunch = dataset
    starts = np.flatnonzero(np.r_[True, np.diff(bunch.stream_ids) != 0])
    for key in ("target", "split"):
        first = bunch[key][starts]
        per_row = np.repeat(first, np.diff(np.r_[starts, len(bunch.stream_ids)]))
        np.testing.assert_array_equal(bunch[key], per_row)
    assert set(np.unique(bunch.split)) == {0, 1}
    assert tuple(np.bincount(bunch.split[starts])) == n_train_test


def test_series_are_contiguous_and_in_time_order(dataset):
    _, _, bunch = dataset
    ids, t = bunch.stream_ids, bunch.time_index
    # Series are contiguous blocks: each id starts exactly once.
    starts = np.flatnonzero(np.r_[True, np.diff(ids) != 0])
    assert len(starts) == len(np.unique(ids))
    # Within a series, time_index counts 0, 1, 2, ... in row order.
    lengths = np.diff(np.r_[starts, len(ids)])
    expected_t = np.concatenate([np.arange(n) for n in lengths])
    np.testing.assert_array_equal(t, expected_t)


def test_series_lengths():
    jv = load_japanese_vowels()
    lengths = np.bincount(jv.stream_ids)
    assert lengths.min() == 7 and lengths.max() == 29
    bm = load_basic_motions()
    assert (np.bincount(bm.stream_ids) == 100).all()


@pytest.mark.parametrize("name", NAMES)
def test_return_X_y(name):
    loader = DATASETS[name][0]
    bunch = loader()
    result = loader(return_X_y=True)
    assert isinstance(result, tuple) and len(result) == 2
    X, y = result
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)
    assert X.dtype == np.float32


@pytest.mark.parametrize("name", NAMES)
def test_as_frame(name):
    pd = pytest.importorskip("pandas")
    loader = DATASETS[name][0]
    bunch = loader()
    framed = loader(as_frame=True)
    assert isinstance(framed.data, pd.DataFrame)
    assert isinstance(framed.target, pd.Series)
    assert list(framed.data.columns) == bunch.feature_names
    np.testing.assert_array_equal(framed.data.to_numpy(), bunch.data)
    np.testing.assert_array_equal(framed.target.to_numpy(), bunch.target)
    assert list(framed.frame.columns) == [
        *bunch.feature_names,
        "stream_id",
        "time_index",
        "split",
        "target",
    ]
    np.testing.assert_array_equal(framed.frame["stream_id"], bunch.stream_ids)
    X, y = loader(return_X_y=True, as_frame=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)


@pytest.mark.parametrize("loader", [load_japanese_vowels, load_basic_motions])
@pytest.mark.parametrize("params", [{"return_X_y": "yes"}, {"as_frame": 1}])
def test_invalid_params(loader, params):
    with pytest.raises(InvalidParameterError):
        loader(**params)


def test_descr_provenance_licence_citation():
    descr = load_japanese_vowels().DESCR
    for text in ("CC BY 4.0", "Kudo", "Toyama", "Shimbo", "1999", "UCI", "aeon 1.6.0"):
        assert text in descr
    descr = load_basic_motions().DESCR
    for text in ("Bagnall", "2018", "arXiv:1811.00075", "UEA", "aeon 1.6.0"):
        assert text in descr
    assert "Licence" in descr


@pytest.mark.parametrize("name", NAMES)
def test_packaged_files_match_shared_originals(name):
    shared = _shared_data_dir()
    if shared is None:
        pytest.skip("the project's shared/data folder is not present in this checkout")
    original = shared / f"{name}.npz"
    packaged = _packaged(name)
    with np.load(original, allow_pickle=False) as a:
        with packaged.open("rb") as f, np.load(f, allow_pickle=False) as b:
            assert set(b.files) >= set(NPZ_KEYS)
            for key in a.files:
                assert a[key].dtype == b[key].dtype, key
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    digest = hashlib.sha256(packaged.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(original.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", NAMES)
def test_packaged_file_has_no_pickled_objects(name):
    with _packaged(name).open("rb") as f, np.load(f, allow_pickle=False) as npz:
        for key in NPZ_KEYS:
            assert npz[key].dtype != object


@pytest.mark.parametrize("name", NAMES)
def test_loader_needs_no_network_and_refuses_pickle(name, monkeypatch):
    calls = []
    real_load = np.load

    def spy_load(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    def no_network(*args, **kwargs):
        raise AssertionError("the loader tried to open a network socket")

    monkeypatch.setattr(np, "load", spy_load)
    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    bunch = DATASETS[name][0]()
    assert bunch.data.shape[0] == DATASETS[name][1]
    assert calls == [False]


def test_loader_sorts_rows_stored_out_of_order(tmp_path, monkeypatch):
    with _packaged("basic_motions").open("rb") as f, np.load(f) as npz:
        arrays = {key: npz[key] for key in npz.files}
    order = np.random.RandomState(0).permutation(len(arrays["y"]))
    shuffled = {
        key: value[order] if value.shape[:1] == order.shape else value
        for key, value in arrays.items()
    }
    np.savez(tmp_path / "basic_motions.npz", **shuffled)
    monkeypatch.setattr(_real.resources, "files", lambda module: tmp_path)
    loaded = _real._load_npz("basic_motions.npz")
    for key, value in arrays.items():
        np.testing.assert_array_equal(loaded[key], value, err_msg=key)


def test_train_test_split_streams_keeps_series_whole():
    bunch = load_japanese_vowels()
    X_tr, X_te, y_tr, y_te, ids_tr, ids_te = train_test_split_streams(
        bunch.data, bunch.target, bunch.stream_ids, test_size=0.25, random_state=0
    )
    assert len(X_tr) + len(X_te) == len(bunch.data)
    assert np.intersect1d(ids_tr, ids_te).size == 0
    assert len(np.unique(ids_te)) == 160  # 25 % of 640 series
    # Each side keeps every row of its series, contiguous and in time order.
    counts = np.bincount(bunch.stream_ids)
    for X_part, y_part, ids in ((X_tr, y_tr, ids_tr), (X_te, y_te, ids_te)):
        kept = np.unique(ids)
        np.testing.assert_array_equal(np.bincount(ids)[kept], counts[kept])
        mask = np.isin(bunch.stream_ids, ids)
        np.testing.assert_array_equal(X_part, bunch.data[mask])
        np.testing.assert_array_equal(y_part, bunch.target[mask])
        np.testing.assert_array_equal(ids, bunch.stream_ids[mask])


def test_train_test_split_streams_random_state():
    bunch = load_basic_motions()
    X, y, ids = bunch.data, bunch.target, bunch.stream_ids
    first = train_test_split_streams(X, y, ids, random_state=3)
    again = train_test_split_streams(X, y, ids, random_state=3)
    other = train_test_split_streams(X, y, ids, random_state=4)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(np.unique(first[5]), np.unique(other[5]))
    # An int test_size counts series.
    *_, ids_te = train_test_split_streams(X, y, ids, test_size=8, random_state=0)
    assert len(np.unique(ids_te)) == 8


def test_train_test_split_streams_pandas():
    pd = pytest.importorskip("pandas")
    bunch = load_basic_motions(as_frame=True)
    X_tr, X_te, y_tr, y_te, ids_tr, ids_te = train_test_split_streams(
        bunch.data, bunch.target, bunch.stream_ids, random_state=0
    )
    assert isinstance(X_tr, pd.DataFrame) and isinstance(y_te, pd.Series)
    assert len(X_tr) == len(ids_tr) and len(X_te) == len(ids_te)


@pytest.mark.parametrize("test_size", [0.0, 1.0, -1, 0])
def test_train_test_split_streams_invalid_test_size(test_size):
    bunch = load_basic_motions()
    with pytest.raises(InvalidParameterError):
        train_test_split_streams(
            bunch.data, bunch.target, bunch.stream_ids, test_size=test_size
        )
