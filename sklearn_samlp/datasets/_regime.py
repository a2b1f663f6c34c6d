"""Synthetic streams whose label is a slowly switching hidden regime."""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["make_regime_streams"]


def _make_regime_means(rng, n_classes, n_features):
    """Draw one unit-norm mean vector per regime.

    The means are centred before normalisation: this removes the component
    shared by all regimes, which carries no class information, so the
    regimes point away from each other (two regimes are antipodal). All
    means have unit norm, so an accumulator starting at zero favours none.

    Parameters
    ----------
    rng : numpy.random.RandomState or numpy.random.Generator
        Source of randomness. Only methods shared by both are used.

    n_classes : int
        Number of regimes, at least 2.

    n_features : int
        Dimension of the observations.

    Returns
    -------
    means : ndarray of shape (n_classes, n_features)
        Unit-norm regime means.
    """
    means = rng.standard_normal((n_classes, n_features))
    means -= means.mean(axis=0)
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    # Centring can only produce a zero row with n_features == 1 and equal
    # draws, which has probability zero; guard anyway against 0 / 0.
    return means / np.maximum(norms, np.finfo(means.dtype).tiny)


def _sample_regime_streams(rng, means, n_streams, n_steps, switch_prob, noise):
    """Sample hidden-regime streams around fixed regime means.

    The starting regimes are spread as evenly as possible over the classes,
    in random order over the streams. At every later step a stream
    switches, with probability ``switch_prob``, to one of the *other* regimes
    drawn uniformly; otherwise it stays. Each observation is the current
    regime's mean plus isotropic Gaussian noise of standard deviation
    ``noise``.

    Parameters
    ----------
    rng : numpy.random.RandomState or numpy.random.Generator
        Source of randomness. Only methods shared by both are used, so that
        scikit-learn style ``random_state`` and numpy generators both work.

    means : ndarray of shape (n_classes, n_features)
        Regime means, e.g. from :func:`_make_regime_means`.

    n_streams, n_steps : int
        Number of streams and number of time steps per stream.

    switch_prob : float
        Per-step probability of leaving the current regime.

    noise : float
        Standard deviation of the observation noise.

    Returns
    -------
    X : ndarray of shape (n_streams, n_steps, n_features)
        Observations, float64.

    y : ndarray of shape (n_streams, n_steps)
        Regime of each stream at each step, int64.
    """
    n_classes, n_features = means.shape
    # Draw all randomness up front with fixed shapes, so the result only
    # depends on the seed and the sizes, never on the label path.
    # Starting regimes are as balanced as possible (then shuffled): with a
    # handful of slowly switching streams, independent draws would often give
    # a training set dominated by one class.
    start = rng.permutation(np.arange(n_streams, dtype=np.int64) % n_classes)
    switches = rng.random((n_streams, n_steps)) < switch_prob
    shifts = 1 + np.floor(rng.random((n_streams, n_steps)) * (n_classes - 1))
    shifts = shifts.astype(np.int64)
    eps = rng.standard_normal((n_streams, n_steps, n_features))

    y = np.empty((n_streams, n_steps), dtype=np.int64)
    if n_steps:
        y[:, 0] = start
    for t in range(1, n_steps):
        y[:, t] = np.where(
            switches[:, t], (y[:, t - 1] + shifts[:, t]) % n_classes, y[:, t - 1]
        )
    X = means[y] + noise * eps
    return X, y


@validate_params(
    {
        "n_streams": [Interval(Integral, 1, None, closed="left")],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "n_classes": [Interval(Integral, 2, None, closed="left")],
        "switch_prob": [Interval(Real, 0, 1, closed="both")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_regime_streams(
    n_streams=10,
    n_steps=300,
    n_features=8,
    n_classes=3,
    switch_prob=0.02,
    noise=1.5,
    random_state=None,
):
    """Generate streams labelled by a slowly switching hidden regime.

    Every stream follows its own hidden Markov chain over ``n_classes``
    regimes. The starting regimes are spread as evenly as possible over the
    classes (in random order over the streams); at each step a stream moves
    to a uniformly drawn *other* regime with probability ``switch_prob``
    (so regimes last ``1 / switch_prob`` steps on average). The label of a
    row is the current regime. Each row is the regime's mean vector (unit
    norm, shared by all streams) plus Gaussian noise of standard deviation
    ``noise`` per feature.

    With the default, large ``noise`` a single row says little about its
    label, while an exponential moving average of the past rows of the same
    stream averages the noise out: this is the task a leaky-integrator
    accumulator ``a_t = d * a_{t-1} + (1 - d) * x_t`` is built for.

    Parameters
    ----------
    n_streams : int, default=10
        Number of independent streams.

    n_steps : int, default=300
        Number of time steps (rows) per stream.

    n_features : int, default=8
        Number of features per row.

    n_classes : int, default=3
        Number of regimes, i.e. classes.

    switch_prob : float, default=0.02
        Probability, at each step, that a stream leaves its current regime.
        ``0`` keeps every stream in its starting regime.

    noise : float, default=1.5
        Standard deviation of the Gaussian noise added to each feature. The
        regime means have unit norm, so larger values make single rows less
        informative.

    random_state : int, RandomState instance or None, default=None
        Determines random number generation for dataset creation. Pass an int
        for reproducible output across multiple function calls.
        See :term:`Glossary <random_state>`.

    Returns
    -------
    X : ndarray of shape (n_streams * n_steps, n_features)
        The observations, float64 (as in
        :func:`sklearn.datasets.make_classification`).

    y : ndarray of shape (n_streams * n_steps,)
        The integer label (regime) of each row, in ``range(n_classes)``.

    stream_ids : ndarray of shape (n_streams * n_steps,)
        The integer stream of each row. Rows are grouped by stream and, within
        a stream, in time order: rows ``s * n_steps`` to
        ``(s + 1) * n_steps - 1`` are the steps of stream ``s``.

    See Also
    --------
    sklearn_samlp.StreamManager : The same generator, laid out time-major as
        torch tensors for :class:`~sklearn_samlp.SignalAccumulativeMLP`.

    Examples
    --------
    >>> from sklearn_samlp.datasets import make_regime_streams
    >>> X, y, stream_ids = make_regime_streams(
    ...     n_streams=3, n_steps=5, n_features=2, random_state=0
    ... )
    >>> X.shape, y.shape, stream_ids.shape
    ((15, 2), (15,), (15,))
    >>> stream_ids
    array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2])
    >>> sorted(set(y.tolist())) <= [0, 1, 2]
    True
    """
    rng = check_random_state(random_state)
    means = _make_regime_means(rng, n_classes, n_features)
    X, y = _sample_regime_streams(rng, means, n_streams, n_steps, switch_prob, noise)
    stream_ids = np.repeat(np.arange(n_streams, dtype=np.int64), n_steps)
    return X.reshape(-1, n_features), y.reshape(-1), stream_ids
