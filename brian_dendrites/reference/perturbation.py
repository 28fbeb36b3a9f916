"""Node and weight perturbation in NumPy: gradient estimates from the change of the loss.

Both rules learn without sending errors backwards: they perturb the network
with Gaussian noise, measure how much the loss changed, and move along the
noise in proportion to that change. For a small noise amplitude ``sigma``
their expected update is the negative gradient (to first order in
``sigma``), so they are unbiased; their variance grows with the number of
perturbed units (node perturbation) or weights (weight perturbation).

Network and loss as in :mod:`.mlp` (no biases): ``a_k = W_k r_{k-1}``,
``r_k = phi(a_k)`` for hidden layers, ``r_L = phi_out(a_L)``, per-sample loss
``L = 0.5 ||r_L - y||^2``.

**Node perturbation** (Williams 1992; Fiete & Seung 2006; Werfel et al.
2005): every pre-activation gets noise, ``a_k~ = W_k r~_{k-1} + xi_k`` with
``xi_k ~ N(0, sigma^2 I)`` (the noise of lower layers propagates upward),
and with ``dL = L(perturbed) - L(clean)``::

    dW_k = -lr * dL / sigma^2 * xi_k r_{k-1}^T        (r_{k-1}: clean rates)

Since ``dL = sum_k xi_k . dL/da_k + O(sigma^2)``,
``E[dL xi_k] = sigma^2 dL/da_k + O(sigma^3)`` and
``E[dW_k] = -lr dL/dW_k + O(sigma)``.

**Weight perturbation** (Jabri & Flower 1992; Werfel et al. 2005): every
weight gets noise, ``W_k~ = W_k + Xi_k``, ``Xi_k ~ N(0, sigma^2)`` element-wise,
and::

    dW_k = -lr * (L(W~) - L(W)) / sigma^2 * Xi_k

with ``E[dW_k] = -lr dL/dW_k + O(sigma)`` as well.

Both functions take a batch and return one update per sample (stacked on a
leading axis), each from the same weights, with independent noise.

References
----------
.. [1] R. J. Williams, "Simple statistical gradient-following algorithms for
   connectionist reinforcement learning", Machine Learning 8, 1992.
.. [2] J. Werfel, X. Xie, H. S. Seung, "Learning curves for stochastic
   gradient descent in linear feedforward networks", Neural Comput. 17, 2005.
.. [3] I. R. Fiete, H. S. Seung, "Gradient learning in spiking neural
   networks by dynamic perturbation of conductances", PRL 97, 048104, 2006.
.. [4] M. Jabri, B. Flower, "Weight perturbation: an optimal architecture and
   learning technique for analog VLSI feedforward and recurrent multilayer
   networks", IEEE Trans. Neural Netw. 3, 1992.
.. [5] B. A. Richards et al., "A deep learning framework for neuroscience",
   Nat. Neurosci. 22, 1761-1770, 2019 (bias and variance of learning rules).
"""

from __future__ import annotations

import numpy as np

from .. import _validation as _v
from ..activations import get_activation

__all__ = ["mlp_forward", "mlp_loss", "node_perturbation_updates", "weight_perturbation_updates"]


def _acts(activation, output_activation, L):
    hidden = get_activation(activation, "activation").phi
    out = get_activation(output_activation, "output_activation").phi
    return [hidden] * (L - 1) + [out]


def _check(weights, X, Y):
    Ws = _v.check_weight_chain(weights, "weights")
    X = _v.check_array(X, "X", shape=(None, Ws[0].shape[1])) if np.ndim(X) == 2 else \
        _v.check_array(X, "X", shape=(Ws[0].shape[1],))[None, :]
    n_out = Ws[-1].shape[0]
    Y = np.asarray(Y, dtype=float) if not isinstance(Y, np.ndarray) else Y
    if Y.ndim == 1 and X.shape[0] == 1 and Y.shape == (n_out,):
        Y = Y[None, :]
    elif Y.ndim == 1 and n_out == 1:
        Y = Y[:, None]
    Y = _v.check_array(Y, "Y", shape=(X.shape[0], n_out))
    return Ws, X, Y


def mlp_forward(weights, X, activation="tanh", output_activation="linear", noise=None):
    """Pre-activations and rates of the bias-free MLP, batched, optionally with node noise.

    Parameters
    ----------
    weights : list of ndarray
        ``W_k`` of shape ``(n_k, n_{k-1})``.
    X : ndarray, shape (n_samples, n_0)
    activation, output_activation : str or callable tuple
        Hidden and output rate functions (see
        :func:`~brian_dendrites.activations.get_activation`).
    noise : list of ndarray, optional
        ``xi_k`` of shape ``(n_samples, n_k)`` added to every pre-activation.

    Returns
    -------
    a, r : lists of ndarray
        ``a[k]`` pre-activations of layer ``k + 1``; ``r[0] = X``, ``r[k]`` the
        rates of layer ``k``.
    """
    phis = _acts(activation, output_activation, len(weights))
    a, r = [], [X]
    for k, W in enumerate(weights):
        z = r[-1] @ W.T
        if noise is not None:
            z = z + noise[k]
        a.append(z)
        r.append(phis[k](z))
    return a, r


def _half_sse(out, Y):
    """Per-sample ``|out - Y|^2 / 2``."""
    return 0.5 * np.sum((out - Y) ** 2, axis=1)


def mlp_loss(weights, X, Y, activation="tanh", output_activation="linear") -> np.ndarray:
    """Per-sample loss ``0.5 ||r_L - y||^2`` of the bias-free MLP.

    Examples
    --------
    >>> mlp_loss([np.eye(2)], np.ones((1, 2)), np.zeros((1, 2)), output_activation="linear")
    array([1.])
    """
    Ws, X, Y = _check(weights, X, Y)
    _, r = mlp_forward(Ws, X, activation, output_activation)
    return _half_sse(r[-1], Y)


def node_perturbation_updates(weights, X, Y, sigma=1e-2, lr=1.0, rng=None, activation="tanh",
                              output_activation="linear") -> list:
    """Node-perturbation updates, one per sample, from the same weights.

    Parameters
    ----------
    weights : list of ndarray
        ``W_k`` of shape ``(n_k, n_{k-1})``.
    X : ndarray, shape (n_samples, n_0) or (n_0,)
    Y : ndarray, shape (n_samples, n_L) or (n_L,)
    sigma : float > 0
        Noise amplitude of every pre-activation.
    lr : float >= 0
        Learning rate (the update's expectation is ``-lr`` times the gradient).
    rng : numpy.random.Generator or int, optional
        Source of the noise.
    activation, output_activation : str
        Hidden and output rate functions.

    Returns
    -------
    list of ndarray
        Per layer, ``(n_samples, n_k, n_{k-1})``: sample ``i``'s update
        ``-lr dL_i/sigma^2 xi_k,i r_{k-1,i}^T``.

    Examples
    --------
    >>> W = [np.ones((2, 3)), np.ones((1, 2))]
    >>> [u.shape for u in node_perturbation_updates(W, np.zeros((4, 3)), np.ones((4, 1)), rng=0)]
    [(4, 2, 3), (4, 1, 2)]
    """
    Ws, X, Y = _check(weights, X, Y)
    sigma = _v.check_positive(sigma, "sigma")
    lr = _v.check_nonnegative(lr, "lr")
    rng = np.random.default_rng(rng)
    n = X.shape[0]
    noise = [sigma * rng.standard_normal((n, W.shape[0])) for W in Ws]
    _, r = mlp_forward(Ws, X, activation, output_activation)
    _, rp = mlp_forward(Ws, X, activation, output_activation, noise=noise)
    dL = _half_sse(rp[-1], Y) - _half_sse(r[-1], Y)
    coef = -lr * dL / sigma ** 2
    return [coef[:, None, None] * xi[:, :, None] * r[k][:, None, :] for k, xi in enumerate(noise)]


def weight_perturbation_updates(weights, X, Y, sigma=1e-3, lr=1.0, rng=None, activation="tanh",
                                output_activation="linear") -> list:
    """Weight-perturbation updates, one per sample (each with its own weight noise).

    Parameters
    ----------
    weights : list of ndarray
        ``W_k`` of shape ``(n_k, n_{k-1})``.
    X : ndarray, shape (n_samples, n_0) or (n_0,)
    Y : ndarray, shape (n_samples, n_L) or (n_L,)
    sigma : float > 0
        Noise amplitude of every weight.
    lr : float >= 0
        Learning rate (the update's expectation is ``-lr`` times the gradient).
    rng : numpy.random.Generator or int, optional
        Source of the noise.
    activation, output_activation : str
        Hidden and output rate functions.

    Returns
    -------
    list of ndarray
        Per layer, ``(n_samples, n_k, n_{k-1})``: sample ``i``'s update
        ``-lr (L_i(W + Xi_i) - L_i(W))/sigma^2 Xi_k,i``.

    Examples
    --------
    >>> W = [np.ones((2, 3)), np.ones((1, 2))]
    >>> [u.shape for u in weight_perturbation_updates(W, np.zeros(3), np.ones(1), rng=0)]
    [(1, 2, 3), (1, 1, 2)]
    """
    Ws, X, Y = _check(weights, X, Y)
    sigma = _v.check_positive(sigma, "sigma")
    lr = _v.check_nonnegative(lr, "lr")
    rng = np.random.default_rng(rng)
    n = X.shape[0]
    Xi = [sigma * rng.standard_normal((n, *W.shape)) for W in Ws]
    phis = _acts(activation, output_activation, len(Ws))
    r, rp = X, X
    for k, W in enumerate(Ws):
        r = phis[k](r @ W.T)
        rp = phis[k](np.einsum("nij,nj->ni", W[None] + Xi[k], rp))
    dL = _half_sse(rp, Y) - _half_sse(r, Y)
    coef = -lr * dL / sigma ** 2
    return [coef[:, None, None] * xi for xi in Xi]
