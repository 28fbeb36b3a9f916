"""Plain NumPy yardstick of Dendritic Gated Networks (Sezener et al. 2021).

The paper's per-neuron form, the same equations and the same order as the
Brian2 circuit (:func:`brian_dendrites.circuits.dgn_network`), one online
update per sample. Layout and gates: :mod:`brian_dendrites.gating`.

Per sample, for each class ``c`` (one-vs-all network) and layer ``k = 1..L``
(all layers predict the same target ``y_c``)::

    g_kb    = [v_kb . z > theta_kb]                     (fixed gates)
    a_ki    = sum_b g_kb (w_kb . h_{k-1} + beta_kb)     (open branches only)
    p_ki    = sigmoid(a_ki),  r_ki = clip(p_ki, eps, 1 - eps),  h_ki = logit(r_ki)
    err_ki  = (r_ki - y_c) [|y_c - p_ki| > eps]
    w_kb   <- clip(w_kb - eta_t g_kb err_ki h_{k-1}, -w_clip, w_clip)
    beta_kb <- clip(beta_kb - eta_t g_kb err_ki, -w_clip, w_clip)

with ``h_0 = clip(x, -logit(1 - eps), logit(1 - eps))`` (the inputs are
logits) and ``eta_t = eta / (1 + lr_decay * t)``, ``t`` the number of
samples learned before. For regression (``output='identity'``):
``r = a``, ``h = r``, ``h_0 = x`` and ``err = r - y`` (squared error). The
branch bias ``beta`` is the weight of the constant input 1 of
``h = [1, ...]``. Every layer uses the weights before the sample's update.

References
----------
.. [1] E. Sezener, A. Grabska-Barwinska, D. Kostadinov, M. Beau,
   S. Krishnagopal, D. Budden, M. Hutter, J. Veness, M. Botvinick, C. Clopath,
   M. Hausser, P. E. Latham, "A rapid and efficient learning rule for biological
   neural circuits", bioRxiv 2021.03.10.434756.
"""

from __future__ import annotations

import numpy as np

from .._validation import (
    check_array,
    check_choice,
    check_int,
    check_layers,
    check_nonnegative,
    check_real,
)
from ..gating import DGN_OUTPUTS

__all__ = ["ReferenceDGN", "DGN_OUTPUTS"]


def _logit(p):
    return np.log(p / (1.0 - p))


class ReferenceDGN:
    """One-vs-all Dendritic Gated Networks in NumPy, trained online.

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, n_1, ..., n_L]`` of one class's network (``n_L`` usually 1).
    gates : list of (V, theta)
        Per layer ``k = 1..L``: hyperplanes ``(C*n_k*B, n_side)`` and
        thresholds ``(C*n_k*B,)`` (:func:`brian_dendrites.gating.draw_gates`).
    n_branches : int
        Branches per neuron ``B``.
    n_classes : int
        One-vs-all networks ``C``.
    output : {'sigmoid', 'identity'}
        Classification (log loss) or regression (squared error).
    eta : float >= 0
        Learning rate per sample.
    eps : float in (0, 0.5)
        Output clipping and the skip margin (classification).
    w_clip : float > 0
        Weights (and branch biases) are clipped to ``[-w_clip, w_clip]``.
    lr_decay : float >= 0
        ``eta_t = eta / (1 + lr_decay * t)``.

    Attributes
    ----------
    W : list of ndarray
        ``W[k-1]`` has shape ``(C*n_k*B, n_{k-1})``: the weights of every
        branch of layer ``k`` on the previous layer of its own class (on the
        shared input for ``k = 1``).
    beta : list of ndarray
        Branch biases ``(C*n_k*B,)``.
    t : int
        Samples learned so far.

    Examples
    --------
    >>> from brian_dendrites.gating import draw_gates
    >>> g = draw_gates(3, [3, 2, 1], n_branches=4, seed=0, theta_mean=0.0)
    >>> net = ReferenceDGN([3, 2, 1], g, n_branches=4, eta=0.1)
    >>> x = np.array([[0.5, -1.0, 2.0]])
    >>> float(net.predict_proba(x, x)[0, 0])  # weights start at 0: p = 0.5
    0.5
    """

    def __init__(self, layers, gates, n_branches, n_classes=1, output="sigmoid", eta=1e-3,
                 eps=0.01, w_clip=200.0, lr_decay=0.0):
        self.layers = check_layers(layers)
        self.B = check_int(n_branches, "n_branches", minimum=1)
        self.C = check_int(n_classes, "n_classes", minimum=1)
        self.output = check_choice(output, "output", DGN_OUTPUTS)
        self.eta = check_nonnegative(eta, "eta")
        self.eps = check_real(eps, "eps", 0, 0.5, low_open=True, high_open=True)
        self.w_clip = check_real(w_clip, "w_clip", 0, None, low_open=True)
        self.lr_decay = check_nonnegative(lr_decay, "lr_decay")
        L = len(self.layers) - 1
        if len(gates) != L:
            raise ValueError(f"gates: expected {L} (V, theta) pairs (one per layer), got {len(gates)}")
        self.V, self.theta = [], []
        n_side = None
        for k, (V, theta) in enumerate(gates, start=1):
            n = self.C * self.layers[k] * self.B
            V = check_array(V, f"gates[{k - 1}][0]", ndim=2)
            n_side = V.shape[1] if n_side is None else n_side
            V = check_array(V, f"gates[{k - 1}][0]", shape=(n, n_side))
            self.V.append(np.asfortranarray(V))  # columns contiguous: see gate_values
            self.theta.append(check_array(theta, f"gates[{k - 1}][1]", shape=(n,)))
        self.n_side = n_side
        self.W = [np.zeros((self.C * self.layers[k] * self.B, self.layers[k - 1]))
                  for k in range(1, L + 1)]
        self.beta = [np.zeros(self.C * self.layers[k] * self.B) for k in range(1, L + 1)]
        self.t = 0
        self.h_max = float(_logit(1.0 - self.eps))

    # --------------------------------------------------------------- parts
    def gate_values(self, z):
        """Boolean gates of every layer for one side-information vector ``z``.

        Only the columns of non-zero inputs are read when at most half of
        ``z`` is non-zero (raw pixels: ~20 %), as the Brian2 circuit's gate
        projections skip zero inputs.
        """
        nz = np.flatnonzero(z)
        if 2 * nz.size <= z.size:
            zn = z[nz]
            return [V[:, nz] @ zn > th for V, th in zip(self.V, self.theta)]
        return [V @ z > th for V, th in zip(self.V, self.theta)]

    def _input(self, x):
        return np.clip(x, -self.h_max, self.h_max) if self.output == "sigmoid" else x

    def forward(self, x, z):
        """One sample through every layer (weights unchanged).

        Returns
        -------
        dict
            ``gates`` (per layer, boolean per branch), ``h`` (``h[0]`` the
            input, ``h[k]`` the layer's outputs, shape ``(C*n_k,)``), ``p``
            and ``r`` per layer (``p = r = a`` for regression).
        """
        gates = self.gate_values(z)
        h = [self._input(x)]
        ps, rs = [], []
        for k in range(1, len(self.layers)):
            W, beta, g = self.W[k - 1], self.beta[k - 1], gates[k - 1]
            n_k, n_prev = self.layers[k], self.layers[k - 1]
            idx = np.flatnonzero(g)
            if k == 1:
                drive = W[idx] @ h[0]
            else:  # each branch reads its own class's previous layer
                cls = idx // (n_k * self.B)
                drive = np.einsum("ij,ij->i", W[idx], h[-1].reshape(self.C, n_prev)[cls])
            a = np.bincount(idx // self.B, weights=drive + beta[idx], minlength=self.C * n_k)
            if self.output == "sigmoid":
                p = 1.0 / (1.0 + np.exp(-a))
                r = np.clip(p, self.eps, 1.0 - self.eps)
                h.append(_logit(r))
            else:
                p = r = a
                h.append(a)
            ps.append(p)
            rs.append(r)
        return dict(gates=gates, h=h, p=ps, r=rs)

    def step(self, x, z, y, learn=True):
        """Predict one sample, then (``learn``) update every layer's open branches.

        Parameters
        ----------
        x : ndarray, shape (n_in,)
        z : ndarray, shape (n_side,)
        y : ndarray, shape (C,)
            Target of every class's network (``{0, 1}`` or probabilities;
            real values for regression).

        Returns
        -------
        ndarray, shape (C,)
            The last layer's ``p`` before the update (first neuron of each
            class's output layer).
        """
        f = self.forward(x, z)
        L = len(self.layers) - 1
        n_L = self.layers[-1]
        out = f["p"][-1].reshape(self.C, n_L)[:, 0].copy()
        if not learn:
            return out
        eta_t = self.eta / (1.0 + self.lr_decay * self.t)
        for k in range(1, L + 1):
            n_k, n_prev = self.layers[k], self.layers[k - 1]
            yk = np.repeat(y, n_k)
            p, r = f["p"][k - 1], f["r"][k - 1]
            err = r - yk
            if self.output == "sigmoid":
                err = err * (np.abs(yk - p) > self.eps)
            delta = f["gates"][k - 1] * np.repeat(err, self.B)
            idx = np.flatnonzero(delta)
            if idx.size == 0:
                continue
            W, beta = self.W[k - 1], self.beta[k - 1]
            if k == 1:
                pre = f["h"][0][None, :]
            else:
                pre = f["h"][k - 1].reshape(self.C, n_prev)[idx // (n_k * self.B)]
            W[idx] = np.clip(W[idx] - eta_t * delta[idx, None] * pre, -self.w_clip, self.w_clip)
            beta[idx] = np.clip(beta[idx] - eta_t * delta[idx], -self.w_clip, self.w_clip)
        self.t += 1
        return out

    # --------------------------------------------------------------- data
    def _check(self, X, Z, Y=None):
        X = check_array(X, "X", ndim=2, shape=(None, self.layers[0]))
        Z = check_array(Z, "Z", ndim=2, shape=(X.shape[0], self.n_side))
        if Y is None:
            return X, Z, None
        Y = check_array(Y, "Y", ndim=2, shape=(X.shape[0], self.C))
        return X, Z, Y

    def fit_stream(self, X, Z, Y, learn=True):
        """Online pass over the rows of ``(X, Z, Y)`` in order; returns the predictions made.

        Returns
        -------
        ndarray, shape (n, C)
            ``p`` of every class's output before each sample's update.
        """
        X, Z, Y = self._check(X, Z, Y)
        return np.array([self.step(x, z, y, learn) for x, z, y in zip(X, Z, Y)])

    def predict_proba(self, X, Z, batch=256):
        """Output ``p`` of every class's network, shape ``(n, C)`` (no learning).

        Vectorised over samples (``batch`` at a time); equal to :meth:`step`
        with ``learn=False`` up to the order of the sums (~1e-15).
        """
        X, Z, _ = self._check(X, Z)
        out = np.empty((len(X), self.C))
        for start in range(0, len(X), batch):
            out[start:start + batch] = self._predict_batch(X[start:start + batch],
                                                           Z[start:start + batch])
        return out

    def _predict_batch(self, X, Z):
        n, C, B = len(X), self.C, self.B
        h = self._input(X)
        for k in range(1, len(self.layers)):
            n_k, n_prev = self.layers[k], self.layers[k - 1]
            G = Z @ self.V[k - 1].T > self.theta[k - 1]
            W = self.W[k - 1]
            if k == 1:
                drive = h @ W.T
            else:
                rows = n_k * B
                hc = h.reshape(n, C, n_prev)
                drive = np.concatenate([hc[:, c] @ W[c * rows:(c + 1) * rows].T for c in range(C)],
                                       axis=1)
            a = ((drive + self.beta[k - 1]) * G).reshape(n, C * n_k, B).sum(axis=2)
            if self.output == "sigmoid":
                p = 1.0 / (1.0 + np.exp(-a))
                h = _logit(np.clip(p, self.eps, 1.0 - self.eps))
            else:
                p = h = a
        return p.reshape(n, C, self.layers[-1])[:, :, 0]
