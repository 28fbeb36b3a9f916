"""Plain NumPy yardstick of the Sacramento et al. (2018) rate microcircuit.

The same equations and the same per-step update order as the Brian2
version of the model, so that the two can be compared number for number,
plus the two-step *steady-state* approximation the paper used for MNIST.

Units: potentials are dimensionless, time is in ms, conductances and
learning rates in 1/ms, rates are dimensionless (outputs of ``phi``). The
constructor also takes Brian2 Quantities for times and rates (``tau_w=30*ms``,
``eta_PP=1e-3/ms``), converted to these units.

Layer ``k`` (1-based, as in the paper) is stored at list index ``k - 1``:
``W[k-1]`` is :math:`W_k` (``n_k x n_{k-1}``), ``B[k-1]`` is :math:`B_k`
(``n_k x n_{k+1}``), ``IP[k-1]`` is :math:`W^{IP}_k` (``n_{k+1} x n_k``),
``PI[k-1]`` is :math:`W^{PI}_k` (``n_k x n_{k+1}``), ``u[k-1]`` the somata
of pyramidal layer ``k`` and ``uI[k-1]`` the interneurons of layer ``k``
(one per pyramid of layer ``k + 1``).

Names follow the Brian2 circuit (:func:`brian_dendrites.circuits.dendritic_microcircuit`,
see docs/glossary.md): conductances ``g_L, g_B, g_A, g_D, g_som``, learning
rates ``eta_PP, eta_IP, eta_PI, eta_TD``, weight families ``W, B, IP, PI``
(``W{k}, B{k}, IP{k}, PI{k}`` there), mixing factors ``lam_out, lam_A,
lam_I``, ``weight_scale``. Per-step signals: ``vB, vA, vI`` are the
circuit's ``v_B, v_A, v_D``; ``e, eI, eA, eTD`` its ``e_B, e_D, e_A, e_TD``.

References
----------
.. [1] J. Sacramento, R. Ponte Costa, Y. Bengio, W. Senn, "Dendritic cortical
   microcircuits approximate the backpropagation algorithm", NeurIPS 2018.
   Somatic dynamics (Section 2 and Methods), plasticity eqs. (7)-(10), self-predicting
   state (Fig. S1), MNIST steady-state approximation (Supplementary
   Material).
"""
import time

import numpy as np
from scipy.linalg import blas

from .._validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_labels,
    check_layers,
    check_nonnegative,
    check_per_layer,
    check_probability,
    check_rate_ms,
    check_seed,
    check_time_ms,
    check_XY,
)
from ..activations import ACTIVATIONS, get_activation  # noqa: F401 - ACTIVATIONS: doctest below
from ._loops import epoch_batches, maybe_progress

__all__ = ["ReferenceMicrocircuit"]


# ---------------------------------------------------------------------------
# the microcircuit
# ---------------------------------------------------------------------------
class ReferenceMicrocircuit:
    r"""Rate-based dendritic cortical microcircuit (Sacramento et al. 2018) in NumPy.

    Pyramidal layers ``1..L`` (hidden layers ``k < L`` have a basal and an
    apical dendrite, the output layer only a basal one) and interneuron layers
    ``1..L-1`` (interneuron layer ``k`` has ``n_{k+1}`` cells, each nudged by
    one pyramid of layer ``k+1``).

    One call of :meth:`step` advances the state from step ``n`` to ``n + 1``
    in exactly this order (all right-hand sides use step-``n`` values):

    1. rates ``r_k = phi(u_k)`` (k >= 1), ``rI_k = phi(uI_k)``; input
       ``r_0 <- x(t_n) + (r_0 - x(t_n)) exp(-dt/tau_in)`` (the exact step of
       the input low-pass ``tau_in dr_0/dt = x - r_0``; ``r_0 = x(t_n)`` when
       ``tau_in = 0``);
    2. dendrites ``vB_k = W_k r_{k-1}`` (+ ``b_k`` if ``bias``); for ``k < L``:
       ``vA_k = B_k r_{k+1} + PI_k rI_k`` and ``vI_k = IP_k r_k`` (+ ``bI_k``);
    3. learning signals: ``e_k = r_k - phi(g_B / (g_L + g_B + g_A) vB_k)``
       (hidden), ``e_L = r_L - phi(g_B / (g_L + g_B) vB_L)`` (output),
       ``eI_k = rI_k - phi(g_D / (g_L + g_D) vI_k)``, ``eA_k = -vA_k``,
       ``eTD_k = r_k - phi(B_k r_{k+1})`` (only if ``eta_TD > 0``);
    4. somata, Euler-Maruyama:
       ``u_k += dt (-g_L u_k + g_B (vB_k - u_k) + g_A (vA_k - u_k)) + sigma sqrt(dt) xi``,
       ``u_L += dt (-g_L u_L + g_B (vB_L - u_L) + m g_som (u_tgt - u_L)) + sigma sqrt(dt) xi``
       (``m = 1`` if a target is given for this step),
       ``uI_k += dt (-g_L uI_k + g_D (vI_k - uI_k) + g_som (u_{k+1} - uI_k)) + sigma sqrt(dt) xi``;
       noise is drawn pyramidal layers 1..L first, then interneuron layers;
    5. plasticity (if ``plastic``), explicit Euler with the *old* traces:
       ``W_k += dt eta_PP_k D^W_k``, then
       ``D^W_k += dt / tau_w (e_k r_{k-1}^T - D^W_k)``; the same for
       ``IP_k`` (``eI_k``, ``r_k``, ``eta_IP``), ``PI_k`` (``eA_k``,
       ``rI_k``, ``eta_PI``) and ``B_k`` (``eTD_k``, ``r_{k+1}``, ``eta_TD``).
       Biases (if ``bias``) follow the same rule with presynaptic rate 1.
       Traces of matrices whose learning rate is 0 are not updated (saves
       time; they cannot affect the weights).

    Weights and traces are Fortran-ordered and updated in place with BLAS
    ``?ger`` (rank-1 update of the trace) and ``?axpy`` (weight += c trace),
    so this class is also the honest CPU speed yardstick.

    Parameters
    ----------
    layers : sequence of int
        ``[n0, n1, ..., nL]`` with ``L >= 1``.
    phi : str or callable, optional
        Transfer function (default ``'softplus_sacramento'``), see
        :func:`get_activation`.
    g_L, g_B, g_A, g_D, g_som : float (1/ms) or Quantity (1/time)
        Leak, basal, apical, interneuron dendritic and somatic nudging
        conductances (defaults 0.1, 1.0, 0.8, 1.0, 0.8). Plain numbers are
        in 1/ms; Brian2 Quantities (``0.1/ms``) are converted.
    sigma : float (1/sqrt(ms))
        Somatic noise amplitude; each step adds ``sigma sqrt(dt) N(0, 1)``
        (default 0).
    dt : float (ms) or Quantity (time)
        Euler step (default 0.1).
    tau_w : float (ms) or Quantity (time)
        Time constant of the low-pass plasticity traces (default 30).
    tau_in : float (ms) or Quantity (time)
        Time constant of the input low-pass filter (default 3, as the Brian2
        circuit; 0: the input rates are the given ``x`` at every step).
    eta_PP : float or sequence of float (1/ms), or Quantities (1/time)
        Forward learning rate, per layer ``1..L`` (default 1e-3).
    eta_IP, eta_PI : float (1/ms) or Quantity (1/time)
        Interneuron (pyramid -> interneuron) and apical (interneuron ->
        pyramid) learning rates (defaults 1e-3, 5e-4).
    eta_TD : float (1/ms) or Quantity (1/time)
        Top-down learning rate, 0 keeps top-down weights fixed (default 0).
    plastic : bool
        Whether :meth:`step` applies plasticity (default True).
    bias : bool
        Add learnable biases to basal (``b_k``) and interneuron dendritic
        (``bI_k``) potentials (default False, the model of [1]_).
    weight_scale : float
        Initial weights ~ ``U(-weight_scale, weight_scale) / sqrt(fan_in)`` (default 1).
    seed : int or None
        Seed for weight initialisation and noise.
    dtype : {numpy.float64, numpy.float32}
        Floating point type of state and weights.

    References
    ----------
    .. [1] Sacramento et al., NeurIPS 2018, Section 2 and Methods (dynamics),
       (7)-(9) (forward, IP and PI plasticity), (10) (top-down plasticity).

    Examples
    --------
    >>> net = ReferenceMicrocircuit([3, 4, 2], seed=0)
    >>> net.init_self_predicting()
    >>> rec = net.run(np.full((10, 3), 0.5), record=("vA",))
    >>> rec["vA"][0].shape
    (10, 4)
    """

    def __init__(self, layers, phi="softplus_sacramento", g_L=0.1, g_B=1.0, g_A=0.8,
                 g_D=1.0, g_som=0.8, sigma=0.0, dt=0.1, tau_w=30.0, tau_in=3.0, eta_PP=1e-3,
                 eta_IP=1e-3, eta_PI=5e-4, eta_TD=0.0, plastic=True, bias=False,
                 weight_scale=1.0, seed=None, dtype=np.float64):
        self.layers = check_layers(layers)
        self.L = len(self.layers) - 1
        self.phi, self.phi_prime, self.phi_inverse = get_activation(phi)
        self.g_L = check_rate_ms(g_L, "g_L")
        self.g_B = check_rate_ms(g_B, "g_B", positive=True)
        self.g_A = check_rate_ms(g_A, "g_A")
        self.g_D = check_rate_ms(g_D, "g_D", positive=True)
        self.g_som = check_rate_ms(g_som, "g_som")
        self.sigma = check_nonnegative(sigma, "sigma")
        self.dt = check_time_ms(dt, "dt")
        self.tau_w = check_time_ms(tau_w, "tau_w")
        self.tau_in = check_time_ms(tau_in, "tau_in", positive=False)
        self.eta_PP = check_per_layer(eta_PP, self.L, "eta_PP", check=check_rate_ms)
        self.eta_IP, self.eta_PI, self.eta_TD = self._etas(eta_IP, eta_PI, eta_TD, check_rate_ms)
        self.plastic = check_bool(plastic, "plastic")
        self.bias = check_bool(bias, "bias")
        self.weight_scale = check_nonnegative(weight_scale, "weight_scale")
        self.dtype = np.dtype(dtype)
        check_choice(self.dtype, "dtype", (np.dtype(np.float64), np.dtype(np.float32)))
        self._ger = blas.get_blas_funcs("ger", dtype=self.dtype)
        self._axpy = blas.get_blas_funcs("axpy", dtype=self.dtype)
        self._gemm = blas.get_blas_funcs("gemm", dtype=self.dtype)
        self.rng = np.random.default_rng(check_seed(seed))
        n = self.layers
        L = self.L
        self.W = [self._init(n[k + 1], n[k]) for k in range(L)]
        self.B = [self._init(n[k + 1], n[k + 2]) for k in range(L - 1)]
        self.IP = [self._init(n[k + 2], n[k + 1]) for k in range(L - 1)]
        self.PI = [self._init(n[k + 1], n[k + 2]) for k in range(L - 1)]
        self.b = [np.zeros(n[k + 1], dtype=self.dtype) for k in range(L)]
        self.bI = [np.zeros(n[k + 2], dtype=self.dtype) for k in range(L - 1)]
        self.reset_state()
        self.reset_traces()

    # -- construction helpers ------------------------------------------------
    def _init(self, rows, cols):
        a = self.weight_scale / np.sqrt(cols)
        return np.asfortranarray(self.rng.uniform(-a, a, size=(rows, cols)).astype(self.dtype))

    @property
    def c_hidden(self):
        """Basal attenuation of a hidden pyramid, ``g_B / (g_L + g_B + g_A)``."""
        return self.g_B / (self.g_L + self.g_B + self.g_A)

    @property
    def c_output(self):
        """Basal attenuation of an output pyramid, ``g_B / (g_L + g_B)``."""
        return self.g_B / (self.g_L + self.g_B)

    @property
    def c_interneuron(self):
        """Dendritic attenuation of an interneuron, ``g_D / (g_L + g_D)``."""
        return self.g_D / (self.g_L + self.g_D)

    def reset_state(self):
        """Set all somatic potentials and the filtered input rates to rest (0)."""
        n = self.layers
        self.u = [np.zeros(n[k + 1], dtype=self.dtype) for k in range(self.L)]
        self.uI = [np.zeros(n[k + 2], dtype=self.dtype) for k in range(self.L - 1)]
        self.x = np.zeros(n[0], dtype=self.dtype)  # filtered input rates
        self.t = 0.0

    def reset_traces(self):
        """Set all low-pass plasticity traces ``D`` to 0."""
        z = lambda a: np.zeros_like(a, order="F")  # noqa: E731
        self.D_W = [z(w) for w in self.W]
        self.D_B = [z(w) for w in self.B]
        self.D_IP = [z(w) for w in self.IP]
        self.D_PI = [z(w) for w in self.PI]
        self.D_b = [np.zeros_like(v) for v in self.b]
        self.D_bI = [np.zeros_like(v) for v in self.bI]

    # -- weights -------------------------------------------------------------
    _KINDS = ("W", "B", "IP", "PI", "b", "bI")

    def _expected_shapes(self, kind):
        n, L = self.layers, self.L
        return {"W": [(n[k + 1], n[k]) for k in range(L)],
                "B": [(n[k + 1], n[k + 2]) for k in range(L - 1)],
                "IP": [(n[k + 2], n[k + 1]) for k in range(L - 1)],
                "PI": [(n[k + 1], n[k + 2]) for k in range(L - 1)],
                "b": [(n[k + 1],) for k in range(L)],
                "bI": [(n[k + 2],) for k in range(L - 1)]}[kind]

    def get_weights(self, copy=True):
        """Return all weights as a dict of lists (index ``k-1`` is layer ``k``).

        Parameters
        ----------
        copy : bool
            Return copies (default) or the live arrays used by the simulation.

        Returns
        -------
        dict
            Keys ``'W', 'B', 'IP', 'PI', 'b', 'bI'``.
        """
        return {kind: [a.copy() if copy else a for a in getattr(self, kind)]
                for kind in self._KINDS}

    def set_weights(self, reset_traces=True, **weights):
        """Set some or all weights; each keyword is a list with one array per layer.

        Parameters
        ----------
        reset_traces : bool
            Zero the plasticity traces of the replaced weights (default True).
        **weights
            Any of ``W, B, IP, PI, b, bI``; shapes are checked.
        """
        for kind, arrays in weights.items():
            check_choice(kind, "set_weights", self._KINDS)
            shapes = self._expected_shapes(kind)
            arrays = list(arrays)
            if len(arrays) != len(shapes):
                raise ValueError(f"set_weights: {kind} expects {len(shapes)} arrays, "
                                 f"got {len(arrays)}")
            new = []
            for i, (a, shp) in enumerate(zip(arrays, shapes)):
                a = check_array(a, f"{kind}[{i}]", shape=shp)
                new.append(np.asfortranarray(a.astype(self.dtype)) if a.ndim == 2
                           else np.ascontiguousarray(a.astype(self.dtype)))
            setattr(self, kind, new)
            if reset_traces:
                setattr(self, "D_" + kind, [np.zeros_like(a, order="F") for a in new])

    def init_self_predicting(self, mode="dynamic"):
        r"""Put the circuit into the self-predicting state.

        Sets ``PI_k = -B_k`` and ``IP_k = s_{k+1} W_{k+1}`` (and
        ``bI_k = s_{k+1} b_{k+1}``) where

        * ``mode='dynamic'``: ``s_{k+1} = (g_L + g_D) / g_D * c_{k+1}`` with
          ``c_{k+1} = g_B / (g_L + g_B)`` if ``k + 1 = L`` (output) and
          ``g_B / (g_L + g_B + g_A)`` otherwise. Derivation: without target
          and with ``vA = 0`` the pyramid settles at ``u_{k+1} = c_{k+1} vB_{k+1}``;
          an interneuron at ``(g_D vI + g_som u_{k+1}) / (g_L + g_D + g_som)``
          equals ``u_{k+1}`` iff ``g_D vI = (g_L + g_D) u_{k+1}``. Then
          ``rI_k = r_{k+1}``, so ``vA_k = B_k (r_{k+1} - rI_k) = 0`` and the
          interneuron error ``eI_k`` vanishes. With the default conductances
          ``s = 1`` for the output layer and ``1.1 / 1.9 = 0.579`` for hidden
          layers.
        * ``mode='steady_state'``: ``s = 1`` (in the two-step mode the
          bottom-up potential is ``u_{k+1} = vB_{k+1}``).

        Parameters
        ----------
        mode : {'dynamic', 'steady_state'}

        References
        ----------
        Sacramento et al. 2018, self-predicting state (Section 2, Fig. S1).
        """
        check_choice(mode, "mode", ("dynamic", "steady_state"))
        L = self.L
        for k in range(L - 1):
            if mode == "dynamic":
                c = self.c_output if k + 1 == L - 1 else self.c_hidden
                s = (self.g_L + self.g_D) / self.g_D * c
            else:
                s = 1.0
            self.IP[k] = np.asfortranarray((s * self.W[k + 1]).astype(self.dtype))
            self.bI[k] = (s * self.b[k + 1]).astype(self.dtype)
            self.PI[k] = np.asfortranarray((-self.B[k]).astype(self.dtype))
            self.D_IP[k] = np.zeros_like(self.IP[k], order="F")
            self.D_PI[k] = np.zeros_like(self.PI[k], order="F")
            self.D_bI[k] = np.zeros_like(self.bI[k])

    # -- dynamics ------------------------------------------------------------
    def _rank1(self, Wm, Dm, eta, post, pre):
        """W += dt eta D (old D); D += dt/tau_w (post pre^T - D), in place (BLAS).

        Nothing is done when ``eta == 0`` (the trace of a fixed matrix is not kept).
        """
        if eta == 0.0:
            return
        self._axpy(Dm.ravel(order="K"), Wm.ravel(order="K"), a=self.dt * eta)
        a = self.dt / self.tau_w
        Dm *= (1.0 - a)
        self._ger(a, post, pre, a=Dm, overwrite_a=1)

    def _vec(self, W, D, eta, post):
        if eta == 0.0:
            return
        W += (self.dt * eta) * D
        a = self.dt / self.tau_w
        D *= (1.0 - a)
        D += a * post

    def step(self, x, u_tgt=None):
        """Advance one Euler step ``dt`` (order documented in the class docstring).

        Parameters
        ----------
        x : ndarray, shape (n0,)
            Input rates ``r_0`` at this step.
        u_tgt : ndarray, shape (nL,), or None
            Target potential of the output layer; None (or all-NaN) means no
            nudging in this step.

        Returns
        -------
        dict
            Step-``n`` quantities: ``r, rI, vB, vA, vI, e, eI, eA, eTD`` (lists per
            layer; ``eTD`` is None unless top-down learning is on), the values
            used for the update.
        """
        x = check_array(x, "x", shape=(self.layers[0],))
        if u_tgt is not None:
            u_tgt = check_array(u_tgt, "u_tgt", shape=(self.layers[-1],), allow_nan=True)
            if np.all(np.isnan(u_tgt)):
                u_tgt = None
            elif not np.all(np.isfinite(u_tgt)):
                raise ValueError("u_tgt: must be all finite (target) or all NaN (no target)")
        return self._step(x.astype(self.dtype, copy=False), u_tgt)

    def _step(self, x, u_tgt):
        phi, L, dt = self.phi, self.L, self.dt
        gL, gB, gA, gD, gsom = self.g_L, self.g_B, self.g_A, self.g_D, self.g_som
        # 1. rates (the input through its low-pass filter; the same expression as Brian2's)
        x = x + (self.x - x) * float(np.exp(-dt / (self.tau_in + 1e-27)))  # weak scalar: keeps dtype
        self.x = x
        r = [x] + [phi(u).astype(self.dtype, copy=False) for u in self.u]
        rI = [phi(uI).astype(self.dtype, copy=False) for uI in self.uI]
        # 2. dendrites
        vB = [self.W[k] @ r[k] for k in range(L)]
        vA = [self.B[k] @ r[k + 2] + self.PI[k] @ rI[k] for k in range(L - 1)]
        vI = [self.IP[k] @ r[k + 1] for k in range(L - 1)]
        if self.bias:
            for k in range(L):
                vB[k] += self.b[k]
            for k in range(L - 1):
                vI[k] += self.bI[k]
        # 3. learning signals
        e = [r[k + 1] - phi(self.c_hidden * vB[k]) for k in range(L - 1)]
        e.append(r[L] - phi(self.c_output * vB[L - 1]))
        eI = [rI[k] - phi(self.c_interneuron * vI[k]) for k in range(L - 1)]
        eA = [-v for v in vA]
        learn_TD = self.plastic and self.eta_TD != 0.0
        eTD = [r[k + 1] - phi(self.B[k] @ r[k + 2]) for k in range(L - 1)] if learn_TD else None
        # 4. somata (all right-hand sides from step n)
        u_old = self.u
        new_u = []
        for k in range(L - 1):
            u = u_old[k]
            new_u.append(u + dt * (-gL * u + gB * (vB[k] - u) + gA * (vA[k] - u)))
        u = u_old[L - 1]
        du = -gL * u + gB * (vB[L - 1] - u)
        if u_tgt is not None:
            du = du + gsom * (u_tgt - u)
        new_u.append(u + dt * du)
        new_uI = [uI + dt * (-gL * uI + gD * (vI[k] - uI) + gsom * (u_old[k + 1] - uI))
                  for k, uI in enumerate(self.uI)]
        if self.sigma > 0:
            s = self.sigma * np.sqrt(dt)
            for v in new_u + new_uI:
                v += s * self.rng.standard_normal(v.shape)
        self.u = [v.astype(self.dtype, copy=False) for v in new_u]
        self.uI = [v.astype(self.dtype, copy=False) for v in new_uI]
        # 5. plasticity
        if self.plastic:
            for k in range(L):
                self._rank1(self.W[k], self.D_W[k], self.eta_PP[k], e[k], r[k])
                if self.bias:
                    self._vec(self.b[k], self.D_b[k], self.eta_PP[k], e[k])
            for k in range(L - 1):
                self._rank1(self.IP[k], self.D_IP[k], self.eta_IP, eI[k], r[k + 1])
                self._rank1(self.PI[k], self.D_PI[k], self.eta_PI, eA[k], rI[k])
                if self.bias:
                    self._vec(self.bI[k], self.D_bI[k], self.eta_IP, eI[k])
                if learn_TD:
                    self._rank1(self.B[k], self.D_B[k], self.eta_TD, eTD[k], r[k + 2])
        self.t += dt
        return {"r": r, "rI": rI, "vB": vB, "vA": vA, "vI": vI, "e": e, "eI": eI, "eA": eA,
                "eTD": eTD}

    _RECORDABLE = ("u", "uI", "r", "rI", "vB", "vA", "vI", "e", "eI", "eA",
                   "W", "B", "IP", "PI")

    def run(self, X_steps, U_tgt_steps=None, record=("u",), record_every=1, progress=False):
        """Run ``len(X_steps)`` Euler steps.

        Parameters
        ----------
        X_steps : ndarray, shape (n_steps, n0)
            Input pattern rates, one row per step (hold a pattern by repeating
            rows), seen through the input low-pass filter (``tau_in``).
        U_tgt_steps : ndarray, shape (n_steps, nL), or None
            Output target potentials per step; rows that are all NaN mean no
            target in that step (``m = 0``).
        record : sequence of str
            Any of ``u, uI`` (state after the step), ``r, rI, vB, vA, vI, e,
            eI, eA`` (step-``n`` values used by the step) and ``W, B, IP,
            PI`` (weights after the step).
        record_every : int
            Record every this many steps (default 1).
        progress : bool
            Show a tqdm progress bar.

        Returns
        -------
        dict
            ``name -> list`` (one entry per layer) of arrays of shape
            ``(n_recorded, ...)``, plus ``'t'`` (ms, time after each recorded
            step) and ``'wall_time'`` (s).
        """
        X = check_array(X_steps, "X_steps", ndim=2, shape=(None, self.layers[0]))
        n_steps = X.shape[0]
        mask = np.zeros(n_steps, dtype=bool)
        if U_tgt_steps is not None:
            U = check_array(U_tgt_steps, "U_tgt_steps", shape=(n_steps, self.layers[-1]),
                            allow_nan=True)
            nan_rows = np.isnan(U)
            if np.any(nan_rows.any(axis=1) & ~nan_rows.all(axis=1)) or np.any(np.isinf(U)):
                raise ValueError("U_tgt_steps: each row must be all finite (target) or all "
                                 "NaN (no target)")
            mask = ~nan_rows.all(axis=1)
            U = U.astype(self.dtype)
        record = tuple(check_choice(name, "record", self._RECORDABLE) for name in record)
        record_every = check_int(record_every, "record_every", minimum=1)
        X = X.astype(self.dtype, copy=False)
        rec = {name: [] for name in record}
        times = []
        t0 = time.perf_counter()
        for i in maybe_progress(range(n_steps), progress):
            out = self._step(X[i], U[i] if mask[i] else None)
            if (i + 1) % record_every == 0:
                times.append(self.t)
                for name in record:
                    if name in ("u", "uI", "W", "B", "IP", "PI"):  # state after the step
                        vals = [v.copy() for v in getattr(self, name)]
                    else:
                        vals = [np.array(v) for v in out[name]]
                    rec[name].append(vals)
        wall = time.perf_counter() - t0
        result = {}
        for name in record:
            per_layer = list(zip(*rec[name])) if rec[name] else []
            result[name] = [np.stack(v) for v in per_layer]
        result["t"] = np.array(times)
        result["wall_time"] = wall
        return result

    # -- steady-state (two-step) mode --------------------------------------
    def lam_defaults(self):
        """Default mixing factors of the steady-state mode (conductance ratios).

        Returns
        -------
        dict
            ``lam_out = g_som / (g_L + g_B + g_som)`` and
            ``lam_A = g_A / (g_L + g_B + g_A)`` (both 0.8 / 1.9 = 0.421
            with default conductances), ``lam_I = 0``.
        """
        return {"lam_out": self.g_som / (self.g_L + self.g_B + self.g_som),
                "lam_A": self.g_A / (self.g_L + self.g_B + self.g_A),
                "lam_I": 0.0}

    def _bottom_up(self, X):
        """Batched bottom-up sweep: lists of vB and rates (X: batch x n0)."""
        r = [X]
        vB = []
        for k in range(self.L):
            v = r[k] @ self.W[k].T
            if self.bias:
                v += self.b[k]
            vB.append(v)
            r.append(self.phi(v))
        return vB, r

    def predict_steady_state(self, X, output="rate"):
        """Output of the bottom-up sweep (no target, ``u_k = vB_k``).

        Parameters
        ----------
        X : ndarray, shape (n_samples, n0)
        output : {'rate', 'potential', 'label'}

        Returns
        -------
        ndarray, shape (n_samples, nL) or (n_samples,) for labels
        """
        X = check_array(X, "X", ndim=2, shape=(None, self.layers[0]))
        check_choice(output, "output", ("rate", "potential", "label"))
        vB, r = self._bottom_up(X.astype(self.dtype, copy=False))
        if output == "potential":
            return vB[-1]
        if output == "label":
            return np.argmax(vB[-1], axis=1)
        return r[-1]

    def steady_state_step(self, X, U_tgt, eta_PP=0.1, eta_IP=0.03, eta_PI=0.0, eta_TD=0.0,
                          lam_out=None, lam_A=None, lam_I=None):
        r"""One weight update of the two-step steady-state approximation on a mini-batch.

        Definition (all per sample, batch averages taken for the updates):

        1. **bottom-up sweep** (no apical input, no nudging):
           ``vB_k = W_k r_{k-1} (+ b_k)``, ``u_k^- = vB_k``, ``r_k^- = phi(vB_k)``,
           ``r_0 = x``; interneurons ``vI_k = IP_k r_k^- (+ bI_k)``,
           ``uI_k^- = vI_k``.
        2. **top-down sweep**: output ``u_L = (1 - lam_out) vB_L + lam_out u_tgt``;
           for ``k = L-1, ..., 1``: interneurons
           ``uI_k = (1 - lam_I) vI_k + lam_I u_{k+1}``, ``rI_k = phi(uI_k)``,
           ``vA_k = B_k r_{k+1} + PI_k rI_k`` and
           ``u_k = (1 - lam_A) vB_k + lam_A (vB_k + vA_k) = vB_k + lam_A vA_k``
           (convex mixing of the basal prediction and the apical "target"
           ``vB_k + vA_k``; in the self-predicting state with no error
           ``vA_k = 0`` and ``u_k = vB_k``); ``r_k = phi(u_k)``.
        3. **updates** (same local rules as the dynamics, with the
           dendritic predictions of the bottom-up sweep):
           ``W_k += eta_PP_k <(r_k - r_k^-) (r_{k-1}^-)^T>``,
           ``b_k += eta_PP_k <r_k - r_k^->``;
           ``IP_k += eta_IP <(r_{k+1}^- - phi(vI_k)) (r_k^-)^T>`` (the
           interneuron learns to predict the bottom-up activity of its
           partner pyramid); ``PI_k += eta_PI <(-vA_k^-) (rI_k^-)^T>`` with
           ``vA_k^- = B_k r_{k+1}^- + PI_k phi(vI_k)`` the apical potential
           of the bottom-up sweep; ``B_k += eta_TD <(r_k - phi(B_k r_{k+1}))
           r_{k+1}^T>`` (top-down sweep values). ``< >`` is the batch mean.

        With ``IP_k = W_{k+1}`` and ``PI_k = -B_k``
        (``init_self_predicting('steady_state')``) and ``lam_I = 0``,
        ``vA_k = B_k (r_{k+1} - r_{k+1}^-)``: the top-down error of [1]_.
        The mixing factors default to conductance ratios,
        ``lam_out = g_som/(g_L+g_B+g_som)`` and ``lam_A =
        g_A/(g_L+g_B+g_A)`` (both 0.421 with default conductances). On the
        5000-image MNIST subset (784-500-500-10, ``eta_PP=0.1``,
        ``eta_IP=0.03``, ``weight_scale=6``) this definition reached 13.4 % test
        error after 5 epochs with the defaults and 31 % with both factors at
        0.1 (an earlier implementation stayed at chance at 0.1).

        Parameters
        ----------
        X : ndarray, shape (batch, n0)
            Input rates.
        U_tgt : ndarray, shape (batch, nL)
            Output target potentials (use ``phi_inverse`` of target rates).
        eta_PP : float or sequence (per layer)
            Forward learning rates (dimensionless, per sample; default 0.1).
        eta_IP, eta_PI, eta_TD : float
            Interneuron, apical and top-down learning rates (0 = fixed;
            defaults 0.03, 0, 0). These are delta rules: they diverge when
            ``eta * phi' * ||r_pre||^2`` exceeds ~2 (for 500 logistic units
            at rate ~0.5, ``eta_IP`` 0.3 diverged on MNIST, 0.03 tracked).
        lam_out, lam_A, lam_I : float in [0, 1] or None
            Mixing factors; None uses :meth:`lam_defaults`.

        Returns
        -------
        dict
            ``'loss'``: mean over the batch of ``0.5 ||r_L^- - phi(u_tgt)||^2``
            (before the update); ``'apical_rms'``: RMS of ``vA^-`` over hidden
            layers (0 if L = 1).

        References
        ----------
        .. [1] Sacramento et al. 2018, Supplementary Material (MNIST,
           steady-state approximation); plasticity eqs. (7)-(10).
        """
        X, U_tgt = self._check_XU(X, U_tgt)
        etas = check_per_layer(eta_PP, self.L, "eta_PP")
        return self._steady_update(X, U_tgt, etas, *self._etas(eta_IP, eta_PI, eta_TD),
                                   self._lambdas(lam_out, lam_A, lam_I))

    def _check_XU(self, X, U_tgt):
        """Validated inputs and target potentials, in this object's dtype."""
        X, U_tgt = check_XY(X, U_tgt, self.layers[0], self.layers[-1], names=("X", "U_tgt"))
        return X.astype(self.dtype, copy=False), U_tgt.astype(self.dtype, copy=False)

    @staticmethod
    def _etas(eta_IP, eta_PI, eta_TD, check=check_nonnegative):
        """Checked ``eta_IP, eta_PI, eta_TD`` (non-negative floats)."""
        return tuple(check(v, name) for v, name in
                     ((eta_IP, "eta_IP"), (eta_PI, "eta_PI"), (eta_TD, "eta_TD")))

    def _lambdas(self, lam_out, lam_A, lam_I):
        """Mixing factors: the given ones (in [0, 1]), else :meth:`lam_defaults`."""
        lam = self.lam_defaults()
        for name, val in (("lam_out", lam_out), ("lam_A", lam_A), ("lam_I", lam_I)):
            if val is not None:
                lam[name] = check_probability(val, name)
        return lam

    def _steady_update(self, X, U, etas, eta_IP, eta_PI, eta_TD, lam):
        phi, L = self.phi, self.L
        nb = X.shape[0]
        vB, r_bu = self._bottom_up(X)
        vI = []
        for k in range(L - 1):
            v = r_bu[k + 1] @ self.IP[k].T
            if self.bias:
                v += self.bI[k]
            vI.append(v)
        rI_bu = [phi(v) for v in vI]
        # top-down sweep
        u_top = [None] * L
        r_top = [None] * (L + 1)
        u_top[L - 1] = (1 - lam["lam_out"]) * vB[L - 1] + lam["lam_out"] * U
        r_top[L] = phi(u_top[L - 1])
        vA_bu = []
        for k in range(L - 2, -1, -1):
            uI = (1 - lam["lam_I"]) * vI[k] + lam["lam_I"] * u_top[k + 1]
            vA = r_top[k + 2] @ self.B[k].T + phi(uI) @ self.PI[k].T
            u_top[k] = vB[k] + lam["lam_A"] * vA
            r_top[k + 1] = phi(u_top[k])
            vA_bu.insert(0, r_bu[k + 2] @ self.B[k].T + rI_bu[k] @ self.PI[k].T)
        loss = 0.5 * np.mean(np.sum((r_bu[L] - phi(U)) ** 2, axis=1))
        apical_rms = (float(np.sqrt(np.mean(np.concatenate([v.ravel() for v in vA_bu]) ** 2)))
                      if vA_bu else 0.0)
        # updates: gradients computed before any weight changes
        upd = []
        for k in range(L):
            e = r_top[k + 1] - r_bu[k + 1]
            upd.append((self.W[k], etas[k] / nb, e, r_bu[k]))
            if self.bias and etas[k]:
                self.b[k] += (etas[k] / nb) * e.sum(axis=0)
        for k in range(L - 1):
            if eta_IP:
                eI = r_bu[k + 2] - rI_bu[k]
                upd.append((self.IP[k], eta_IP / nb, eI, r_bu[k + 1]))
                if self.bias:
                    self.bI[k] += (eta_IP / nb) * eI.sum(axis=0)
            if eta_PI:
                upd.append((self.PI[k], eta_PI / nb, -vA_bu[k], rI_bu[k]))
            if eta_TD:
                eTD = r_top[k + 1] - phi(r_top[k + 2] @ self.B[k].T)
                upd.append((self.B[k], eta_TD / nb, eTD, r_top[k + 2]))
        # all factors were computed from pre-update weights; apply in place (BLAS gemm)
        for Wm, c, post, pre in upd:
            if c:
                self._gemm(c, post.astype(self.dtype, copy=False),
                           pre.astype(self.dtype, copy=False), beta=1.0, c=Wm,
                           trans_a=1, overwrite_c=1)
        return {"loss": float(loss), "apical_rms": apical_rms}

    def fit_steady_state(self, X, U_tgt, epochs=1, batch_size=10, eta_PP=0.1, eta_IP=0.03,
                         eta_PI=0.0, eta_TD=0.0, lam_out=None, lam_A=None, lam_I=None,
                         shuffle=True, X_val=None, y_val=None, callback=None, progress=False):
        """Train with :meth:`steady_state_step` over mini-batches for several epochs.

        Parameters
        ----------
        X : ndarray, shape (n_samples, n0)
        U_tgt : ndarray, shape (n_samples, nL)
            Target potentials.
        epochs, batch_size : int
        eta_PP, eta_IP, eta_PI, eta_TD, lam_out, lam_A, lam_I
            See :meth:`steady_state_step`.
        shuffle : bool
            Reshuffle the samples every epoch (with this object's RNG).
        X_val, y_val : ndarray, optional
            Validation inputs and integer labels; the error rate (argmax of
            the bottom-up output) is recorded per epoch.
        callback : callable, optional
            ``callback(epoch, row)`` after each epoch.
        progress : bool
            Show a tqdm progress bar over epochs.

        Returns
        -------
        list of dict
            One row per epoch: ``epoch, loss, apical_rms, val_error
            (if given), time`` (s, wall clock).

        Examples
        --------
        >>> net = ReferenceMicrocircuit([4, 6, 2], phi="logistic", bias=True, seed=0)
        >>> net.init_self_predicting("steady_state")
        >>> X = np.random.default_rng(0).uniform(0, 1, (20, 4))
        >>> T = np.where(X[:, :1] > 0.5, [[0.8, 0.1]], [[0.1, 0.8]])  # target rates
        >>> U = ACTIVATIONS["logistic"].inverse(T)  # -> target potentials
        >>> hist = net.fit_steady_state(X, U, epochs=2)
        >>> len(hist), sorted(hist[0])
        (2, ['apical_rms', 'epoch', 'loss', 'time'])
        """
        X, U_tgt = self._check_XU(X, U_tgt)
        epochs = check_int(epochs, "epochs", minimum=0)
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        if (X_val is None) != (y_val is None):
            raise ValueError("X_val, y_val: give both or neither")
        if X_val is not None:
            X_val = check_array(X_val, "X_val", ndim=2, shape=(None, self.layers[0]))
            y_val = check_labels(y_val, "y_val", n=X_val.shape[0])
        etas = check_per_layer(eta_PP, self.L, "eta_PP")
        lam = self._lambdas(lam_out, lam_A, lam_I)
        eta_IP, eta_PI, eta_TD = self._etas(eta_IP, eta_PI, eta_TD)
        n = X.shape[0]
        history = []
        for ep in maybe_progress(range(epochs), progress):
            t0 = time.perf_counter()
            losses, rms = [], []
            for idx in epoch_batches(n, batch_size, self.rng, shuffle):
                out = self._steady_update(X[idx], U_tgt[idx], etas, eta_IP, eta_PI, eta_TD, lam)
                losses.append(out["loss"] * len(idx))
                rms.append(out["apical_rms"])
            row = {"epoch": ep + 1, "loss": float(np.sum(losses) / n),
                   "apical_rms": float(np.mean(rms)), "time": time.perf_counter() - t0}
            if X_val is not None:
                row["val_error"] = float(np.mean(self.predict_steady_state(X_val, "label") != y_val))
            history.append(row)
            if callback is not None:
                callback(ep + 1, row)
        return history
