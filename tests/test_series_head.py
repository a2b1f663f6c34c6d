"""The closed-form head: the leave-one-out ridge is scikit-learn's RidgeCV."""

import numpy as np
import pytest
from sklearn.linear_model import RidgeCV
from sklearn.preprocessing import LabelBinarizer

from sklearn_samlp._series_head import ALPHAS, _neg_mse, loo_ridge


@pytest.mark.parametrize("n, p, n_classes", [(40, 300, 2), (30, 200, 4), (25, 25, 3)])
@pytest.mark.parametrize("weighted", [False, True])
def test_loo_ridge_is_ridgecv(n, p, n_classes, weighted):
    rng = np.random.default_rng(n + p)
    codes = np.arange(n) % n_classes
    X = rng.normal(size=(n, p)).astype(np.float32)
    X[:, :5] += codes[:, None]  # some signal, so that the alphas differ
    Y = LabelBinarizer(neg_label=-1, pos_label=1).fit(np.arange(n_classes))
    Y = Y.transform(codes).astype(np.float64)
    sw = rng.uniform(0.5, 2.0, n) if weighted else None
    ridge = RidgeCV(alphas=ALPHAS, scoring=_neg_mse, store_cv_results=True)
    ridge.fit(X, Y, sample_weight=sw)
    alpha, coef, intercept, held_out = loo_ridge(X, Y, sw, ALPHAS)
    assert alpha == ridge.alpha_
    np.testing.assert_allclose(coef, np.atleast_2d(ridge.coef_), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(intercept, np.atleast_1d(ridge.intercept_), atol=1e-8)
    best = int(np.flatnonzero(ALPHAS == ridge.alpha_)[0])
    expected = ridge.cv_results_[..., best].reshape(n, -1)
    np.testing.assert_allclose(held_out, expected, rtol=1e-6, atol=1e-8)
