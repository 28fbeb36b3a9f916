"""NumPy rate functions: phi, its derivative phi' and its inverse phi^{-1}.

The same functions as the Brian2 expressions of
:data:`brian_dendrites.models.ACTIVATIONS` (tested against them on a grid in
``tests/test_activations.py``), for NumPy code: the reference
implementations, data sets (target potentials ``phi^{-1}(r)``) and learners.
Potentials ``u`` and rates ``r`` are dimensionless. Pure NumPy/SciPy; no
Brian2 import.

========================  ==============================  ======================  ==========================
name                      phi(u)                          phi'(u)                 phi^{-1}(r), domain
========================  ==============================  ======================  ==========================
``softplus_sacramento``   ``0.1 log(1 + exp(u - 3))``     ``0.1 sigmoid(u - 3)``  ``3 + log(expm1(10 r))``, r > 0
``logistic``              ``1 / (1 + exp(-u))``           ``s (1 - s)``           ``logit(r)``, 0 < r < 1
``tanh``                  ``tanh(u)``                     ``1 - tanh(u)^2``       ``arctanh(r)``, -1 < r < 1
``linear``                ``u``                           ``1``                   ``r``
``relu``                  ``max(u, 0)``                   ``1 if u > 0 else 0``   none (not invertible)
========================  ==============================  ======================  ==========================

References
----------
.. [1] J. Sacramento, R. Ponte Costa, Y. Bengio, W. Senn, "Dendritic cortical
   microcircuits approximate the backpropagation algorithm", NeurIPS 2018
   (softplus of the regression experiment, Fig. 2; logistic for MNIST, Fig. 3).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from scipy.special import expit, logit

from ._validation import check_choice

__all__ = [
    "Activation", "ACTIVATIONS", "get_activation",
    "softplus_sacramento", "softplus_sacramento_prime", "softplus_sacramento_inverse",
    "logistic", "logistic_prime", "logistic_inverse", "tanh", "tanh_prime", "tanh_inverse",
    "linear", "linear_prime", "linear_inverse", "relu", "relu_prime", "relu_inverse",
]

Activation = namedtuple("Activation", ["phi", "prime", "inverse"])
Activation.__doc__ = """A rate function and its derivative and inverse (a 3-tuple).

Attributes
----------
phi : callable
    ``phi(u)``, potential -> rate.
prime : callable or None
    ``phi'(u)``; None if unknown.
inverse : callable or None
    ``phi^{-1}(r)``, rate -> potential; None if unknown.
"""


def softplus_sacramento(u):
    """Sacramento et al. (2018) transfer function ``0.1 * log(1 + exp(u - 3))``.

    Computed stably with :func:`numpy.logaddexp` (no overflow for large ``u``).

    Parameters
    ----------
    u : array_like (dimensionless potential)

    Returns
    -------
    r : ndarray (dimensionless rate), ``r >= 0``

    References
    ----------
    Sacramento et al. 2018, regression experiment (Fig. 2).
    """
    return 0.1 * np.logaddexp(0.0, np.asarray(u, dtype=float) - 3.0)


def softplus_sacramento_prime(u):
    """Derivative of :func:`softplus_sacramento`: ``0.1 * sigmoid(u - 3)``."""
    return 0.1 * expit(np.asarray(u, dtype=float) - 3.0)


def softplus_sacramento_inverse(r):
    """Inverse of :func:`softplus_sacramento` for ``r > 0``: ``3 + log(expm1(10 r))``.

    Raises
    ------
    ValueError
        If any rate is ``<= 0`` (outside the range of the function).
    """
    r = np.asarray(r, dtype=float)
    if np.any(r <= 0):
        raise ValueError("softplus_sacramento_inverse: rates must be > 0, got min "
                         f"{r.min()!r}")
    z = 10.0 * r
    # log(expm1(z)) = z + log(1 - exp(-z)), stable for large z
    return 3.0 + z + np.log(-np.expm1(-z))


def logistic(u):
    """Logistic sigmoid ``1 / (1 + exp(-u))`` (:func:`scipy.special.expit`)."""
    return expit(u)


def logistic_prime(u):
    """Derivative of :func:`logistic`: ``s (1 - s)``."""
    s = expit(u)
    return s * (1.0 - s)


def logistic_inverse(r):
    """Inverse of :func:`logistic`: ``log(r / (1 - r))`` (:func:`scipy.special.logit`).

    Rates 0 and 1 give -inf and inf; outside ``[0, 1]``, NaN.
    """
    return logit(r)


def tanh(u):
    """Hyperbolic tangent."""
    return np.tanh(u)


def tanh_prime(u):
    """Derivative of :func:`tanh`: ``1 - tanh(u)**2``."""
    t = np.tanh(u)
    return 1.0 - t * t


def tanh_inverse(r):
    """Inverse of :func:`tanh`: ``arctanh(r)`` (+-inf at +-1, NaN outside)."""
    return np.arctanh(r)


def linear(u):
    """Identity (returns a float array)."""
    return np.asarray(u, dtype=float)


def linear_prime(u):
    """Derivative of :func:`linear` (ones)."""
    return np.ones_like(np.asarray(u, dtype=float))


#: The inverse of :func:`linear` is the identity itself.
linear_inverse = linear


def relu(u):
    """Rectified linear rate ``max(u, 0)`` (a float array)."""
    return np.maximum(np.asarray(u, dtype=float), 0.0)


def relu_prime(u):
    """Derivative of :func:`relu`: 1 where ``u > 0``, else 0 (0 at the kink)."""
    return (np.asarray(u, dtype=float) > 0).astype(float)


def relu_inverse(r):
    """Not defined: every ``u <= 0`` gives rate 0, so ``relu`` has no inverse.

    Raises
    ------
    ValueError
        Always.
    """
    raise ValueError("relu_inverse: relu is not invertible (every u <= 0 gives r = 0); "
                     "use an invertible activation ('softplus_sacramento', 'logistic', "
                     "'tanh', 'linear') where target potentials phi^-1(r) are needed")


#: name -> Activation(phi, phi', phi^{-1}); the keys of
#: :data:`brian_dendrites.models.ACTIVATIONS`.
ACTIVATIONS = {
    "softplus_sacramento": Activation(softplus_sacramento, softplus_sacramento_prime,
                                      softplus_sacramento_inverse),
    "logistic": Activation(logistic, logistic_prime, logistic_inverse),
    "tanh": Activation(tanh, tanh_prime, tanh_inverse),
    "linear": Activation(linear, linear_prime, linear_inverse),
    "relu": Activation(relu, relu_prime, relu_inverse),
}


def get_activation(phi, name="phi") -> Activation:
    """Resolve an activation given by name, callable or tuple.

    Parameters
    ----------
    phi : str or callable or tuple
        A key of :data:`ACTIVATIONS`, a callable ``phi(u)`` (one of this
        module's gives its full entry, any other has unknown derivative and
        inverse, ``None``), or a tuple ``(phi, phi_prime)`` or
        ``(phi, phi_prime, phi_inverse)``.
    name : str
        The argument's name, for messages (default ``'phi'``).

    Returns
    -------
    Activation
        ``(phi, prime, inverse)``; ``prime``/``inverse`` may be None.

    Raises
    ------
    ValueError
        For an unknown name (with a suggestion).
    TypeError
        For anything else that is not a callable or a tuple of 1-3 callables.

    Examples
    --------
    >>> float(get_activation("logistic").phi(0.0))
    0.5
    """
    if isinstance(phi, str):
        return ACTIVATIONS[check_choice(phi, name, ACTIVATIONS)]
    if isinstance(phi, tuple):
        if not 1 <= len(phi) <= 3 or not all(f is None or callable(f) for f in phi) \
                or not callable(phi[0]):
            raise TypeError(f"{name}: a tuple must be (phi, [phi_prime, [phi_inverse]]) of "
                            f"callables, got {phi!r}")
        return Activation(*(tuple(phi) + (None,) * (3 - len(phi))))
    if callable(phi):
        for funcs in ACTIVATIONS.values():
            if phi is funcs.phi:
                return funcs
        return Activation(phi, None, None)
    raise TypeError(f"{name}: expected an activation name, a callable or a tuple of "
                    f"callables, got {type(phi).__name__}")
