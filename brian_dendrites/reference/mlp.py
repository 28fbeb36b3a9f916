"""Baselines in NumPy: backprop MLP and feedback alignment (shared code).

Weight convention as in :mod:`.microcircuit`: ``W[k-1]`` maps layer ``k-1``
to layer ``k`` and has shape ``(n_k, n_{k-1})``; biases ``b[k-1]`` have
shape ``(n_k,)``.

Per-sample losses: ``'mse'`` is ``0.5 * ||y_hat - y||^2`` (summed over
outputs); ``'xent'`` is the softmax cross-entropy ``-sum_i y_i log
softmax(a_L)_i`` (the output activation is then the softmax). Batch
losses are means of per-sample losses.

References
----------
.. [1] D. E. Rumelhart, G. E. Hinton, R. J. Williams, "Learning
   representations by back-propagating errors", Nature 323, 1986.
.. [2] T. P. Lillicrap, D. Cownden, D. B. Tweed, C. J. Akerman, "Random
   synaptic feedback weights support error backpropagation for deep
   learning", Nat. Commun. 7, 13276, 2016 (feedback alignment).
.. [3] D. P. Kingma, J. Ba, "Adam: a method for stochastic optimization",
   ICLR 2015.
"""
import time

import numpy as np
from scipy.special import logsumexp, softmax

from .. import _validation as _v
from ..activations import get_activation
from ._loops import epoch_batches, maybe_progress

__all__ = ["MLP", "backprop_gradients"]

_LOSSES = ("mse", "xent")


def _resolve_acts(activation, n_hidden):
    if isinstance(activation, (list, tuple)) and not (
            len(activation) in (2, 3) and callable(activation[0]) and callable(activation[1])):
        if len(activation) != n_hidden:
            raise ValueError(f"activation: expected {n_hidden} hidden activations, "
                             f"got {len(activation)}")
        acts = [get_activation(a, f"activation[{i}]") for i, a in enumerate(activation)]
    else:
        acts = [get_activation(activation, "activation")] * n_hidden
    for a in acts:
        if a[1] is None:
            raise ValueError("activation: a derivative is needed; pass a name or a tuple "
                             "(phi, phi_prime)")
    return acts


def _resolve_output(output_activation, loss):
    _v.check_choice(loss, "loss", _LOSSES)
    if loss == "xent":
        if output_activation not in ("softmax", None):
            raise ValueError("output_activation: loss='xent' uses a softmax output; pass "
                             "output_activation='softmax' (or None)")
        return None
    if output_activation == "softmax":
        raise ValueError("output_activation: 'softmax' requires loss='xent'")
    out = get_activation(output_activation, "output_activation")
    if out[1] is None:
        raise ValueError("output_activation: a derivative is needed; pass a name or a tuple")
    return out


def _forward(Ws, bs, X, acts, out_act):
    """Return pre-activations ``a`` and activations ``h`` (h[0] = X), batched."""
    h = [X]
    a = []
    L = len(Ws)
    for k in range(L):
        z = h[k] @ Ws[k].T
        if bs is not None:
            z = z + bs[k]
        a.append(z)
        if k < L - 1:
            h.append(acts[k][0](z))
        elif out_act is None:
            h.append(softmax(z, axis=1))
        else:
            h.append(out_act[0](z))
    return a, h


def _loss(h_out, a_out, Y, loss):
    if loss == "mse":
        return 0.5 * np.sum((h_out - Y) ** 2, axis=1)
    return -np.sum(Y * (a_out - logsumexp(a_out, axis=1, keepdims=True)), axis=1)


def _backward(Ws, a, h, Y, acts, out_act, loss, feedback=None):
    """Batch-mean gradients; ``feedback[k]`` replaces ``W[k+1].T`` (FA) if given."""
    L = len(Ws)
    nb = Y.shape[0]
    if loss == "xent":
        delta = h[L] - Y
    else:
        delta = (h[L] - Y) * out_act[1](a[L - 1])
    gW = [None] * L
    gb = [None] * L
    for k in range(L - 1, -1, -1):
        gW[k] = delta.T @ h[k] / nb
        gb[k] = delta.mean(axis=0)
        if k > 0:
            back = Ws[k] if feedback is None else feedback[k - 1].T
            delta = (delta @ back) * acts[k - 1][1](a[k - 1])
    return gW, gb


def backprop_gradients(weights, x, y, biases=None, activation="tanh",
                       output_activation="linear", loss="mse"):
    """Gradient of a single sample's loss with respect to each weight matrix.

    Parameters
    ----------
    weights : list of ndarray
        ``W[k-1]`` of shape ``(n_k, n_{k-1})``, ``k = 1..L``.
    x : ndarray, shape (n0,)
        Input.
    y : ndarray, shape (nL,)
        Target (one-hot or probabilities for ``loss='xent'``).
    biases : list of ndarray, optional
        ``b[k-1]`` of shape ``(n_k,)``; if given, their gradients are returned too.
    activation : str, callable tuple, or list of these
        Hidden activation(s), see :func:`brian_dendrites.activations.get_activation`.
    output_activation : str or tuple
        Output activation for ``loss='mse'`` (``'softmax'``/None for ``'xent'``).
    loss : {'mse', 'xent'}
        ``0.5 ||y_hat - y||^2`` or softmax cross-entropy.

    Returns
    -------
    list of ndarray, or (list, list) if ``biases`` is given
        ``dLoss/dW[k-1]`` with the shapes of ``weights`` (and ``dLoss/db``).

    Examples
    --------
    >>> W = [np.ones((2, 3)), np.ones((1, 2))]
    >>> [g.shape for g in backprop_gradients(W, np.zeros(3), np.ones(1))]
    [(2, 3), (1, 2)]
    """
    Ws = _v.check_weight_chain(weights, "weights")
    x = _v.check_array(x, "x", shape=(Ws[0].shape[1],))
    y = _v.check_array(y, "y", shape=(Ws[-1].shape[0],))
    bs = None
    if biases is not None:
        if len(biases) != len(Ws):
            raise ValueError(f"biases: expected {len(Ws)} vectors, got {len(biases)}")
        bs = [_v.check_array(b, f"biases[{i}]", shape=(w.shape[0],))
              for i, (b, w) in enumerate(zip(biases, Ws))]
    acts = _resolve_acts(activation, len(Ws) - 1)
    out_act = _resolve_output(output_activation, loss)
    a, h = _forward(Ws, bs, x[None, :], acts, out_act)
    gW, gb = _backward(Ws, a, h, y[None, :], acts, out_act, loss)
    return (gW, gb) if biases is not None else gW


class MLP:
    """Multi-layer perceptron trained by backprop or feedback alignment.

    Parameters
    ----------
    layers : sequence of int
        ``[n0, n1, ..., nL]``.
    activation : str or list
        Hidden activation(s) (default ``'tanh'``).
    output_activation : str
        Output activation for ``loss='mse'`` (default ``'linear'``).
    loss : {'mse', 'xent'}
        Squared error or softmax cross-entropy.
    task : {'regression', 'classification'}
        Changes :meth:`predict` (labels) and :meth:`score` (error rate).
    optimizer : {'sgd', 'adam'}
    lr : float
        Learning rate (per batch-mean gradient).
    momentum : float
        SGD momentum (default 0).
    betas : (float, float)
        Adam decay rates.
    eps : float
        Adam epsilon.
    feedback : {'backprop', 'fa'}
        ``'fa'``: errors travel through fixed random matrices ``G[k]``
        (shape ``(n_k, n_{k+1})``), feedback alignment [2]_.
    init_scale : float
        Weights ~ ``U(-a, a)``, ``a = init_scale * sqrt(6 / (fan_in + fan_out))``;
        FA feedback matrices use the same distribution.
    bias : bool
        Use biases (default True).
    target_low, target_high : float
        Values used when integer labels are given to :meth:`fit` for a
        classification task (default 0 and 1).
    seed : int or None

    Attributes
    ----------
    W, b : lists of ndarray
    G : list of ndarray or None
        Feedback matrices for ``feedback='fa'``.
    history : list of dict
        One row per epoch: ``epoch, loss, train_score, val_score`` (if
        validation data were given), ``time`` (s).

    References
    ----------
    .. [1] Rumelhart et al. 1986.
    .. [2] Lillicrap et al. 2016.
    .. [3] Kingma & Ba 2015.
    """

    def __init__(self, layers, activation="tanh", output_activation="linear", loss="mse",
                 task="regression", optimizer="sgd", lr=0.01, momentum=0.0, betas=(0.9, 0.999),
                 eps=1e-8, feedback="backprop", init_scale=1.0, bias=True, target_low=0.0,
                 target_high=1.0, seed=None):
        self.layers = _v.check_layers(layers)
        L = len(self.layers) - 1
        self.activation = activation
        self.acts = _resolve_acts(activation, L - 1)
        self.output_activation = output_activation
        self.loss = loss
        self.out_act = _resolve_output(output_activation, loss)
        self.task = _v.check_choice(task, "task", ("regression", "classification"))
        self.optimizer = _v.check_choice(optimizer, "optimizer", ("sgd", "adam"))
        self.lr = _v.check_positive(lr, "lr")
        self.momentum = _v.check_real(momentum, "momentum", 0, 1, high_open=True)
        if isinstance(betas, (str, bytes)) or len(betas) != 2:
            raise ValueError(f"betas: expected two values in [0, 1), got {betas!r}")
        self.betas = tuple(_v.check_real(bt, f"betas[{i}]", 0, 1, high_open=True)
                           for i, bt in enumerate(betas))
        self.eps = _v.check_positive(eps, "eps")
        self.feedback = _v.check_choice(feedback, "feedback", ("backprop", "fa"))
        self.init_scale = _v.check_nonnegative(init_scale, "init_scale")
        self.bias = _v.check_bool(bias, "bias")
        self.target_low = _v.check_real(target_low, "target_low")
        self.target_high = _v.check_real(target_high, "target_high")
        self.rng = np.random.default_rng(_v.check_seed(seed))
        n = self.layers
        self.W = [self._init(n[k + 1], n[k]) for k in range(L)]
        self.b = [np.zeros(n[k + 1]) for k in range(L)]
        self.G = ([self._init(n[k + 1], n[k + 2]) for k in range(L - 1)]
                  if feedback == "fa" else None)
        self._state = [np.zeros_like(p) for p in self.W + self.b]
        self._state2 = [np.zeros_like(p) for p in self.W + self.b]
        self._t = 0
        self.history = []

    def _init(self, rows, cols):
        a = self.init_scale * np.sqrt(6.0 / (rows + cols))
        return self.rng.uniform(-a, a, size=(rows, cols))

    # -- data handling -------------------------------------------------------
    def _targets(self, Y, n, name="Y"):
        Y = np.asarray(Y)
        nL = self.layers[-1]
        if Y.ndim == 1:
            if self.task != "classification":
                if nL == 1:
                    return _v.check_array(Y, name, shape=(n,))[:, None]
                raise ValueError(f"{name}: expected shape ({n}, {nL}) for regression, "
                                 f"got {Y.shape}")
            Y = _v.check_labels(Y, name, n_classes=nL, n=n)
            T = np.full((n, nL), self.target_low)
            T[np.arange(n), Y] = self.target_high
            return T
        return _v.check_array(Y, name, shape=(n, nL))

    # -- core ----------------------------------------------------------------
    def forward(self, X):
        """Output activations, shape ``(n_samples, nL)`` (softmax for ``'xent'``)."""
        X = _v.check_array(X, "X", ndim=2, shape=(None, self.layers[0]))
        _, h = _forward(self.W, self.b if self.bias else None, X, self.acts, self.out_act)
        return h[-1]

    def gradients(self, X, Y):
        """Batch-mean gradients ``(gW, gb)`` of the loss (FA if ``feedback='fa'``)."""
        X = _v.check_array(X, "X", ndim=2, shape=(None, self.layers[0]))
        Y = self._targets(Y, X.shape[0])
        return self._grads(X, Y)[:2]

    def _grads(self, X, Y):
        a, h = _forward(self.W, self.b if self.bias else None, X, self.acts, self.out_act)
        gW, gb = _backward(self.W, a, h, Y, self.acts, self.out_act, self.loss, self.G)
        return gW, gb, float(np.mean(_loss(h[-1], a[-1], Y, self.loss)))

    def _apply(self, gW, gb):
        params = self.W + (self.b if self.bias else [])
        grads = gW + (gb if self.bias else [])
        self._t += 1
        if self.optimizer == "sgd":
            for i, (p, g) in enumerate(zip(params, grads)):
                if self.momentum:
                    m = self._state[i]
                    m *= self.momentum
                    m += g
                    g = m
                p -= self.lr * g
        else:
            b1, b2 = self.betas
            c1 = 1 - b1 ** self._t
            c2 = 1 - b2 ** self._t
            for i, (p, g) in enumerate(zip(params, grads)):
                m, v = self._state[i], self._state2[i]
                m *= b1
                m += (1 - b1) * g
                v *= b2
                v += (1 - b2) * g * g
                p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)

    def fit(self, X, Y, epochs=1, batch_size=32, X_val=None, Y_val=None, shuffle=True,
            callback=None, progress=False):
        """Train with mini-batches.

        Parameters
        ----------
        X : ndarray, shape (n_samples, n0)
        Y : ndarray, shape (n_samples, nL), or (n_samples,) integer labels
            (classification; converted with ``target_low``/``target_high``).
        epochs, batch_size : int
        X_val, Y_val : ndarray, optional
            Validation data, scored every epoch.
        shuffle : bool
            Reshuffle every epoch.
        callback : callable, optional
            ``callback(model, row)`` after every epoch.
        progress : bool
            tqdm progress bar over epochs.

        Returns
        -------
        self
        """
        X = _v.check_array(X, "X", ndim=2, shape=(None, self.layers[0]))
        T = self._targets(Y, X.shape[0])
        epochs = _v.check_int(epochs, "epochs", minimum=0)
        batch_size = _v.check_int(batch_size, "batch_size", minimum=1)
        if (X_val is None) != (Y_val is None):
            raise ValueError("X_val, Y_val: give both or neither")
        n = X.shape[0]
        for _ in maybe_progress(range(epochs), progress):
            t0 = time.perf_counter()
            total = 0.0
            for idx in epoch_batches(n, batch_size, self.rng, shuffle):
                gW, gb, lval = self._grads(X[idx], T[idx])
                self._apply(gW, gb)
                total += lval * len(idx)
            row = {"epoch": len(self.history) + 1, "loss": total / n,
                   "train_score": self.score(X, Y)}
            if X_val is not None:
                row["val_score"] = self.score(X_val, Y_val)
            row["time"] = time.perf_counter() - t0
            self.history.append(row)
            if callback is not None:
                callback(self, row)
        return self

    def predict(self, X):
        """Outputs (regression) or class labels (argmax, classification)."""
        out = self.forward(X)
        return np.argmax(out, axis=1) if self.task == "classification" else out

    def score(self, X, Y):
        """Error rate (classification; labels or target rows) or MSE (regression).

        The MSE is the mean over samples and outputs of ``(y_hat - y)^2``.
        """
        X = _v.check_array(X, "X", ndim=2, shape=(None, self.layers[0]))
        out = self.forward(X)
        if self.task == "classification":
            Y = np.asarray(Y)
            labels = Y if Y.ndim == 1 else np.argmax(_v.check_array(Y, "Y", shape=out.shape), 1)
            if labels.shape != (X.shape[0],):
                raise ValueError(f"Y: expected {X.shape[0]} labels, got shape {labels.shape}")
            return float(np.mean(np.argmax(out, axis=1) != labels))
        T = self._targets(Y, X.shape[0])
        return float(np.mean((out - T) ** 2))
