"""Answers before a series ends: predict_proba_at, prefix heads, early classifier."""

import pickle

import numpy as np
import pytest
import torch
from _forge import forge

from sklearn_samlp import (
    SignalAccumulativeEarlyClassifier,
    SignalAccumulativeSeriesClassifier,
)

CHEAP = dict(n_combinations=336, n_groups=4, random_state=0)


def late_split(n_series=80, length=40, part=20, seed=0):
    """Two classes alike up to row ``part``, then one of them rises."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_series) % 2
    X = rng.normal(size=(n_series, 1, length)).astype(np.float32)
    X[y == 1, :, part:] += 1.5
    return X, y


def ragged(X, seed=0):
    rng = np.random.default_rng(seed)
    return [x[:, : rng.integers(5, x.shape[1] + 1)] for x in X]


def test_predict_proba_at_is_predict_proba_of_the_cut_series():
    X, y = late_split()
    clf = SignalAccumulativeSeriesClassifier(prefix_rows=4, **CHEAP).fit(X, y)
    series = ragged(X[:12])
    rows = [3, 10, 25, 40]
    proba = clf.predict_proba_at(series, rows=rows)
    assert proba.shape == (4, 12, 2)
    for j, row in enumerate(rows):
        for k, s in enumerate(series):
            if s.shape[1] <= row:  # ended: the last-row head on the whole series
                expected = clf.predict_proba([s])[0]
                np.testing.assert_allclose(proba[j, k], expected, atol=1e-5)
    # Read alone, a series answers the same as read with the others.
    alone = clf.predict_proba_at(series[:1], rows=rows)
    np.testing.assert_allclose(alone[:, 0], proba[:, 0], atol=1e-5)


def test_prefix_heads_are_unsure_before_the_classes_part():
    X, y = late_split()
    Xt, yt = late_split(seed=1)
    clf = SignalAccumulativeSeriesClassifier(prefix_rows=8, **CHEAP).fit(X, y)
    assert list(clf.prefix_rows_) == [5, 10, 15, 20, 25, 30, 35]
    proba = clf.predict_proba_at(Xt, rows=[10, 40])
    early_top, late_top = proba[:, :, :].max(axis=2).mean(axis=1)
    early_accuracy = np.mean(proba[0].argmax(axis=1) == yt)
    # Before row 21 the classes are alike: the answer is a coin flip, and the
    # probabilities say so; at the end it is right and sure.
    assert early_accuracy < 0.75 and early_top < 0.75
    assert np.mean(proba[1].argmax(axis=1) == yt) > 0.95 and late_top > 0.85
    held = clf.held_out_proba_
    assert held.shape == (8, 80, 2)
    np.testing.assert_allclose(held.sum(axis=2), 1.0)


def test_prefix_heads_leave_the_last_row_answer_unchanged():
    X, y = late_split()
    plain = SignalAccumulativeSeriesClassifier(**CHEAP).fit(X, y)
    prefixed = SignalAccumulativeSeriesClassifier(prefix_rows=5, **CHEAP).fit(X, y)
    np.testing.assert_allclose(
        prefixed.predict_proba(X), plain.predict_proba(X), atol=1e-6
    )


def test_early_classifier_answers_once_it_can():
    # The classes part at row 9 of 40: waiting for it pays in harmonic mean
    # (a coin flip at row 5 would score about 0.64).
    X, y = late_split(n_series=120, part=8)
    Xt, yt = late_split(part=8, seed=1)
    clf = SignalAccumulativeEarlyClassifier(
        decision_rows=8, estimator=SignalAccumulativeSeriesClassifier(**CHEAP)
    ).fit(X, y)
    labels, rows = clf.early_predict(Xt)
    assert np.mean(labels == yt) > 0.85  # a coin flip: 0.5
    # Not before the classes part, and well before the end.
    assert rows.min() >= 10 and rows.mean() < 25
    assert set(rows) <= set(clf.decision_rows_) | {40}
    scores = clf.early_score(Xt, yt)
    assert scores["accuracy"] == pytest.approx(np.mean(labels == yt))
    assert scores["earliness"] == pytest.approx(np.mean(rows / 40))
    # The full-series answer is the series model's.
    np.testing.assert_array_equal(clf.predict(Xt), clf.estimator_.predict(Xt))


@pytest.mark.parametrize("cost, first", [(1.0, True), (0.0, False)])
def test_earliness_cost_moves_the_decisions(cost, first):
    X, y = late_split()
    clf = SignalAccumulativeEarlyClassifier(
        decision_rows=8,
        earliness_cost=cost,
        estimator=SignalAccumulativeSeriesClassifier(**CHEAP),
    ).fit(X, y)
    _, rows = clf.early_predict(X)
    if first:  # reading costs everything: answer at the first decision row
        assert np.all(rows == clf.decision_rows_[0])
    else:  # errors cost everything: no earlier than the classes part
        assert rows.min() >= 20
        assert clf.held_out_scores_["accuracy"] > 0.95


def test_early_classifier_on_ragged_series_and_pickles():
    X, y = late_split()
    series = ragged(X)
    clf = SignalAccumulativeEarlyClassifier(
        decision_rows=5, estimator=SignalAccumulativeSeriesClassifier(**CHEAP)
    ).fit(series, y)
    labels, rows = clf.early_predict(series)
    assert np.all(rows <= [s.shape[1] for s in series]) and np.all(rows >= 1)
    loaded = pickle.loads(pickle.dumps(clf))
    again, again_rows = loaded.early_predict(series)
    np.testing.assert_array_equal(again, labels)
    np.testing.assert_array_equal(again_rows, rows)


@pytest.mark.parametrize("rows", [[5, 3], [0, 4], [2.5], [], [[1, 2]]], ids=str)
def test_bad_rows_are_refused(rows):
    X, y = late_split(n_series=20)
    clf = SignalAccumulativeSeriesClassifier(**CHEAP).fit(X, y)
    with pytest.raises(ValueError, match="rows must be"):
        clf.predict_proba_at(X, rows=rows)
    with pytest.raises(ValueError, match="prefix_rows must be"):
        SignalAccumulativeSeriesClassifier(prefix_rows=rows, **CHEAP).fit(X, y)


def test_prefix_rows_with_the_row_model_is_refused_and_changes_nothing():
    X, y = late_split(n_series=20)
    clf = SignalAccumulativeSeriesClassifier(**CHEAP).fit(X, y)
    before = clf.predict_proba(X)
    clf.set_params(head="mlp", prefix_rows=3)
    with pytest.raises(ValueError, match="prefix_rows is for the closed-form"):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), before)


def test_prefix_heads_are_saved_and_checked_on_load(tmp_path):
    X, y = late_split(n_series=20)
    clf = SignalAccumulativeSeriesClassifier(prefix_rows=3, **CHEAP).fit(X, y)
    path = tmp_path / "model.pt"
    clf.save(path)
    loaded = SignalAccumulativeSeriesClassifier.load(path)
    np.testing.assert_array_equal(loaded.prefix_rows_, clf.prefix_rows_)
    np.testing.assert_array_equal(
        loaded.predict_proba_at(X, rows=[5, 20, 40]),
        clf.predict_proba_at(X, rows=[5, 20, 40]),
    )
    content = torch.load(path, weights_only=True)
    for lie, match in [
        (lambda c: c["prefix_heads"].reverse(), "ascending"),
        (lambda c: c["prefix_heads"][0].update(row=True), "ascending"),
        (
            lambda c: c["prefix_heads"][1].update(head_coef=c["head_coef"][:, :5]),
            "coefficients",
        ),
        (lambda c: c.pop("prefix_heads"), "exactly when prefix_rows"),
    ]:
        lying = {**content, "prefix_heads": [dict(e) for e in content["prefix_heads"]]}
        lie(lying)
        forge(lying, tmp_path / "lying.pt")
        with pytest.raises(ValueError, match=match):
            SignalAccumulativeSeriesClassifier.load(tmp_path / "lying.pt")


def test_nan_in_a_series_is_refused_by_early_predict():
    X, y = late_split(n_series=20)
    clf = SignalAccumulativeEarlyClassifier(
        decision_rows=3, estimator=SignalAccumulativeSeriesClassifier(**CHEAP)
    ).fit(X, y)
    X[0, 0, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.early_predict(X)


def test_update_on_live_rows_decides_as_early_predict_does():
    X, y = late_split(n_series=60, part=8)
    Xt, _ = late_split(n_series=10, part=8, seed=1)
    clf = SignalAccumulativeEarlyClassifier(
        decision_rows=8, estimator=SignalAccumulativeSeriesClassifier(**CHEAP)
    ).fit(X, y)
    labels, rows = clf.early_predict(Xt)
    decided = {}
    for start in range(0, 40, 7):  # chunks of 7 rows of every stream, interleaved
        chunk = Xt[:, :, start : start + 7]
        ids = np.repeat(np.arange(10), chunk.shape[2])
        open_ids = [i for i in range(10) if i not in decided]
        keep = np.isin(ids, open_ids)
        rows_in = chunk.transpose(0, 2, 1).reshape(-1, 1)[keep]
        for i, label, row in zip(*clf.update(rows_in, ids[keep])):
            decided[i] = (label, row)
    assert sorted(decided) == list(range(10))
    np.testing.assert_array_equal([decided[i][0] for i in range(10)], labels)
    np.testing.assert_array_equal([decided[i][1] for i in range(10)], rows)


def test_update_refuses_rows_of_a_decided_stream_and_changes_nothing():
    X, y = late_split(n_series=40, part=8)
    clf = SignalAccumulativeEarlyClassifier(
        decision_rows=4,
        earliness_cost=1.0,  # decides at the first decision row (10)
        estimator=SignalAccumulativeSeriesClassifier(**CHEAP),
    ).fit(X, y)
    ids, _, rows = clf.update(X[0, :, :12].T, ["a"] * 12)
    assert ids == ["a"] and list(rows) == [10]
    clf.update(X[1, :, :3].T, ["b"] * 3)
    state = clf._open["b"][0].sums.clone()
    with pytest.raises(ValueError, match="decided already"):
        clf.update(X[2, :, :4].T, ["b", "b", "a", "a"])
    np.testing.assert_array_equal(clf._open["b"][0].sums, state)
    with pytest.raises(ValueError, match="NaN"):
        clf.update(np.full((2, 1), np.nan), ["b", "b"])
    np.testing.assert_array_equal(clf._open["b"][0].sums, state)
    ids, labels, rows = clf.update(np.empty((0, 1)), [])
    assert ids == [] and labels.shape == rows.shape == (0,)
    clf.reset_streams(["a"])
    assert clf.update(X[0, :, :12].T, ["a"] * 12)[0] == ["a"]
