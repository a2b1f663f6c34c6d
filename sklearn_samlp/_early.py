"""SignalAccumulativeEarlyClassifier: a label per series before it ends.

The series model answers, calibrated, at a set of prefix rows (its prefix
heads); an early classifier adds a stopping rule: answer at the first of
those rows where the top probability reaches a threshold and the label has
not changed for a number of rows in a row. The threshold and that number are
chosen on the training series' held-out probabilities (leave-one-out, free
with the ridge's fit), to maximise the harmonic mean of accuracy and
earliness, or to minimise a stated cost of error against rows read.
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from ._series import SignalAccumulativeSeriesClassifier
from ._threads import torch_threads

__all__ = ["SignalAccumulativeEarlyClassifier"]

_CONSISTENCY = (1, 2, 3)  # decisions in a row that must agree
_N_LEVELS = 200  # thresholds tried: quantiles of the held-out top probabilities


def _decide(proba, prefix_rows, lengths, threshold, consistency):
    """Label, decision row and read index of each series under one rule.

    ``proba``: (n_prefixes + 1, n_series, n_classes), the last entry at each
    series' last row; entries at prefix rows a series does not reach are
    ignored. A series that never meets the rule is decided at its last row.
    """
    n_points, n_series = proba.shape[:2]
    reached = np.ones((n_points, n_series), dtype=bool)
    reached[:-1] = prefix_rows[:, None] < lengths[None, :]
    labels = proba.argmax(axis=2)
    sure = (proba.max(axis=2) >= threshold) & reached
    # ``consistency`` reached decisions in a row with the same label.
    agree = np.ones_like(sure)
    for lag in range(1, consistency):
        same = np.zeros_like(sure)
        same[lag:] = (labels[lag:] == labels[:-lag]) & reached[:-lag]
        agree &= same
    stop = sure & agree
    stop[-1] = True  # the last row always answers
    first = stop.argmax(axis=0)
    rows = np.r_[prefix_rows, 0][first]
    rows = np.where(first == n_points - 1, lengths, np.minimum(rows, lengths))
    return labels[first, np.arange(n_series)], rows


def _scores(correct, earliness, weight):
    """Accuracy, earliness and their harmonic mean, as a dict of floats."""
    accuracy = float(np.average(correct, weights=weight))
    earliness = float(np.average(earliness, weights=weight))
    kept = 1.0 - earliness
    hm = 0.0 if accuracy + kept == 0 else 2 * accuracy * kept / (accuracy + kept)
    return {"accuracy": accuracy, "earliness": earliness, "harmonic_mean": hm}


class SignalAccumulativeEarlyClassifier(ClassifierMixin, BaseEstimator):
    """Early classifier of series: a calibrated answer as soon as it is sure enough.

    A :class:`SignalAccumulativeSeriesClassifier` fitted with
    ``prefix_rows=decision_rows`` answers at each of those rows with
    probabilities calibrated on prefixes. :meth:`early_predict` reads each
    series once and answers at the first decision row where the top
    probability reaches ``threshold_`` and the label agrees with the
    previous ``consistency_ - 1`` decision rows' (at the series' last row
    otherwise). Both are learned from the training series' held-out
    probabilities (``estimator_.held_out_proba_``): the pair with the best
    harmonic mean of accuracy and earliness, as aeon's early classifiers are
    judged, or, given ``earliness_cost``, the least expected cost. Fitting
    is the series model's one pass and one ridge fit per decision row.

    :meth:`predict` and :meth:`predict_proba` answer at each series' last
    row, exactly as the series model does: the early machinery does not
    cost the full-series answer.

    Parameters
    ----------
    decision_rows : int or array-like of int, default=20
        An int ``k``: ``k`` decision rows spread evenly up to the longest
        training series; or the rows themselves, ascending (aeon's
        ``classification_points``). Passed to the series model as its
        ``prefix_rows``.
    earliness_cost : float in [0, 1] or None, default=None
        None: choose the rule that maximises the harmonic mean of accuracy
        and (1 - earliness) on the held-out training probabilities. A float
        ``c``: the rule that minimises ``(1 - c) * error + c * earliness``,
        earliness being the fraction of a series read when it is decided;
        0 answers as late as helps accuracy, 1 as early as possible.
    estimator : SignalAccumulativeSeriesClassifier or None, default=None
        The series model, cloned and fitted with ``prefix_rows=decision_rows``;
        None: ``SignalAccumulativeSeriesClassifier(random_state=random_state)``.
    random_state : int, RandomState instance or None, default=None
        Only when ``estimator`` is None.

    Attributes
    ----------
    estimator_ : SignalAccumulativeSeriesClassifier
    classes_ : ndarray of shape (n_classes,)
    decision_rows_ : ndarray of int
        The prefix rows at which a series can be decided (then its last row).
    max_length_ : int
        Rows of the longest training series: where :meth:`update` decides a
        stream that is still open.
    threshold_ : float
        Least top probability that decides.
    consistency_ : int
        Decision rows in a row that must agree on the label.
    n_features_in_ : int
        With 2-D ``X`` only: the series model's.
    feature_names_in_ : ndarray of str
        With 2-D ``X`` with column names only: the series model's.
    held_out_scores_ : dict
        ``accuracy``, ``earliness`` and ``harmonic_mean`` of the chosen rule
        on the held-out training probabilities.

    See Also
    --------
    SignalAccumulativeSeriesClassifier.predict_proba_at : Probabilities at rows.

    Notes
    -----
    Earliness is ``rows read / rows of the series``, averaged over series
    (as in aeon); a series decided at its last row has earliness 1. A series
    shorter than a decision row is decided at its end at the latest.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_samlp import SignalAccumulativeEarlyClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 1, 40))
    >>> y = np.arange(80) % 2
    >>> X[y == 1, :, 5:] += 1.5  # the classes part from row 6 on
    >>> clf = SignalAccumulativeEarlyClassifier(random_state=0).fit(X[:60], y[:60])
    >>> labels, rows = clf.early_predict(X[60:])  # rows: when each was decided
    >>> scores = clf.early_score(X[60:], y[60:])
    >>> bool(scores["accuracy"] > 0.8), bool(scores["earliness"] < 0.5)
    (True, True)
    """

    _parameter_constraints: dict = {
        "decision_rows": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "earliness_cost": [None, Interval(Real, 0, 1, closed="both")],
        "estimator": [None, HasMethods(["fit", "predict_proba_at"])],
        "random_state": ["random_state"],
    }

    def __init__(
        self, decision_rows=20, earliness_cost=None, estimator=None, random_state=None
    ):
        self.decision_rows = decision_rows
        self.earliness_cost = earliness_cost
        self.estimator = estimator
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the series model with its prefix heads, then the stopping rule.

        Parameters
        ----------
        X : ndarray of shape (n_series, n_channels, n_timepoints), list of \
                ndarray of shape (n_channels, n_timepoints_i), or ndarray of \
                shape (n_series, n_timepoints)
        y : array-like of shape (n_series,)
        sample_weight : array-like of shape (n_series,), default=None

        Returns
        -------
        self : object
        """
        if self.estimator is None:
            estimator = SignalAccumulativeSeriesClassifier(
                random_state=self.random_state
            )
        else:
            estimator = clone(self.estimator)
        estimator.set_params(prefix_rows=self.decision_rows)
        estimator.fit(X, y, sample_weight=sample_weight)  # validates X, y
        lengths = np.array([s.shape[1] for s in estimator._series(X, reset=False)])
        codes = np.searchsorted(estimator.classes_, column_or_1d(y))
        weight = (
            np.ones(len(codes)) if sample_weight is None else np.asarray(sample_weight)
        )
        proba = estimator.held_out_proba_
        prefix_rows = estimator.prefix_rows_
        best = None
        levels = np.unique(
            np.r_[np.quantile(proba.max(axis=2), np.linspace(0, 1, _N_LEVELS)), 1.0]
        )
        for consistency in _CONSISTENCY:
            for threshold in levels:
                labels, rows = _decide(
                    proba, prefix_rows, lengths, threshold, consistency
                )
                scores = _scores(labels == codes, rows / lengths, weight)
                objective = (
                    scores["harmonic_mean"]
                    if self.earliness_cost is None
                    else -(1 - self.earliness_cost) * (1 - scores["accuracy"])
                    - self.earliness_cost * scores["earliness"]
                )
                # Ties: the later, surer rule (higher threshold, then consistency).
                if best is None or objective >= best[0]:
                    best = (objective, threshold, consistency, scores)
        _, threshold, self.consistency_, self.held_out_scores_ = best
        self.threshold_ = float(threshold)
        self.estimator_ = estimator
        self.classes_ = estimator.classes_
        for attribute in ("n_features_in_", "feature_names_in_"):  # 2-D fits
            self.__dict__.pop(attribute, None)
            if hasattr(estimator, attribute):
                setattr(self, attribute, getattr(estimator, attribute))
        self.decision_rows_ = prefix_rows
        self.max_length_ = int(lengths.max())
        self.__dict__.pop("_open", None)  # streams of an earlier fit
        self.__dict__.pop("_decided", None)
        return self

    def early_predict(self, X):
        """Label of each series and the row at which it was decided.

        Each series is read once (:meth:`SignalAccumulativeSeriesClassifier.\
predict_proba_at` at ``decision_rows_``); the answer at a row depends only
        on the rows up to it.

        Parameters
        ----------
        X : ndarray of shape (n_series, n_channels, n_timepoints), list of \
                ndarray of shape (n_channels, n_timepoints_i), or ndarray of \
                shape (n_series, n_timepoints)

        Returns
        -------
        y : ndarray of shape (n_series,)
        rows : ndarray of int of shape (n_series,)
            Rows read when each series was decided (at most its length).
        """
        labels, decided, _ = self._early_predict(X)
        return labels, decided

    def _early_predict(self, X):
        """Labels, decision rows and lengths of the series of ``X``, checked once."""
        check_is_fitted(self)
        estimator = self.estimator_
        series = estimator._standardised(estimator._series(X, reset=False))
        lengths = np.array([s.shape[1] for s in series])
        # Then a row beyond every series' end: each one's last row.
        last = max(
            lengths.max(),
            self.decision_rows_[-1] + 1 if len(self.decision_rows_) else 1,
        )
        proba = estimator._proba_at(series, np.r_[self.decision_rows_, last])
        labels, decided = _decide(
            proba, self.decision_rows_, lengths, self.threshold_, self.consistency_
        )
        return self.classes_[labels], decided, lengths

    def update(self, X, stream_ids):
        """Read new rows of open streams; return the streams decided now.

        The live form of :meth:`early_predict`: each stream's features are
        carried from call to call (O(1) work and state per row, whatever it
        has read), and the stopping rule is applied at each decision row it
        crosses. A stream still undecided at the longest training series'
        length (``max_length_``) is decided there by the last-row head. A
        decided stream is closed: its state is dropped, and rows for it are
        refused until :meth:`reset_streams` forgets it. No rows: nothing is
        decided.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_channels)
            New rows, in time order within each stream.
        stream_ids : array-like of shape (n_rows,)
            The stream of each row (any hashable labels).

        Returns
        -------
        ids : list
            The streams decided by these rows, in order of first appearance.
        y : ndarray of shape (len(ids),)
        rows : ndarray of int of shape (len(ids),)
            Rows each had read when it was decided.
        """
        check_is_fitted(self)
        with np.errstate(over="ignore"):  # float32 overflow: named by the check
            X = check_array(X, dtype=np.float32, input_name="X", ensure_min_samples=0)
        stream_ids = column_or_1d(np.asarray(stream_ids, dtype=object))
        if len(stream_ids) != len(X):
            raise ValueError(
                f"X has {len(X)} rows but stream_ids has {len(stream_ids)}."
            )
        estimator = self.estimator_
        if X.shape[1] != estimator.n_channels_:
            raise ValueError(
                f"X has {X.shape[1]} channels, but the model was fitted with "
                f"{estimator.n_channels_}."
            )
        if not len(X):  # no new rows on a live stream: nothing is decided
            return [], self.classes_[:0], np.empty(0, dtype=np.int64)
        ids = list(dict.fromkeys(stream_ids.tolist()))
        closed = self.__dict__.setdefault("_decided", {})
        refused = [i for i in ids if i in closed]
        if refused:
            raise ValueError(
                f"streams {refused[:5]} were decided already; reset_streams "
                "forgets them."
            )
        series = estimator._standardised([X.T])[0]  # (n_channels, n_rows)
        streams = self.__dict__.setdefault("_open", {})
        rocket = estimator.rocket_
        groups = [series[:, stream_ids == i] for i in ids]
        new = np.array([g.shape[1] for g in groups])
        fresh = rocket.initial_state(1, device=estimator.device)
        states = [streams.get(i, (fresh, []))[0] for i in ids]
        state = type(fresh)(
            *(torch.cat(parts) for parts in zip(*(s._tensors() for s in states)))
        )
        seen = state.seen.cpu().numpy().copy()
        points = np.r_[self.decision_rows_, self.max_length_]
        crossed = [(r, (r > seen) & (r <= seen + new)) for r in points]
        crossed = [(r, m) for r, m in crossed if m.any()]
        x = np.zeros((len(ids), series.shape[0], max(new.max(), 1)), np.float32)
        for k, g in enumerate(groups):
            x[k, :, : g.shape[1]] = g
        reads = [
            (
                np.clip(r - seen, 0, new),
                torch.empty((len(ids), 2, rocket.n_outputs // 2)),
            )
            for r, _ in crossed
        ]
        with torch_threads(estimator.n_threads):
            rocket._advance(
                state,
                torch.as_tensor(x, device=estimator.device),
                torch.as_tensor(new, device=estimator.device),
                reads,
            )
        heads = [*estimator.prefix_heads_, (estimator.scaler_, estimator.head_)]
        history = {i: list(streams.get(i, (None, []))[1]) for i in ids}
        decided = {}
        for (row, mask), (_, features) in zip(crossed, reads):
            j = int(np.searchsorted(points, row))
            scaler, head = heads[j]
            f = features.reshape(len(ids), -1).cpu().numpy()[mask]
            proba = head.predict_proba(scaler.transform(f))
            for k, p in zip(np.flatnonzero(mask), proba):
                i = ids[k]
                if i in decided:
                    continue
                labels = history[i] = [*history[i], int(p.argmax())][-3:]
                agree = (
                    len(labels) >= self.consistency_
                    and len(set(labels[-self.consistency_ :])) == 1
                )
                if row == self.max_length_ or (p.max() >= self.threshold_ and agree):
                    decided[i] = (labels[-1], int(row))
        # Nothing above changed the estimator: now commit the new states.
        for k, i in enumerate(ids):
            if i in decided:
                streams.pop(i, None)
                closed[i] = decided[i]
            else:
                one = type(fresh)(*(t[k : k + 1].clone() for t in state._tensors()))
                streams[i] = (one, history[i])
        done = [i for i in ids if i in decided]
        return (
            done,
            self.classes_[np.array([decided[i][0] for i in done], dtype=np.int64)],
            np.array([decided[i][1] for i in done], dtype=np.int64),
        )

    def reset_streams(self, stream_ids=None):
        """Forget open and decided streams: these ids, or all of them (None).

        Parameters
        ----------
        stream_ids : array-like or None, default=None

        Returns
        -------
        self : object
        """
        open_, closed = (
            self.__dict__.get("_open", {}),
            self.__dict__.get("_decided", {}),
        )
        if stream_ids is None:
            open_.clear()
            closed.clear()
        else:
            for i in np.asarray(stream_ids, dtype=object).ravel().tolist():
                open_.pop(i, None)
                closed.pop(i, None)
        return self

    def early_score(self, X, y):
        """Accuracy, earliness and their harmonic mean of :meth:`early_predict`.

        Parameters
        ----------
        X : ndarray of shape (n_series, n_channels, n_timepoints), list of \
                ndarray of shape (n_channels, n_timepoints_i), or ndarray of \
                shape (n_series, n_timepoints)
        y : array-like of shape (n_series,)

        Returns
        -------
        scores : dict
            ``accuracy``, ``earliness`` (mean fraction of a series read) and
            ``harmonic_mean`` of accuracy and 1 - earliness.
        """
        labels, rows, lengths = self._early_predict(X)
        return _scores(labels == column_or_1d(y), rows / lengths, None)

    def predict_proba(self, X):
        """Class probabilities of each series at its last row (the series model's).

        Parameters
        ----------
        X : ndarray of shape (n_series, n_channels, n_timepoints), list of \
                ndarray of shape (n_channels, n_timepoints_i), or ndarray of \
                shape (n_series, n_timepoints)

        Returns
        -------
        proba : ndarray of shape (n_series, n_classes)
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        """Class of each series at its last row (the series model's).

        Parameters
        ----------
        X : ndarray of shape (n_series, n_channels, n_timepoints), list of \
                ndarray of shape (n_channels, n_timepoints_i), or ndarray of \
                shape (n_series, n_timepoints)

        Returns
        -------
        y : ndarray of shape (n_series,)
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)
