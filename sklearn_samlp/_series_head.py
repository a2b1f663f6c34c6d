"""The closed-form head of the series classifier: scaled features, a linear model.

As MiniRocket and MultiRocket-Hydra do, the pooled features are
standardised (Hydra's counts after a square root) and classified by a ridge
regression on ``±1`` class indicators whose regularisation is chosen by
leave-one-out cross-validation, in closed form; for many series, a logistic
regression. The ridge's leave-one-out decisions are also what its
probabilities are calibrated on: a softmax of the decisions with one
temperature, fitted by log-loss on those held-out decisions, so that a
probability of 0.9 is right about 9 times in 10 on series it was not
fitted on.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.preprocessing import LabelBinarizer

ALPHAS = np.logspace(-3, 3, 10)  # MiniRocket's grid
RIDGE_MAX_SERIES = 10_000  # beyond, logistic regression (as MiniRocket advises)


class FeatureScaler:
    """Standardise MultiRocket's features, and Hydra's counts after a square root.

    Columns that are constant over the training series get scale 1.
    """

    def fit(self, features, hydra_columns):
        self.hydra_columns = np.asarray(hydra_columns)
        X = self._rooted(features)
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 1e-8 * (1 + np.abs(self.mean_)), scale, 1.0)
        return self

    def transform(self, features):
        X = self._rooted(features)
        with np.errstate(over="ignore", invalid="ignore"):  # checked below
            X -= self.mean_
            X /= self.scale_
        if not np.isfinite(X).all():
            raise ValueError(
                "X has values too large for float32: its features overflow "
                "once scaled as the training series' were. Rescale X."
            )
        return X

    def _rooted(self, features):
        X = np.array(features, dtype=np.float32)
        hydra = X[:, self.hydra_columns]
        X[:, self.hydra_columns] = np.sqrt(np.clip(hydra, 0, None))
        return X


def _neg_mse(estimator, predictions, y, sample_weight=None):
    """Scorer of the leave-one-out predictions: RidgeCV's own default criterion."""
    errors = ((predictions - y) ** 2).reshape(len(y), -1).mean(axis=1)
    return -float(np.average(errors, weights=sample_weight))


def _logits(decisions):
    """Per-class logits of ridge decisions: binary ones are ``[-d, d]``."""
    decisions = np.asarray(decisions, dtype=np.float64)
    if decisions.ndim == 1:
        decisions = decisions[:, None]
    if decisions.shape[1] == 1:
        return np.hstack([-decisions, decisions])
    return decisions


def _temperature(logits, codes, sample_weight):
    """The factor of the logits that minimises the weighted log-loss."""

    def loss(log_t):
        log_p = log_softmax(np.exp(log_t) * logits, axis=1)
        return -np.average(log_p[np.arange(len(codes)), codes], weights=sample_weight)

    result = minimize_scalar(loss, bounds=(-8.0, 8.0), method="bounded")
    return float(np.exp(result.x))


def loo_ridge(X, Y, sample_weight, alphas):
    """``RidgeCV(alphas, scoring=_neg_mse, store_cv_results=True).fit`` for n <= p.

    scikit-learn's leave-one-out ridge in its "gram" mode, the same numbers
    (float64, weights as ``sqrt(w)`` row scaling, the intercept left out of
    the penalty), but the primal coefficients are computed for the chosen
    alpha only: scikit-learn computes them for every alpha, ten products
    of the feature matrix where one is needed, which dominated the fit of
    the prefix heads. Returns ``(alpha, coef, intercept, held_out)``:
    coefficients of shape (n_targets, n_features), and the leave-one-out
    predictions of shape (n_samples, n_targets) at the chosen alpha.
    """
    n = len(X)
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    if np.all(sw == 1.0):  # unit weights are no weights: the fast branch
        sample_weight = None
    sqrt_sw = np.sqrt(sw)
    if sample_weight is None:  # the common case: no weighting passes over X
        x_offset, y_offset = X.mean(axis=0, dtype=np.float64), Y.mean(axis=0)
        X = np.subtract(X, x_offset, dtype=np.float64)  # centred in one pass
        Yc = Y - y_offset
    else:
        X = np.asarray(X, dtype=np.float64)
        x_offset = np.average(X, axis=0, weights=sw)
        y_offset = np.average(Y, axis=0, weights=sw)
        X = (X - x_offset) * sqrt_sw[:, None]
        Yc = (Y - y_offset) * sqrt_sw[:, None]
    eigvals, Q = np.linalg.eigh(X @ X.T)
    QT_y, QT_sw, sw_sum = Q.T @ Yc, Q.T @ sqrt_sw, sqrt_sw @ sqrt_sw
    best = None
    for alpha in alphas:
        D = 1.0 / (eigvals + alpha)
        c = Q @ (D[:, None] * QT_y)
        d = (Q**2) @ D - (Q @ (D * QT_sw)) * sqrt_sw / sw_sum
        held_out = (Yc - c / d[:, None]) / sqrt_sw[:, None] + y_offset
        errors = ((held_out - Y) ** 2).mean(axis=1)  # RidgeCV's criterion, _neg_mse
        score = -float(
            errors.mean() if sample_weight is None else errors @ sw / sw.sum()
        )
        if best is None or score > best[0]:  # the first best, as scikit-learn
            best = (score, float(alpha), c, held_out)
    _, alpha, c, held_out = best
    coef = c.T @ X  # not X.T @ c: numpy runs that layout many times slower
    return alpha, coef, y_offset - coef @ x_offset, held_out


class RidgeHead:
    """Ridge on ``±1`` indicators, leave-one-out alpha, calibrated softmax."""

    def fit(self, X, codes, n_classes, sample_weight, keep_held_out=False):
        binarizer = LabelBinarizer(neg_label=-1, pos_label=1).fit(np.arange(n_classes))
        Y = binarizer.transform(codes).astype(np.float64)
        if X.shape[0] <= X.shape[1]:  # the usual case: more features than series
            alpha, coef, intercept, held_out = loo_ridge(X, Y, sample_weight, ALPHAS)
        else:
            ridge = RidgeCV(alphas=ALPHAS, scoring=_neg_mse, store_cv_results=True)
            ridge.fit(X, Y, sample_weight=sample_weight)
            best = int(np.flatnonzero(ALPHAS == ridge.alpha_)[0])
            held_out = ridge.cv_results_[..., best].reshape(len(X), -1)
            alpha, coef, intercept = ridge.alpha_, ridge.coef_, ridge.intercept_
        self.temperature_ = _temperature(_logits(held_out), codes, sample_weight)
        if keep_held_out:  # leave-one-out: free with the fit
            self.held_out_proba_ = softmax(
                self.temperature_ * _logits(held_out), axis=1
            )
        self.coef_ = np.atleast_2d(coef).astype(np.float32)
        self.intercept_ = np.atleast_1d(intercept).astype(np.float32)
        self.alpha_ = float(alpha)
        return self

    def decision_function(self, X):
        return _logits(X @ self.coef_.T + self.intercept_)

    def predict_proba(self, X):
        return softmax(self.temperature_ * self.decision_function(X), axis=1)


class LogisticHead:
    """Multinomial logistic regression: probabilities by its own likelihood."""

    def fit(self, X, codes, n_classes, sample_weight, keep_held_out=False):
        model = LogisticRegression(C=1.0, max_iter=300)
        if keep_held_out:  # 5-fold: held-out probabilities of every series
            self.held_out_proba_ = cross_val_predict(
                model,
                X,
                codes,
                cv=StratifiedKFold(_folds(codes)),
                method="predict_proba",
                params={"sample_weight": sample_weight},
            )
        model.fit(X, codes, sample_weight=sample_weight)
        coef, intercept = model.coef_, model.intercept_
        if coef.shape[0] == 1:  # binary: one row for class 1
            coef, intercept = (
                np.vstack([-coef, coef]) / 2,
                np.r_[-intercept, intercept] / 2,
            )
        self.coef_ = coef.astype(np.float32)
        self.intercept_ = intercept.astype(np.float32)
        return self

    def decision_function(self, X):
        return X @ self.coef_.T + self.intercept_

    def predict_proba(self, X):
        return softmax(self.decision_function(X).astype(np.float64), axis=1)


def _folds(codes):
    """5 folds, or as many as the rarest class has series (at least 2)."""
    return int(np.clip(np.bincount(codes).min(), 2, 5))


def make_head(head, n_series):
    """The head named ``head`` ("ridge", "logistic" or "auto")."""
    if head == "auto":
        head = "ridge" if n_series <= RIDGE_MAX_SERIES else "logistic"
    return {"ridge": RidgeHead, "logistic": LogisticHead}[head]()
