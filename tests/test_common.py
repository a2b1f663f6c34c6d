"""scikit-learn's own estimator checks."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_samlp import (
    SignalAccumulativeClassifier,
    SignalAccumulativeEarlyClassifier,
    SignalAccumulativeSeriesClassifier,
)

# Cheap but well-trained instances: the checks fit on a few hundred rows.
CHEAP = dict(
    max_epochs=30, lr=1e-2, batch_size=64, hidden_layer_sizes=(16,), random_state=0
)

SAMPLE_WEIGHT_XFAIL = {
    "check_sample_weight_equivalence_on_dense_data": (
        "minibatch SGD: weighting a row is not the same as repeating it (the "
        "batches differ); scikit-learn marks SGDClassifier the same way"
    ),
}
ORDER_XFAIL = {
    "check_methods_subset_invariance": (
        "with decay > 0 each row's prediction depends on the rows before it in "
        "its stream, so predicting a subset changes the accumulated features"
    ),
    "check_methods_sample_order_invariance": (
        "with decay > 0 rows are time steps: reordering them changes the "
        "accumulated features and so the predictions"
    ),
}


SERIES_XFAIL = {
    "check_methods_subset_invariance": (
        "each series starts fresh, so a series' prediction does not depend on "
        "the others (tests/test_series.py checks it to 1e-6), but float32 scans "
        "and matrix products over a different batch may round differently: about "
        "1e-7 relative, at the check's rtol of 1e-7. Where the BLAS and thread "
        "count round a subset as the whole batch the check passes (an XPASS: "
        "scikit-learn's expected failures are not strict)"
    ),
}


SERIES_SAMPLE_WEIGHT_XFAIL = {
    "check_sample_weight_equivalence_on_dense_data": (
        "the biases are quantiles of randomly drawn training series: repeating "
        "a series changes which series are drawn, weighting it does not"
    ),
}


def expected_failed_checks(estimator):
    if isinstance(estimator, SignalAccumulativeEarlyClassifier):
        return SERIES_SAMPLE_WEIGHT_XFAIL
    if isinstance(estimator, SignalAccumulativeSeriesClassifier):
        if estimator.head != "mlp":
            return SERIES_SAMPLE_WEIGHT_XFAIL
        return {**SAMPLE_WEIGHT_XFAIL, **SERIES_XFAIL}
    if estimator.decay == 0:
        return SAMPLE_WEIGHT_XFAIL
    return {**SAMPLE_WEIGHT_XFAIL, **ORDER_XFAIL}


@parametrize_with_checks(
    [
        SignalAccumulativeClassifier(decay=0.0, **CHEAP),
        SignalAccumulativeClassifier(decay=0.9, **CHEAP),
        SignalAccumulativeClassifier(decay=(0.5, 0.95), dropout=0.0, **CHEAP),
        SignalAccumulativeClassifier(decay=0.5, learn_decay=True, window=16, **CHEAP),
        SignalAccumulativeClassifier(
            accumulator="convolution", max_dilation=2, **CHEAP
        ),
        # 2-D X is (n_series, n_timepoints): univariate series.
        SignalAccumulativeSeriesClassifier(n_combinations=336, random_state=0),
        SignalAccumulativeSeriesClassifier(head="mlp", **CHEAP),
        SignalAccumulativeSeriesClassifier(
            n_combinations=336, prefix_rows=3, random_state=0
        ),
        SignalAccumulativeEarlyClassifier(
            decision_rows=3,
            estimator=SignalAccumulativeSeriesClassifier(
                n_combinations=336, random_state=0
            ),
        ),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
