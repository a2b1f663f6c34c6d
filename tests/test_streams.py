"""StreamStates: the short path equals the scan, storage, ids, thread-safe commits."""

import pickle

import numpy as np
import pytest

from sklearn_samlp import _streams as _streams_module
from sklearn_samlp._streams import SHORT_CALL, StreamStates

DECAYS = {
    "one": 0.9,
    "bank": (0.0, 0.5, 0.99),
    "per_feature": np.array([[0.2, 0.9, 0.999], [0.0, 0.5, 0.7]]),
}


def _streams(decays, time_unit=1.0):
    return StreamStates(decays, 3, time_unit)


def _run(streams, calls, short, monkeypatch):
    """Feed ``calls`` one after another; the features of every call."""
    # SHORT_CALL = 0 sends every call through the scan.
    monkeypatch.setattr(_streams_module, "SHORT_CALL", SHORT_CALL if short else 0)
    out = []
    for X, ids, times in calls:
        features, update = streams.features(X, ids, times)
        streams.commit(update)
        out.append(features.numpy())
    return out


def _calls(rng, timestamps, ids_kind):
    pool = {"int": np.array([3, 7, 11]), "str": np.array(["a", "b", "c"])}[ids_kind]
    clock = dict.fromkeys(pool.tolist(), 0.0)
    calls = []
    for n in (1, 1, 3, 2, 1, 5, 1, SHORT_CALL):
        X = rng.normal(size=(n, 3)).astype(np.float32)
        ids = rng.choice(pool, size=n)
        times = None
        if timestamps:
            times = np.empty(n)
            for i, sid in enumerate(ids.tolist()):
                clock[sid] += rng.exponential(2.0) + 1e-3
                times[i] = clock[sid]
        calls.append((X, ids, times))
    return calls


@pytest.mark.parametrize("kind", sorted(DECAYS))
@pytest.mark.parametrize("timestamps", [False, True])
@pytest.mark.parametrize("ids_kind", ["int", "str"])
def test_short_path_equals_the_scan(kind, timestamps, ids_kind, monkeypatch):
    calls = _calls(np.random.default_rng(0), timestamps, ids_kind)
    short, scan = _streams(DECAYS[kind], 2.0), _streams(DECAYS[kind], 2.0)
    got = _run(short, calls, True, monkeypatch)
    for got, expected in zip(got, _run(scan, calls, False, monkeypatch)):
        np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-6)
    ids_short, *arrays_short = short.to_arrays()
    ids_scan, *arrays_scan = scan.to_arrays()
    assert sorted(ids_short) == sorted(ids_scan)
    order = [ids_scan.index(sid) for sid in ids_short]
    for a, b in zip(arrays_short, arrays_scan):
        np.testing.assert_allclose(a, b[order], rtol=2e-6, atol=1e-6)


def test_short_path_continues_the_default_stream_without_timestamps():
    X = np.random.default_rng(1).normal(size=(40, 3)).astype(np.float32)
    streams, whole = _streams((0.5, 0.9)), _streams((0.5, 0.9))
    parts = []
    for row in X:
        features, update = streams.features(row[None])
        streams.commit(update)
        parts.append(features.numpy())
    expected, _ = whole.features(X)
    np.testing.assert_allclose(np.vstack(parts), expected.numpy(), rtol=1e-5, atol=1e-6)
    assert np.isnan(streams.last_time).all()  # never timestamped


def test_short_path_rejects_times_that_do_not_increase():
    streams = _streams(0.9)
    X = np.ones((2, 3), np.float32)
    streams.commit(streams.advance(X[:1], ["a"], [5.0]))
    before = streams.to_arrays()
    for times, ids in (([5.0], ["a"]), ([6.0, 6.0], ["b", "b"])):
        with pytest.raises(ValueError, match="timestamps must increase"):
            streams.advance(X[: len(times)], ids, times)
    for a, b in zip(before[1:], streams.to_arrays()[1:]):
        np.testing.assert_array_equal(a, b)


def test_storage_grows_by_doubling_and_costs_its_state():
    streams = _streams((0.5, 0.9))
    X = np.ones((1, 3), np.float32)
    capacities = set()
    for sid in range(1000):
        streams.commit(streams.advance(X, [sid]))
        capacities.add(len(streams._buffers[1]))
    assert len(streams) == 1000 and streams.states.shape == (1000, 6)
    assert max(capacities) < 2 * 1000 and len(capacities) <= 8  # 16, 32, ..., 1024
    many = np.arange(10**5)
    streams.commit(streams.advance(np.ones((len(many), 3), np.float32), many + 10**6))
    assert streams.states.shape == (101000, 6)
    # One row per stream: blocks of one row, not padded ones.
    assert streams.states.nbytes == 101000 * 6 * 4


def test_reset_and_pickle_keep_rows_in_use_only():
    streams = _streams(0.9)
    streams.commit(streams.advance(np.ones((20, 3), np.float32), np.arange(20) % 5))
    streams.reset([0, 4])
    assert sorted(streams.index) == [1, 2, 3] and streams.states.shape == (3, 3)
    copy = pickle.loads(pickle.dumps(streams))
    assert copy.index == streams.index
    for a, b in zip(copy.to_arrays(), streams.to_arrays()):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    copy.commit(copy.advance(np.ones((1, 3), np.float32), [9]))  # its own lock works
    assert 9 in copy.index and 9 not in streams.index


@pytest.mark.parametrize("n_drop", [1, 3, 40])  # swapped into place; rebuilt
def test_resetting_some_streams_keeps_every_other_stream_exact(n_drop):
    rng = np.random.default_rng(n_drop)
    streams = _streams(0.9)
    ids = rng.integers(0, 100, size=600)
    X = rng.normal(size=(600, 3)).astype(np.float32)
    streams.commit(streams.advance(X, ids))

    def by_id(s):
        sids, states, elapsed, _ = s.to_arrays()
        return {sid: (states[k], elapsed[k]) for k, sid in enumerate(sids)}

    before = by_id(streams)
    dropped = rng.choice(sorted(before), size=n_drop, replace=False).tolist()
    streams.reset(dropped + [12345])  # an unknown id is ignored
    after = by_id(streams)
    assert sorted(after) == sorted(set(before) - set(dropped))
    for sid, (state, elapsed) in after.items():
        np.testing.assert_array_equal(state, before[sid][0])
        assert elapsed == before[sid][1]
    assert len(streams) == len(after) == streams.states.shape[0]
    # They go on as if the dropped ones had never been, and come back new.
    reference = _streams(0.9)
    kept = ~np.isin(ids, dropped)
    reference.commit(reference.advance(X[kept], ids[kept]))
    more = rng.normal(size=(50, 3)).astype(np.float32)
    more_ids = rng.integers(0, 100, size=50)
    streams.commit(streams.advance(more, more_ids))
    reference.commit(reference.advance(more, more_ids))
    expected = by_id(reference)
    assert sorted(by_id(streams)) == sorted(expected)
    for sid, (state, _) in by_id(streams).items():
        np.testing.assert_allclose(state, expected[sid][0], rtol=1e-6)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.update(ids=[1, 1, 2]), "not unique"),
        (lambda a: a.update(ids=[1, float("nan"), 2]), "NaN"),
        (lambda a: a["states"].__setitem__((0, 0), np.nan), "NaN or infinity"),
        (lambda a: a["elapsed"].__setitem__(1, -2.0), "positive"),
        (lambda a: a["last_time"].__setitem__(1, np.inf), "finite or NaN"),
        (lambda a: a.update(elapsed=a["elapsed"][:2]), "shape"),
    ],
)
def test_from_arrays_refuses_inconsistent_arrays(change, message):
    streams = _streams(0.9)
    streams.commit(streams.advance(np.ones((6, 3), np.float32), [1, 2, 3] * 2))
    ids, states, elapsed, last_time = streams.to_arrays()
    arrays = dict(ids=ids, states=states, elapsed=elapsed, last_time=last_time)
    restored = StreamStates.from_arrays(0.9, 3, 1.0, **arrays)
    assert restored.index == streams.index
    change(arrays)
    with pytest.raises(ValueError, match=message):
        StreamStates.from_arrays(0.9, 3, 1.0, **arrays)


@pytest.mark.parametrize("kind", sorted(DECAYS))
@pytest.mark.parametrize("timestamps", [False, True])
def test_a_row_for_each_of_many_streams_equals_the_grouped_scan(kind, timestamps):
    """The one-step path of many live streams, against scan_codes itself."""
    from sklearn_samlp._accumulate import scan_codes

    rng = np.random.default_rng(0)
    streams = _streams(DECAYS[kind], 0.5)
    first = rng.permutation(300)
    streams.commit(streams.advance(np.ones((300, 3), np.float32), first, first + 1.0))
    ids = rng.permutation(500)  # 300 known, 200 new, shuffled
    X = rng.normal(size=(500, 3)).astype(np.float32)
    times = ids + 3.0 if timestamps else None
    rows = streams.rows(ids, times, 500)
    states, update = streams._scan(X, ids, times, "cpu")[2:]
    expected, final = scan_codes(
        X, streams._bank_array(), rows.codes, rows.initial_states, steps=rows.steps
    )
    np.testing.assert_allclose(states.numpy(), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(update.states, final, rtol=1e-6, atol=1e-7)
    streams.commit(update)
    assert len(streams) == 500
    for sid in (ids[0], ids[-1]):
        row = rows.stream_ids.index(sid)
        np.testing.assert_array_equal(streams.states[streams.index[sid]], final[row])


def test_a_stale_hint_is_not_used():
    streams = _streams(0.9)
    update = streams.advance(np.ones((2, 3), np.float32), ["a", "b"])
    streams.commit(streams.advance(np.ones((2, 3), np.float32), ["b", "c"]))
    streams.commit(update)  # read before "b" existed: must not add it twice
    assert sorted(streams.index) == ["a", "b", "c"]
    assert sorted(streams.index.values()) == [0, 1, 2]
