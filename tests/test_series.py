"""SignalAccumulativeSeriesClassifier and the series <-> rows converters."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_samlp import (
    SignalAccumulativeSeriesClassifier,
    rows_to_series,
    series_to_rows,
)

CHEAP = dict(n_combinations=336, n_groups=4, random_state=0)
MLP = dict(head="mlp", max_epochs=8, hidden_layer_sizes=(32,), random_state=0)


def waves(n_series=60, length=40, n_channels=1, seed=0):
    """Two classes of the same level and spread: one or two periods of a sine."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_series) % 2
    t = np.linspace(0, 1, length)
    phase = rng.uniform(0, 2 * np.pi, size=(n_series, 1, 1))
    X = np.sin(2 * np.pi * (1 + y[:, None, None]) * t + phase)
    X = X + 0.2 * rng.normal(size=(n_series, n_channels, length))
    return X.astype(np.float32), y


def test_learns_the_shape_that_the_level_does_not_show():
    X, y = waves()
    Xt, yt = waves(seed=1)
    shape = SignalAccumulativeSeriesClassifier(**CHEAP).fit(X, y)
    mlp = SignalAccumulativeSeriesClassifier(**MLP).fit(X, y)
    level = SignalAccumulativeSeriesClassifier(accumulator="input", **MLP).fit(X, y)
    assert shape.score(Xt, yt) >= 0.95 and mlp.score(Xt, yt) >= 0.95
    assert mlp.score(Xt, yt) > level.score(Xt, yt) + 0.1


def test_3d_list_and_2d_inputs_agree():
    X, y = waves()
    clf = SignalAccumulativeSeriesClassifier(**CHEAP).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(clf.predict_proba(list(X)), proba, atol=1e-6)
    flat = SignalAccumulativeSeriesClassifier(**CHEAP).fit(X[:, 0], y)
    np.testing.assert_allclose(flat.predict_proba(X[:, 0]), proba, atol=1e-6)
    assert flat.n_features_in_ == X.shape[2] and not hasattr(clf, "n_features_in_")


@pytest.mark.parametrize("params", [CHEAP, MLP], ids=["ridge", "mlp"])
def test_each_series_is_predicted_on_its_own_from_a_fresh_state(params):
    X, y = waves(n_channels=2)
    clf = SignalAccumulativeSeriesClassifier(**params).fit(X, y)
    together = clf.predict_proba(X)
    reversed_ = clf.predict_proba(X[::-1])
    np.testing.assert_allclose(reversed_[::-1], together, atol=1e-6)
    for k in (0, 7):
        np.testing.assert_allclose(
            clf.predict_proba(X[k : k + 1]), together[k : k + 1], atol=1e-6
        )
    if hasattr(clf, "estimator_"):
        assert len(clf.estimator_.accumulators_) == 0  # predict kept no stream


def test_series_of_unequal_length():
    X, y = waves(length=50)
    series = [s[:, : 20 + k % 30] for k, s in enumerate(X)]
    clf = SignalAccumulativeSeriesClassifier(**CHEAP).fit(series, y)
    assert clf.predict(series).shape == (len(series),)
    assert clf.score(series, y) > 0.8


def test_works_in_grid_search_with_kfold_and_in_a_pipeline():
    X, y = waves()
    flat = X[:, 0]
    search = GridSearchCV(
        SignalAccumulativeSeriesClassifier(**CHEAP),
        {"head": ["ridge", "logistic"]},
        cv=KFold(3, shuffle=True, random_state=0),
    ).fit(flat, y)
    assert search.best_score_ > 0.8
    pipe = make_pipeline(
        FunctionTransformer(np.negative), SignalAccumulativeSeriesClassifier(**CHEAP)
    )
    assert pipe.fit(flat, y).score(flat, y) > 0.8


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros((4, 3, 5, 2)), "3-D array"),
        ([np.zeros((2, 5)), np.zeros((3, 5))], "same number of channels"),
        ([np.zeros((1, 5)), np.zeros((1, 0))], "at least one channel and one row"),
        (np.zeros((3, 1, 0)), "at least one channel and one row"),
    ],
)
def test_bad_series_are_refused(X, match):
    with pytest.raises(ValueError, match=match):
        SignalAccumulativeSeriesClassifier(**CHEAP).fit(X, np.arange(len(X)) % 2)


def test_failed_fit_leaves_the_fitted_model_as_it_was():
    X, y = waves()
    clf = SignalAccumulativeSeriesClassifier(**CHEAP).fit(X, y)
    proba = clf.predict_proba(X)
    with pytest.raises(ValueError, match="labels"):
        clf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="channels"):
        clf.predict(np.concatenate([X, X], axis=1))
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


def test_converters_round_trip():
    X, y = waves(n_series=5, n_channels=3, length=7)
    rows, ids, y_rows = series_to_rows(X, y)
    assert rows.shape == (35, 3) and y_rows.tolist() == np.repeat(y, 7).tolist()
    series, labels = rows_to_series(rows, ids, y_rows)
    np.testing.assert_array_equal(np.stack(series), X)
    np.testing.assert_array_equal(labels, y)
    with pytest.raises(ValueError, match="one label per series"):
        rows_to_series(rows, ids, np.arange(35))


def test_last_row_probabilities_equal_the_row_model_on_every_row():
    X, y = waves(n_channels=2)
    clf = SignalAccumulativeSeriesClassifier(**MLP).fit(X, y)
    rows, ids = series_to_rows(X)
    scaled = (rows - clf.channel_mean_) / clf.channel_scale_
    every_row = clf.estimator_.predict_proba(scaled, stream_ids=ids)
    last_rows = np.cumsum([s.shape[1] for s in X]) - 1
    np.testing.assert_allclose(clf.predict_proba(X), every_row[last_rows], atol=1e-6)


def test_probabilities_are_the_head_of_the_scaled_features_at_the_last_row():
    X, y = waves(n_channels=2)
    series = [s[:, : 25 + k % 15] for k, s in enumerate(X)]
    clf = SignalAccumulativeSeriesClassifier(**CHEAP).fit(series, y)
    one = series[3]
    standardised = (one - clf.channel_mean_[:, None]) / clf.channel_scale_[:, None]
    features = clf.rocket_.transform(standardised[None])
    expected = clf.head_.predict_proba(clf.scaler_.transform(features))
    np.testing.assert_allclose(clf.predict_proba([one]), expected, rtol=1e-6)
    # The same series carried as a stream in two chunks reads the same.
    state = clf.rocket_.initial_state(1, 2)
    state = clf.rocket_.update(state, standardised[None, :, :10])
    state = clf.rocket_.update(state, standardised[None, :, 10:])
    np.testing.assert_allclose(clf.rocket_.read(state), features, rtol=1e-6)


def test_heads_and_multiclass():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 30)
    y = np.arange(45) % 3
    X = np.sin(2 * np.pi * (1 + y[:, None]) * t) + 0.2 * rng.normal(size=(45, 30))
    for head in ("auto", "ridge", "logistic"):
        clf = SignalAccumulativeSeriesClassifier(head=head, **CHEAP).fit(X, y)
        proba = clf.predict_proba(X)
        assert proba.shape == (45, 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
        assert clf.score(X, y) > 0.9
    assert type(clf.head_).__name__ == "LogisticHead"


@pytest.mark.parametrize("length", [1, 2, 8])
def test_series_shorter_than_a_kernel_read_their_zero_past(length):
    X, y = waves(length=length)
    clf = SignalAccumulativeSeriesClassifier(**CHEAP).fit(X, y)
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all() and proba.shape == (len(X), 2)


def test_constant_series_are_classified_by_their_level():
    y = np.arange(20) % 2
    X = np.repeat(y[:, None].astype(float), 12, axis=1)
    X[y == 0] = 0.0  # flat series, at two levels
    clf = SignalAccumulativeSeriesClassifier(**CHEAP).fit(X, y)
    assert clf.score(X, y) == 1.0
    flat = SignalAccumulativeSeriesClassifier(**CHEAP).fit(np.ones((6, 12)), y[:6])
    assert np.isfinite(flat.predict_proba(np.ones((2, 12)))).all()


def test_one_series_per_class():
    X, y = waves(n_series=2)
    clf = SignalAccumulativeSeriesClassifier(**CHEAP).fit(X, y)
    assert clf.predict(X).tolist() == y.tolist()


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(head="mlp", hidden_layer_sizes=(-1,)), "hidden_layer_sizes"),
        (dict(head="mlp", hidden_layer_sizes=(0,)), "hidden_layer_sizes"),
        (dict(device="cuda:99"), "device"),
        (dict(head="tree"), "head"),
        (dict(n_groups=-1), "n_groups"),
    ],
)
def test_bad_parameters_are_refused_before_any_work(params, match):
    X, y = waves()
    clf = SignalAccumulativeSeriesClassifier(**{**CHEAP, **params})
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "classes_")


@pytest.mark.parametrize(
    "cell, match", [(np.nan, "NaN"), (np.inf, "infinity"), (3e38, "too large")]
)
def test_bad_values_are_refused_and_the_model_kept(cell, match):
    X, y = waves()
    clf = SignalAccumulativeSeriesClassifier(**CHEAP).fit(X, y)
    proba = clf.predict_proba(X)
    bad = X.copy()
    bad[3, 0, 5] = cell
    if np.isfinite(cell):  # a legal float32: fit standardises by it
        SignalAccumulativeSeriesClassifier(**CHEAP).fit(bad, y)
    else:
        with pytest.raises(ValueError, match=match):
            clf.fit(bad, y)
    with pytest.raises(ValueError, match=match):
        clf.predict(bad)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


def test_one_class_is_refused():
    X, _ = waves()
    with pytest.raises(ValueError, match="2 classes"):
        SignalAccumulativeSeriesClassifier(**CHEAP).fit(X, np.zeros(len(X)))


def test_2d_input_after_a_3d_fit_is_univariate_series_of_any_length():
    X, y = waves()
    clf = SignalAccumulativeSeriesClassifier(**CHEAP).fit(X, y)
    np.testing.assert_allclose(
        clf.predict_proba(X[:, 0, :30]), clf.predict_proba(X[:, :, :30]), rtol=1e-6
    )
    two = SignalAccumulativeSeriesClassifier(**CHEAP).fit(np.repeat(X, 2, axis=1), y)
    with pytest.raises(ValueError, match="channels"):
        two.predict(X[:, 0])
    flat = SignalAccumulativeSeriesClassifier(**CHEAP).fit(X[:, 0], y)
    with pytest.raises(ValueError, match="features"):
        flat.predict(X[:, 0, :30])
    with pytest.raises(ValueError, match="2-D X"):
        flat.predict(X)


def test_predict_proba_at_reads_blocks_of_series_as_the_whole(monkeypatch):
    from sklearn_samlp import _series

    rng = np.random.default_rng(0)
    X = [rng.normal(size=(1, n)) for n in rng.integers(12, 40, size=23)]
    y = np.arange(23) % 2
    clf = SignalAccumulativeSeriesClassifier(
        n_combinations=200, prefix_rows=4, random_state=0
    ).fit(X, y)
    whole = clf.predict_proba_at(X, rows=[5, 10, 30])
    whole_default = clf.predict_proba_at(X)  # the prefix rows, then the last row
    monkeypatch.setattr(_series, "_READ_BYTES", 1)  # one series a block
    np.testing.assert_allclose(
        clf.predict_proba_at(X, rows=[5, 10, 30]), whole, rtol=1e-6
    )
    np.testing.assert_allclose(clf.predict_proba_at(X), whole_default, rtol=1e-6)
