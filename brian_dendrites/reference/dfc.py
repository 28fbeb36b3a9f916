"""Plain NumPy yardstick of Deep Feedback Control (Meulemans et al. 2021).

The same equations in the same order as the Brian2 circuit
(:func:`brian_dendrites.circuits.dfc_network`; model strings in
:mod:`brian_dendrites.models.dfc`), by forward Euler, plus the analytic
quantities the theory is about.

One sample is ``n_steps`` steps of ``dt``. Step ``s`` (``first = [s = 0]``,
``avg = (1 - first)/(n_steps - 1)``, ``last = [s = n_steps - 1]``,
``share = (1 - ss) avg + ss last``)::

    err   = (1 - first)(r* - r_L)                                (controller)
    u_int = (1 - first)(u_int + dt/tau_u (err - alpha u))
    u     = u_int + k_p err
    for i = 1..L (each layer reads the rates its predecessor reached this step):
        v_B  = W_i r_{i-1};  qu = Q_i u
        v_A  = (1 - first)(v_A + dt/tau_A (-v_A + qu) + noise)
        v    = first (v_B + b) + (1 - first)(v + dt/tau_v (-v + v_B + b + v_A))
        r_i  = phi_i(v);  g = learn share (r_i - phi_i(v_B + b));  b += eta_i g
        fb   = learn_fb eta_fb avg
    r_ff = r_L, r* = r_L - lam dL/dr_L                 (first step only)
    W_i += eta_i g r_{i-1}^T;   Q_i += fb (-v_A u^T - beta_fb Q_i)

Analytic quantities (at the feed-forward state of a sample): the Jacobians
``J_i = d r_L / d v_i``, the steady-state control of DFC-SSA
``u_ss = (J Q + alpha I)^{-1} delta`` with ``delta = r* - r_L^-``, its
weight update, the backprop update and the damped Gauss-Newton (minimum
norm) update in weight space, all as *updates* (the direction the weights
move), so angles between them follow the paper's convention (0 degrees:
the same direction).

References
----------
.. [1] A. Meulemans, M. Tristany Farinha, J. Garcia Ordonez, P. Vilimelis
   Aceituno, J. Sacramento, B. F. Grewe, "Credit assignment in neural networks
   through deep feedback control", NeurIPS 2021.
"""

from __future__ import annotations

import numpy as np

from .. import activations as act
from .._validation import (
    check_array,
    check_choice,
    check_int,
    check_layers,
    check_nonnegative,
    check_real,
)

__all__ = ["ReferenceDFC", "flatten_updates"]


def flatten_updates(updates) -> np.ndarray:
    """Concatenate per-layer ``(dW, db)`` updates into one vector (for angles)."""
    return np.concatenate([np.concatenate([dW.ravel(), db.ravel()]) for dW, db in updates])


class ReferenceDFC:
    """A DFC network in NumPy: Euler dynamics of the feedback phase and analytic steady states.

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, n_1, ..., n_L]``.
    weights : list of ndarray
        ``W_i`` of shape ``(n_i, n_{i-1})``.
    biases : list of ndarray, optional
        ``b_i`` (default 0).
    Q : list of ndarray, optional
        Feedback weights ``Q_i`` of shape ``(n_i, n_L)`` (default: the
        transposed Jacobians at input 0, see :meth:`jacobian_feedback`).
    activation, output_activation : str
        Keys of :data:`brian_dendrites.activations.ACTIVATIONS`.
    dt, tau_v, tau_A, tau_u : float
        Step and time constants in one time unit (the circuit's ms).
    n_steps : int >= 2
        Steps per sample (the first is the feed-forward sweep).
    alpha, k_p, lam : float
        Controller leak, proportional gain, output target step.
    eta : float or sequence of float
        Forward learning rate per layer.
    eta_fb, beta_fb, sigma : float
        Feedback learning rate, its weight decay, apical noise amplitude.
    ss : {0, 1}
        0: DFC (update averaged over the phase), 1: DFC-SS (last step).
        Either way the forward weights and biases stay fixed during the
        phase and change on its last step (``dW``, ``db``: the changes
        accumulated so far).
    loss : {'mse', 'xent'}
        ``dL/dr_L = r_L - y`` (squared error) or ``softmax(r_L) - y``
        (cross-entropy of the softmax of a linear output).
    seed : int, optional
        Seed of the noise.
    """

    def __init__(self, layers, weights, biases=None, Q=None, *, activation="tanh",
                 output_activation="linear", dt=0.02, tau_v=0.2, tau_A=0.02, tau_u=1.0,
                 n_steps=200, alpha=0.0015, k_p=1.5, lam=0.05, eta=0.0, eta_fb=0.0,
                 beta_fb=0.0, sigma=0.0, ss=0, loss="mse", seed=None):
        self.layers = check_layers(layers)
        L = len(self.layers) - 1
        self.L = L
        self.W = [check_array(w, f"weights[{i}]", shape=(self.layers[i + 1], self.layers[i])).copy()
                  for i, w in enumerate(weights)]
        if len(self.W) != L:
            raise ValueError(f"weights: expected {L} matrices, got {len(self.W)}")
        if biases is None:
            biases = [np.zeros(n) for n in self.layers[1:]]
        self.b = [check_array(b, f"biases[{i}]", shape=(self.layers[i + 1],)).copy()
                  for i, b in enumerate(biases)]
        self.phi = [act.get_activation(activation)] * (L - 1) + [act.get_activation(output_activation)]
        for name, value in dict(dt=dt, tau_v=tau_v, tau_A=tau_A, tau_u=tau_u, alpha=alpha).items():
            check_real(value, name, 0, None, low_open=True)
        self.dt, self.tau_v, self.tau_A, self.tau_u = dt, tau_v, tau_A, tau_u
        self.n_steps = check_int(n_steps, "n_steps", minimum=2)
        self.alpha = alpha
        self.k_p = check_nonnegative(k_p, "k_p")
        self.lam = check_nonnegative(lam, "lam")
        eta = np.broadcast_to(np.asarray(eta, dtype=float), (L,))
        self.eta = [check_nonnegative(float(e), "eta") for e in eta]
        self.eta_fb = check_nonnegative(eta_fb, "eta_fb")
        self.beta_fb = check_nonnegative(beta_fb, "beta_fb")
        self.sigma = check_nonnegative(sigma, "sigma")
        self.ss = check_real(ss, "ss", 0, 1)
        self.loss = check_choice(loss, "loss", ("mse", "xent"))
        self.rng = np.random.default_rng(seed)
        if Q is None:
            Q = self.jacobian_feedback(np.zeros(self.layers[0]))
        self.Q = [check_array(q, f"Q[{i}]", shape=(self.layers[i + 1], self.layers[-1])).copy()
                  for i, q in enumerate(Q)]
        if len(self.Q) != L:
            raise ValueError(f"Q: expected {L} matrices, got {len(self.Q)}")
        n_out = self.layers[-1]
        self.v = [np.zeros(n) for n in self.layers[1:]]
        self.v_A = [np.zeros(n) for n in self.layers[1:]]
        self.r = [np.zeros(n) for n in self.layers[1:]]
        # forward changes accumulated over the phase, applied on its last step
        self.dW = [np.zeros_like(w) for w in self.W]
        self.db = [np.zeros_like(b) for b in self.b]
        self.u_int, self.u = np.zeros(n_out), np.zeros(n_out)
        self.r_ff, self.r_star = np.zeros(n_out), np.zeros(n_out)

    # ------------------------------------------------------------ dynamics
    def sample(self, x, y, learn=True, learn_fb=False, record=False):
        """Run one sample's feedback phase (``n_steps`` Euler steps), updating state and weights.

        Parameters
        ----------
        x : ndarray (n_in,)
        y : ndarray (n_out,)
        learn, learn_fb : bool
            Forward / feedback plasticity on.
        record : bool
            Return per-step traces.

        Returns
        -------
        dict
            ``u`` and ``r_L`` at the end of the phase (and per-step traces
            ``u_t``, ``r_L_t``, ``v_t`` if ``record``).
        """
        x = check_array(x, "x", shape=(self.layers[0],))
        y = check_array(y, "y", shape=(self.layers[-1],))
        N, dt = self.n_steps, self.dt
        trace = {"u_t": [], "r_L_t": [], "v_t": []}
        for s in range(N):
            first = 1.0 if s == 0 else 0.0
            avg = (1.0 - first) / (N - 1)
            last = 1.0 if s == N - 1 else 0.0
            share = (1.0 - self.ss) * avg + self.ss * last
            err = (1.0 - first) * (self.r_star - self.r[-1])
            self.u_int = (1.0 - first) * (self.u_int + dt / self.tau_u * (err - self.alpha * self.u))
            self.u = self.u_int + self.k_p * err
            g = []
            for i in range(self.L):
                r_prev = x if i == 0 else self.r[i - 1]
                v_B = self.W[i] @ r_prev
                qu = self.Q[i] @ self.u
                noise = 0.0
                if self.sigma > 0:
                    noise = (self.sigma * np.sqrt(dt * self.tau_u) / self.tau_A
                             * self.rng.standard_normal(self.layers[i + 1]))
                self.v_A[i] = (1.0 - first) * (self.v_A[i] + dt / self.tau_A * (-self.v_A[i] + qu)
                                               + noise)
                self.v[i] = first * (v_B + self.b[i]) + (1.0 - first) * (
                    self.v[i] + dt / self.tau_v * (-self.v[i] + v_B + self.b[i] + self.v_A[i]))
                self.r[i] = self.phi[i].phi(self.v[i])
                gi = float(learn) * share * (self.r[i] - self.phi[i].phi(v_B + self.b[i]))
                inc = self.db[i] + self.eta[i] * gi
                self.b[i] = self.b[i] + last * inc
                self.db[i] = (1.0 - last) * inc
                g.append(gi)
            fb = float(learn_fb) * self.eta_fb * avg
            if first:
                self.r_ff = self.r[-1].copy()
                self.r_star = self.r[-1] - self.lam * self.loss_gradient(self.r[-1], y)
            for i in range(self.L):
                r_prev = x if i == 0 else self.r[i - 1]
                if self.eta[i] and np.any(g[i]):
                    self.dW[i] += self.eta[i] * np.outer(g[i], r_prev)
                if last:  # the weights stay fixed during the phase (see dfc_forward)
                    self.W[i] += self.dW[i]
                    self.dW[i][...] = 0.0
                if fb:
                    self.Q[i] += fb * (-np.outer(self.v_A[i], self.u) - self.beta_fb * self.Q[i])
            if record:
                trace["u_t"].append(self.u.copy())
                trace["r_L_t"].append(self.r[-1].copy())
                trace["v_t"].append([v.copy() for v in self.v])
        out = {"u": self.u.copy(), "r_L": self.r[-1].copy()}
        if record:
            out.update(u_t=np.array(trace["u_t"]), r_L_t=np.array(trace["r_L_t"]),
                       v_t=trace["v_t"])
        return out

    # ------------------------------------------------------------ analytic
    def forward(self, x):
        """Feed-forward potentials and rates ``[(v_1, r_1), ..., (v_L, r_L)]``."""
        x = check_array(x, "x", shape=(self.layers[0],))
        out, r = [], x
        for i in range(self.L):
            v = self.W[i] @ r + self.b[i]
            r = self.phi[i].phi(v)
            out.append((v, r))
        return out

    def jacobians(self, x) -> list:
        """``J_i = d r_L / d v_i`` at the feed-forward state, ``(n_L, n_i)`` each."""
        ff = self.forward(x)
        J = [None] * self.L
        J[-1] = np.diag(self.phi[-1].prime(ff[-1][0]))
        for i in range(self.L - 2, -1, -1):
            J[i] = J[i + 1] @ self.W[i + 1] * self.phi[i].prime(ff[i][0])[None, :]
        return J

    def jacobian_feedback(self, x) -> list:
        """``Q_i = J_i^T`` at the feed-forward state of ``x`` (the ideal feedback)."""
        return [J.T.copy() for J in self.jacobians(x)]

    def weight_product_feedback(self) -> list:
        """``Q_i = W_{i+1}^T ... W_L^T`` (``Q_L = I``): the paper's weight-product init."""
        n_out = self.layers[-1]
        Q = [None] * self.L
        Q[-1] = np.eye(n_out)
        for i in range(self.L - 2, -1, -1):
            Q[i] = self.W[i + 1].T @ Q[i + 1]
        return Q

    def loss_gradient(self, r_L, y):
        """``dL/dr_L``: ``r_L - y`` (``'mse'``) or ``softmax(r_L) - y`` (``'xent'``)."""
        if self.loss == "mse":
            return r_L - y
        e = np.exp(r_L - np.max(r_L))
        return e / e.sum() - y

    def output_delta(self, x, y):
        """``delta = r* - r_L^- = -lam dL/dr_L`` at the feed-forward output of a sample."""
        r_L = self.forward(x)[-1][1]
        return -self.lam * self.loss_gradient(r_L, check_array(y, "y", shape=(self.layers[-1],)))

    def loop_gain(self, x):
        """``J Q`` at the feed-forward state (``n_L x n_L``)."""
        return sum(J @ Q for J, Q in zip(self.jacobians(x), self.Q))

    def is_stable(self, x) -> bool:
        """Local stability condition of the controller: every eigenvalue of ``J Q`` has real
        part > ``-alpha``.
        """
        return bool(np.all(np.linalg.eigvals(self.loop_gain(x)).real > -self.alpha))

    def steady_state_control(self, x, y):
        """DFC-SSA: ``u_ss = (J Q + alpha I)^{-1} delta`` (linearised steady state)."""
        A = self.loop_gain(x) + self.alpha * np.eye(self.layers[-1])
        return np.linalg.solve(A, self.output_delta(x, y))

    def ssa_update(self, x, y) -> list:
        """DFC-SSA weight and bias update (first order): ``D_i Q_i u_ss r_{i-1}^T``."""
        u = self.steady_state_control(x, y)
        ff = self.forward(x)
        out = []
        for i in range(self.L):
            r_prev = x if i == 0 else ff[i - 1][1]
            d = self.phi[i].prime(ff[i][0]) * (self.Q[i] @ u)
            out.append((np.outer(d, r_prev), d))
        return out

    def backprop_update(self, x, y) -> list:
        """``-lam dL/dW_i``: ``(J_i^T delta) r_{i-1}^T`` per layer (``delta``: :meth:`output_delta`)."""
        delta = self.output_delta(x, y)
        ff = self.forward(x)
        out = []
        for i, J in enumerate(self.jacobians(x)):
            r_prev = x if i == 0 else ff[i - 1][1]
            d = J.T @ delta
            out.append((np.outer(d, r_prev), d))
        return out

    def gauss_newton_update(self, x, y, damping=0.0) -> list:
        """Damped Gauss-Newton (minimum-norm) update of all weights and biases.

        ``dtheta = Jbar^T (Jbar Jbar^T + damping I)^{-1} delta`` with ``Jbar`` the
        Jacobian of ``r_L`` with respect to every weight and bias: the
        smallest parameter change that moves the linearised output by
        ``delta``.
        """
        delta = self.output_delta(x, y)
        ff = self.forward(x)
        blocks = []
        for i, J in enumerate(self.jacobians(x)):
            r_prev = x if i == 0 else ff[i - 1][1]
            ext = np.concatenate([r_prev, [1.0]])
            blocks.append(np.einsum("oj,k->ojk", J, ext).reshape(J.shape[0], -1))
        Jbar = np.concatenate(blocks, axis=1)
        coeff = np.linalg.solve(Jbar @ Jbar.T + damping * np.eye(len(delta)), delta)
        flat = Jbar.T @ coeff
        out, pos = [], 0
        for i in range(self.L):
            n_post, n_pre = self.W[i].shape
            block = flat[pos:pos + n_post * (n_pre + 1)].reshape(n_post, n_pre + 1)
            out.append((block[:, :n_pre].copy(), block[:, n_pre].copy()))
            pos += n_post * (n_pre + 1)
        return out
