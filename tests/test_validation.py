"""Input and parameter checks: every bad call raises and changes nothing."""

import numpy as np
import pytest

from sklearn_samlp import SignalAccumulativeClassifier
from sklearn_samlp._validation import check_device, check_layer_sizes

ONE_CLASS = "number of classes has to be greater than one"
OVERFLOW = np.full((4, 4), 1e39)  # finite in float64, infinite in float32


# Casting 1e39 to float32 (in scikit-learn's check_array) makes NumPy warn
# before the ValueError that this test asserts.
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@pytest.mark.parametrize(
    "method, args",
    [
        ("partial_fit", (OVERFLOW, np.array([0, 1, 0, 1]))),
        ("predict_proba", (OVERFLOW,)),
        ("predict", (OVERFLOW,)),
        ("update_accumulators", (OVERFLOW,)),
    ],
)
def test_float32_overflow_is_refused_on_the_fast_path(
    fitted_clf, unchanged, method, args
):
    with unchanged(fitted_clf), pytest.raises(ValueError, match="too large"):
        getattr(fitted_clf, method)(*args)


@pytest.mark.parametrize("sizes", [(-3,), (2.5,), (0,), (16, 0), True, "16", [[4]]])
def test_hidden_layer_sizes_must_be_positive_integers(regime_streams, sizes):
    X, y, _ = regime_streams
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        SignalAccumulativeClassifier(hidden_layer_sizes=sizes).fit(X, y)


def test_failed_fit_leaves_a_fresh_estimator_unfitted(regime_streams, unchanged):
    X, y, _ = regime_streams
    clf = SignalAccumulativeClassifier(hidden_layer_sizes=(-3,))
    with unchanged(clf), pytest.raises(ValueError):
        clf.fit(X, y)
    assert not hasattr(clf, "n_features_in_")


def test_failed_fit_leaves_a_fitted_estimator_as_it_was(
    regime_streams, fitted_clf, unchanged
):
    X, y, ids = regime_streams
    expected = fitted_clf.predict_proba(X[:30], stream_ids=ids[:30])
    wider = np.hstack([X, X])
    for params in ({"hidden_layer_sizes": (2.5,)}, {"device": "no-such-device"}):
        fitted_clf.set_params(**params)
        with unchanged(fitted_clf), pytest.raises(ValueError):
            fitted_clf.fit(wider, y)
    fitted_clf.set_params(hidden_layer_sizes=(16,), device="cpu")
    np.testing.assert_array_equal(
        fitted_clf.predict_proba(X[:30], stream_ids=ids[:30]), expected
    )


def test_failure_inside_training_leaves_the_estimator_as_it_was(
    regime_streams, fitted_clf, unchanged
):
    from skorch.callbacks import Callback

    class Boom(Callback):
        def on_epoch_end(self, net, **kwargs):
            raise RuntimeError("boom")

    X, y, ids = regime_streams
    fitted_clf.set_params(callbacks=[Boom()])
    with unchanged(fitted_clf), pytest.raises(RuntimeError, match="boom"):
        fitted_clf.fit(np.hstack([X, X]), y)
    fresh = SignalAccumulativeClassifier(callbacks=[Boom()], max_epochs=1)
    with pytest.raises(RuntimeError, match="boom"):
        fresh.partial_fit(X, y, classes=[0, 1])
    assert not hasattr(fresh, "n_features_in_") and not hasattr(fresh, "classes_")


@pytest.mark.skipif(
    __import__("torch").cuda.is_available(), reason="checks a machine without CUDA"
)
def test_missing_cuda_is_a_value_error_naming_the_device(regime_streams):
    X, y, _ = regime_streams
    with pytest.raises(ValueError, match="device='cuda'.*CUDA is not available"):
        SignalAccumulativeClassifier(device="cuda").fit(X, y)


def test_one_class_gets_scikit_learns_error(regime_streams):
    X, _, _ = regime_streams
    with pytest.raises(ValueError, match=ONE_CLASS):
        SignalAccumulativeClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match=ONE_CLASS):
        SignalAccumulativeClassifier().partial_fit(X, np.zeros(len(X)), classes=[0])


@pytest.mark.parametrize("classes", [[0, 1, 2, np.nan], np.array([0, np.nan], object)])
def test_nan_class_is_refused(regime_streams, classes):
    X, y, _ = regime_streams
    clf = SignalAccumulativeClassifier()
    with pytest.raises(ValueError, match="NaN"):
        clf.partial_fit(X, y, classes=classes)
    assert not hasattr(clf, "classes_")


@pytest.mark.parametrize(
    "ids",
    [
        np.array([np.nan] * 4),
        np.array(["a", np.nan, "b", "a"], dtype=object),
        np.array(["NaT"] * 4, dtype="datetime64[s]"),
    ],
)
@pytest.mark.parametrize("method", ["partial_fit", "predict", "update_accumulators"])
def test_nan_stream_ids_are_refused(regime_streams, fitted_clf, unchanged, ids, method):
    X, y, _ = regime_streams
    args = (X[:4], y[:4]) if method == "partial_fit" else (X[:4],)
    with unchanged(fitted_clf), pytest.raises(ValueError, match="stream_ids.*NaN"):
        getattr(fitted_clf, method)(*args, stream_ids=ids)


def test_reset_accumulators_takes_one_id(regime_streams, fitted_clf):
    fitted_clf.reset_accumulators("s0")
    assert set(fitted_clf.accumulators_) == {"s1", "s2"}
    X, y, _ = regime_streams
    clf = SignalAccumulativeClassifier(max_epochs=1).fit(X, y, stream_ids=y)
    clf.reset_accumulators(0)
    assert set(clf.accumulators_) == {1}


def test_check_helpers():
    assert check_layer_sizes("h", 8) == (8,)
    assert check_layer_sizes("h", np.array([4, 2])) == (4, 2)
    assert check_layer_sizes("h", ()) == ()
    assert str(check_device("device", "cpu")) == "cpu"
    with pytest.raises(ValueError, match="not a torch device"):
        check_device("device", "gpu-please")
