"""Plain NumPy yardstick of the Sacramento et al. (2018) rate microcircuit.

The same equations and the same per-step update order as the Brian2
version of the model, so that the two can be compared number for number,
plus the two-step *steady-state* approximation the paper used for MNIST.

Units: potentials are dimensionless, time is in ms, conductances and
learning rates in 1/ms, rates are dimensionless (outputs of ``phi``).

Layer ``k`` (1-based, as in the paper) is stored at list index ``k - 1``:
``W[k-1]`` is :math:`W_k` (``n_k x n_{k-1}``), ``B[k-1]`` is :math:`B_k`
(``n_k x n_{k+1}``), ``WIP[k-1]`` is :math:`W^{IP}_k` (``n_{k+1} x n_k``),
``WPI[k-1]`` is :math:`W^{PI}_k` (``n_k x n_{k+1}``), ``u[k-1]`` the somata
of pyramidal layer ``k`` and ``uI[k-1]`` the interneurons of layer ``k``
(one per pyramid of layer ``k + 1``).

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
from scipy.special import expit, logit

__all__ = [
    "softplus_sacramento", "softplus_sacramento_prime", "softplus_sacramento_inverse",
    "logistic", "logistic_prime", "tanh", "tanh_prime", "linear", "linear_prime",
    "ACTIVATIONS", "get_activation", "ReferenceMicrocircuit",
]


# ---------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------
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
    """Inverse of :func:`softplus_sacramento` for ``r > 0``: ``3 + log(expm1(10 r))``."""
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


def tanh(u):
    """Hyperbolic tangent."""
    return np.tanh(u)


def tanh_prime(u):
    """Derivative of :func:`tanh`: ``1 - tanh(u)**2``."""
    t = np.tanh(u)
    return 1.0 - t * t


def linear(u):
    """Identity (returns a float array)."""
    return np.asarray(u, dtype=float)


def linear_prime(u):
    """Derivative of :func:`linear` (ones)."""
    return np.ones_like(np.asarray(u, dtype=float))


def _tanh_inverse(r):
    return np.arctanh(r)


#: name -> (phi, phi', phi^{-1})
ACTIVATIONS = {
    "softplus_sacramento": (softplus_sacramento, softplus_sacramento_prime,
                            softplus_sacramento_inverse),
    "logistic": (logistic, logistic_prime, logit),
    "tanh": (tanh, tanh_prime, _tanh_inverse),
    "linear": (linear, linear_prime, linear),
}


def get_activation(phi):
    """Resolve an activation given by name or callable.

    Parameters
    ----------
    phi : str or callable or tuple
        One of ``ACTIVATIONS`` (``'softplus_sacramento'``, ``'logistic'``,
        ``'tanh'``, ``'linear'``), a callable ``phi(u)`` (derivative and
        inverse then unknown, ``None``), or a tuple ``(phi, phi_prime)`` or
        ``(phi, phi_prime, phi_inverse)``.

    Returns
    -------
    (phi, phi_prime, phi_inverse) : tuple of callables (some may be None)
    """
    if isinstance(phi, str):
        if phi not in ACTIVATIONS:
            raise ValueError(f"phi: unknown activation {phi!r}; expected one of "
                             f"{sorted(ACTIVATIONS)} or a callable")
        return ACTIVATIONS[phi]
    if isinstance(phi, tuple):
        if not 1 <= len(phi) <= 3 or not callable(phi[0]):
            raise ValueError("phi: a tuple must be (phi, [phi_prime, [phi_inverse]]) of callables")
        return tuple(phi) + (None,) * (3 - len(phi))
    if callable(phi):
        for name, funcs in ACTIVATIONS.items():
            if phi is funcs[0]:
                return funcs
        return (phi, None, None)
    raise ValueError(f"phi: expected an activation name or a callable, got {type(phi).__name__}")


# ---------------------------------------------------------------------------
# validation helpers (shared with mlp.py and tasks.py)
# ---------------------------------------------------------------------------
def _check_layers(layers, name="layers", min_len=2):
    try:
        layers = [int(n) for n in layers]
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a sequence of positive integers, got {layers!r}") from None
    if len(layers) < min_len:
        raise ValueError(f"{name}: expected at least {min_len} layer sizes "
                         f"(input, ..., output), got {layers!r}")
    if any(n <= 0 for n in layers):
        raise ValueError(f"{name}: all layer sizes must be positive, got {layers!r}")
    return layers


def _check_array(a, name, ndim=None, shape=None, allow_nan=False, allow_empty=False):
    """Convert to a float array and validate; ``shape`` entries of None are free."""
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a numeric array, got {type(a).__name__}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {arr.shape}")
    if shape is not None:
        if len(shape) != arr.ndim or any(s is not None and s != t for s, t in zip(shape, arr.shape)):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name}: expected shape {want}, got {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name}: array is empty (shape {arr.shape})")
    if not allow_nan and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def _check_positive(value, name, allow_zero=False):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name}: expected a {'non-negative' if allow_zero else 'positive'} "
                         f"finite number, got {value!r}")
    return v


def _check_int(value, name, minimum=0):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def _per_layer(value, n, name):
    """Broadcast a scalar or length-n sequence of non-negative rates."""
    if np.ndim(value) == 0:
        return [_check_positive(value, name, allow_zero=True)] * n
    vals = list(value)
    if len(vals) != n:
        raise ValueError(f"{name}: expected a scalar or {n} values (one per layer), got {len(vals)}")
    return [_check_positive(v, f"{name}[{i}]", allow_zero=True) for i, v in enumerate(vals)]


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

    1. rates ``r_k = phi(u_k)`` (k >= 1), ``rI_k = phi(uI_k)``, ``r_0 = x(t_n)``;
    2. dendrites ``vB_k = W_k r_{k-1}`` (+ ``b_k`` if ``bias``); for ``k < L``:
       ``vA_k = B_k r_{k+1} + WPI_k rI_k`` and ``vI_k = WIP_k r_k`` (+ ``bI_k``);
    3. learning signals: ``e_k = r_k - phi(g_B / (g_lk + g_B + g_A) vB_k)``
       (hidden), ``e_L = r_L - phi(g_B / (g_lk + g_B) vB_L)`` (output),
       ``eI_k = rI_k - phi(g_D / (g_lk + g_D) vI_k)``, ``eA_k = -vA_k``,
       ``eB_k = r_k - phi(B_k r_{k+1})`` (only if ``eta_B > 0``);
    4. somata, Euler-Maruyama:
       ``u_k += dt (-g_lk u_k + g_B (vB_k - u_k) + g_A (vA_k - u_k)) + sigma sqrt(dt) xi``,
       ``u_L += dt (-g_lk u_L + g_B (vB_L - u_L) + m g_som (u_tgt - u_L)) + sigma sqrt(dt) xi``
       (``m = 1`` if a target is given for this step),
       ``uI_k += dt (-g_lk uI_k + g_D (vI_k - uI_k) + g_som (u_{k+1} - uI_k)) + sigma sqrt(dt) xi``;
       noise is drawn pyramidal layers 1..L first, then interneuron layers;
    5. plasticity (if ``plastic``), explicit Euler with the *old* traces:
       ``W_k += dt eta_PP_k D^W_k``, then
       ``D^W_k += dt / tau_w (e_k r_{k-1}^T - D^W_k)``; the same for
       ``WIP_k`` (``eI_k``, ``r_k``, ``eta_IP``), ``WPI_k`` (``eA_k``,
       ``rI_k``, ``eta_PI``) and ``B_k`` (``eB_k``, ``r_{k+1}``, ``eta_B``).
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
    g_lk, g_B, g_A, g_D, g_som : float (1/ms)
        Leak, basal, apical, interneuron dendritic and somatic nudging
        conductances (defaults 0.1, 1.0, 0.8, 1.0, 0.8).
    sigma : float (1/sqrt(ms))
        Somatic noise amplitude; each step adds ``sigma sqrt(dt) N(0, 1)``
        (default 0).
    dt : float (ms)
        Euler step (default 0.1).
    tau_w : float (ms)
        Time constant of the low-pass plasticity traces (default 30).
    eta_PP : float or sequence of float (1/ms)
        Forward learning rate, per layer ``1..L`` (default 1e-3).
    eta_IP, eta_PI : float (1/ms)
        Interneuron (pyramid -> interneuron) and apical (interneuron ->
        pyramid) learning rates (defaults 1e-3, 5e-4).
    eta_B : float (1/ms)
        Top-down learning rate, 0 keeps top-down weights fixed (default 0).
    plastic : bool
        Whether :meth:`step` applies plasticity (default True).
    bias : bool
        Add learnable biases to basal (``b_k``) and interneuron dendritic
        (``bI_k``) potentials (default False, the model of [1]_).
    w_scale : float
        Initial weights ~ ``U(-w_scale, w_scale) / sqrt(fan_in)`` (default 1).
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

    def __init__(self, layers, phi="softplus_sacramento", g_lk=0.1, g_B=1.0, g_A=0.8,
                 g_D=1.0, g_som=0.8, sigma=0.0, dt=0.1, tau_w=30.0, eta_PP=1e-3,
                 eta_IP=1e-3, eta_PI=5e-4, eta_B=0.0, plastic=True, bias=False,
                 w_scale=1.0, seed=None, dtype=np.float64):
        self.layers = _check_layers(layers)
        self.L = len(self.layers) - 1
        self.phi, self.phi_prime, self.phi_inverse = get_activation(phi)
        self.g_lk = _check_positive(g_lk, "g_lk", allow_zero=True)
        self.g_B = _check_positive(g_B, "g_B")
        self.g_A = _check_positive(g_A, "g_A", allow_zero=True)
        self.g_D = _check_positive(g_D, "g_D")
        self.g_som = _check_positive(g_som, "g_som", allow_zero=True)
        self.sigma = _check_positive(sigma, "sigma", allow_zero=True)
        self.dt = _check_positive(dt, "dt")
        self.tau_w = _check_positive(tau_w, "tau_w")
        self.eta_PP = _per_layer(eta_PP, self.L, "eta_PP")
        self.eta_IP = _check_positive(eta_IP, "eta_IP", allow_zero=True)
        self.eta_PI = _check_positive(eta_PI, "eta_PI", allow_zero=True)
        self.eta_B = _check_positive(eta_B, "eta_B", allow_zero=True)
        self.plastic = bool(plastic)
        self.bias = bool(bias)
        self.w_scale = _check_positive(w_scale, "w_scale", allow_zero=True)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float64, np.float32):
            raise ValueError(f"dtype: expected float64 or float32, got {self.dtype}")
        self._ger = blas.get_blas_funcs("ger", dtype=self.dtype)
        self._axpy = blas.get_blas_funcs("axpy", dtype=self.dtype)
        self._gemm = blas.get_blas_funcs("gemm", dtype=self.dtype)
        self.rng = np.random.default_rng(seed)
        n = self.layers
        L = self.L
        self.W = [self._init(n[k + 1], n[k]) for k in range(L)]
        self.B = [self._init(n[k + 1], n[k + 2]) for k in range(L - 1)]
        self.WIP = [self._init(n[k + 2], n[k + 1]) for k in range(L - 1)]
        self.WPI = [self._init(n[k + 1], n[k + 2]) for k in range(L - 1)]
        self.b = [np.zeros(n[k + 1], dtype=self.dtype) for k in range(L)]
        self.bI = [np.zeros(n[k + 2], dtype=self.dtype) for k in range(L - 1)]
        self.reset_state()
        self.reset_traces()

    # -- construction helpers ------------------------------------------------
    def _init(self, rows, cols):
        a = self.w_scale / np.sqrt(cols)
        return np.asfortranarray(self.rng.uniform(-a, a, size=(rows, cols)).astype(self.dtype))

    @property
    def c_hidden(self):
        """Basal attenuation of a hidden pyramid, ``g_B / (g_lk + g_B + g_A)``."""
        return self.g_B / (self.g_lk + self.g_B + self.g_A)

    @property
    def c_output(self):
        """Basal attenuation of an output pyramid, ``g_B / (g_lk + g_B)``."""
        return self.g_B / (self.g_lk + self.g_B)

    @property
    def c_interneuron(self):
        """Dendritic attenuation of an interneuron, ``g_D / (g_lk + g_D)``."""
        return self.g_D / (self.g_lk + self.g_D)

    def reset_state(self):
        """Set all somatic potentials to rest (0)."""
        n = self.layers
        self.u = [np.zeros(n[k + 1], dtype=self.dtype) for k in range(self.L)]
        self.uI = [np.zeros(n[k + 2], dtype=self.dtype) for k in range(self.L - 1)]
        self.t = 0.0

    def reset_traces(self):
        """Set all low-pass plasticity traces ``D`` to 0."""
        z = lambda a: np.zeros_like(a, order="F")  # noqa: E731
        self.D_W = [z(w) for w in self.W]
        self.D_B = [z(w) for w in self.B]
        self.D_WIP = [z(w) for w in self.WIP]
        self.D_WPI = [z(w) for w in self.WPI]
        self.D_b = [np.zeros_like(v) for v in self.b]
        self.D_bI = [np.zeros_like(v) for v in self.bI]

    # -- weights -------------------------------------------------------------
    _KINDS = ("W", "B", "WIP", "WPI", "b", "bI")

    def _expected_shapes(self, kind):
        n, L = self.layers, self.L
        return {"W": [(n[k + 1], n[k]) for k in range(L)],
                "B": [(n[k + 1], n[k + 2]) for k in range(L - 1)],
                "WIP": [(n[k + 2], n[k + 1]) for k in range(L - 1)],
                "WPI": [(n[k + 1], n[k + 2]) for k in range(L - 1)],
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
            Keys ``'W', 'B', 'WIP', 'WPI', 'b', 'bI'``.
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
            Any of ``W, B, WIP, WPI, b, bI``; shapes are checked.
        """
        for kind, arrays in weights.items():
            if kind not in self._KINDS:
                raise ValueError(f"set_weights: unknown weight kind {kind!r}; "
                                 f"expected one of {self._KINDS}")
            shapes = self._expected_shapes(kind)
            arrays = list(arrays)
            if len(arrays) != len(shapes):
                raise ValueError(f"set_weights: {kind} expects {len(shapes)} arrays, "
                                 f"got {len(arrays)}")
            new = []
            for i, (a, shp) in enumerate(zip(arrays, shapes)):
                a = _check_array(a, f"{kind}[{i}]", shape=shp)
                new.append(np.asfortranarray(a.astype(self.dtype)) if a.ndim == 2
                           else np.ascontiguousarray(a.astype(self.dtype)))
            setattr(self, kind, new)
            if reset_traces:
                setattr(self, "D_" + kind, [np.zeros_like(a, order="F") for a in new])

    def init_self_predicting(self, mode="dynamic"):
        r"""Put the circuit into the self-predicting state.

        Sets ``WPI_k = -B_k`` and ``WIP_k = s_{k+1} W_{k+1}`` (and
        ``bI_k = s_{k+1} b_{k+1}``) where

        * ``mode='dynamic'``: ``s_{k+1} = (g_lk + g_D) / g_D * c_{k+1}`` with
          ``c_{k+1} = g_B / (g_lk + g_B)`` if ``k + 1 = L`` (output) and
          ``g_B / (g_lk + g_B + g_A)`` otherwise. Derivation: without target
          and with ``vA = 0`` the pyramid settles at ``u_{k+1} = c_{k+1} vB_{k+1}``;
          an interneuron at ``(g_D vI + g_som u_{k+1}) / (g_lk + g_D + g_som)``
          equals ``u_{k+1}`` iff ``g_D vI = (g_lk + g_D) u_{k+1}``. Then
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
        if mode not in ("dynamic", "steady_state"):
            raise ValueError(f"mode: expected 'dynamic' or 'steady_state', got {mode!r}")
        L = self.L
        for k in range(L - 1):
            if mode == "dynamic":
                c = self.c_output if k + 1 == L - 1 else self.c_hidden
                s = (self.g_lk + self.g_D) / self.g_D * c
            else:
                s = 1.0
            self.WIP[k] = np.asfortranarray((s * self.W[k + 1]).astype(self.dtype))
            self.bI[k] = (s * self.b[k + 1]).astype(self.dtype)
            self.WPI[k] = np.asfortranarray((-self.B[k]).astype(self.dtype))
            self.D_WIP[k] = np.zeros_like(self.WIP[k], order="F")
            self.D_WPI[k] = np.zeros_like(self.WPI[k], order="F")
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
            Step-``n`` quantities: ``r, rI, vB, vA, vI, e, eI, eA, eB`` (lists per
            layer; ``eB`` is None unless top-down learning is on), the values
            used for the update.
        """
        x = _check_array(x, "x", shape=(self.layers[0],))
        if u_tgt is not None:
            u_tgt = _check_array(u_tgt, "u_tgt", shape=(self.layers[-1],), allow_nan=True)
            if np.all(np.isnan(u_tgt)):
                u_tgt = None
            elif not np.all(np.isfinite(u_tgt)):
                raise ValueError("u_tgt: must be all finite (target) or all NaN (no target)")
        return self._step(x.astype(self.dtype, copy=False), u_tgt)

    def _step(self, x, u_tgt):
        phi, L, dt = self.phi, self.L, self.dt
        glk, gB, gA, gD, gsom = self.g_lk, self.g_B, self.g_A, self.g_D, self.g_som
        # 1. rates
        r = [x] + [phi(u).astype(self.dtype, copy=False) for u in self.u]
        rI = [phi(uI).astype(self.dtype, copy=False) for uI in self.uI]
        # 2. dendrites
        vB = [self.W[k] @ r[k] for k in range(L)]
        vA = [self.B[k] @ r[k + 2] + self.WPI[k] @ rI[k] for k in range(L - 1)]
        vI = [self.WIP[k] @ r[k + 1] for k in range(L - 1)]
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
        learn_B = self.plastic and self.eta_B != 0.0
        eB = [r[k + 1] - phi(self.B[k] @ r[k + 2]) for k in range(L - 1)] if learn_B else None
        # 4. somata (all right-hand sides from step n)
        u_old = self.u
        new_u = []
        for k in range(L - 1):
            u = u_old[k]
            new_u.append(u + dt * (-glk * u + gB * (vB[k] - u) + gA * (vA[k] - u)))
        u = u_old[L - 1]
        du = -glk * u + gB * (vB[L - 1] - u)
        if u_tgt is not None:
            du = du + gsom * (u_tgt - u)
        new_u.append(u + dt * du)
        new_uI = [uI + dt * (-glk * uI + gD * (vI[k] - uI) + gsom * (u_old[k + 1] - uI))
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
                self._rank1(self.WIP[k], self.D_WIP[k], self.eta_IP, eI[k], r[k + 1])
                self._rank1(self.WPI[k], self.D_WPI[k], self.eta_PI, eA[k], rI[k])
                if self.bias:
                    self._vec(self.bI[k], self.D_bI[k], self.eta_IP, eI[k])
                if learn_B:
                    self._rank1(self.B[k], self.D_B[k], self.eta_B, eB[k], r[k + 2])
        self.t += dt
        return {"r": r, "rI": rI, "vB": vB, "vA": vA, "vI": vI, "e": e, "eI": eI, "eA": eA,
                "eB": eB}

    _RECORDABLE = ("u", "uI", "r", "rI", "vB", "vA", "vI", "e", "eI", "eA",
                   "W", "B", "WIP", "WPI")

    def run(self, X_steps, U_tgt_steps=None, record=("u",), record_every=1, progress=False):
        """Run ``len(X_steps)`` Euler steps.

        Parameters
        ----------
        X_steps : ndarray, shape (n_steps, n0)
            Input rates, one row per step (hold a pattern by repeating rows).
        U_tgt_steps : ndarray, shape (n_steps, nL), or None
            Output target potentials per step; rows that are all NaN mean no
            target in that step (``m = 0``).
        record : sequence of str
            Any of ``u, uI`` (state after the step), ``r, rI, vB, vA, vI, e,
            eI, eA`` (step-``n`` values used by the step) and ``W, B, WIP,
            WPI`` (weights after the step).
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
        X = _check_array(X_steps, "X_steps", ndim=2, shape=(None, self.layers[0]))
        n_steps = X.shape[0]
        mask = np.zeros(n_steps, dtype=bool)
        if U_tgt_steps is not None:
            U = _check_array(U_tgt_steps, "U_tgt_steps", shape=(n_steps, self.layers[-1]),
                             allow_nan=True)
            nan_rows = np.isnan(U)
            if np.any(nan_rows.any(axis=1) & ~nan_rows.all(axis=1)) or np.any(np.isinf(U)):
                raise ValueError("U_tgt_steps: each row must be all finite (target) or all "
                                 "NaN (no target)")
            mask = ~nan_rows.all(axis=1)
            U = U.astype(self.dtype)
        record = tuple(record)
        for name in record:
            if name not in self._RECORDABLE:
                raise ValueError(f"record: unknown variable {name!r}; expected any of "
                                 f"{self._RECORDABLE}")
        record_every = _check_int(record_every, "record_every", minimum=1)
        X = X.astype(self.dtype, copy=False)
        rec = {name: [] for name in record}
        times = []
        it = range(n_steps)
        if progress:
            from tqdm.auto import tqdm
            it = tqdm(it)
        t0 = time.perf_counter()
        for i in it:
            out = self._step(X[i], U[i] if mask[i] else None)
            if (i + 1) % record_every == 0:
                times.append(self.t)
                for name in record:
                    if name in ("u", "uI"):
                        vals = [v.copy() for v in getattr(self, name)]
                    elif name in ("W", "B", "WIP", "WPI"):
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
            ``lam_out = g_som / (g_lk + g_B + g_som)`` and
            ``lam_hidden = g_A / (g_lk + g_B + g_A)`` (both 0.8 / 1.9 = 0.421
            with default conductances), ``lam_I = 0``.
        """
        return {"lam_out": self.g_som / (self.g_lk + self.g_B + self.g_som),
                "lam_hidden": self.g_A / (self.g_lk + self.g_B + self.g_A),
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
        X = _check_array(X, "X", ndim=2, shape=(None, self.layers[0]))
        if output not in ("rate", "potential", "label"):
            raise ValueError(f"output: expected 'rate', 'potential' or 'label', got {output!r}")
        vB, r = self._bottom_up(X.astype(self.dtype, copy=False))
        if output == "potential":
            return vB[-1]
        if output == "label":
            return np.argmax(vB[-1], axis=1)
        return r[-1]

    def steady_state_step(self, X, U_tgt, eta_PP=0.1, eta_IP=0.03, eta_PI=0.0, eta_B=0.0,
                          lam_out=None, lam_hidden=None, lam_I=None):
        r"""One weight update of the two-step steady-state approximation on a mini-batch.

        Definition (all per sample, batch averages taken for the updates):

        1. **bottom-up sweep** (no apical input, no nudging):
           ``vB_k = W_k r_{k-1} (+ b_k)``, ``u_k^- = vB_k``, ``r_k^- = phi(vB_k)``,
           ``r_0 = x``; interneurons ``vI_k = WIP_k r_k^- (+ bI_k)``,
           ``uI_k^- = vI_k``.
        2. **top-down sweep**: output ``u_L = (1 - lam_out) vB_L + lam_out u_tgt``;
           for ``k = L-1, ..., 1``: interneurons
           ``uI_k = (1 - lam_I) vI_k + lam_I u_{k+1}``, ``rI_k = phi(uI_k)``,
           ``vA_k = B_k r_{k+1} + WPI_k rI_k`` and
           ``u_k = (1 - lam_hidden) vB_k + lam_hidden (vB_k + vA_k) = vB_k + lam_hidden vA_k``
           (convex mixing of the basal prediction and the apical "target"
           ``vB_k + vA_k``; in the self-predicting state with no error
           ``vA_k = 0`` and ``u_k = vB_k``); ``r_k = phi(u_k)``.
        3. **updates** (same local rules as the dynamics, with the
           dendritic predictions of the bottom-up sweep):
           ``W_k += eta_PP_k <(r_k - r_k^-) (r_{k-1}^-)^T>``,
           ``b_k += eta_PP_k <r_k - r_k^->``;
           ``WIP_k += eta_IP <(r_{k+1}^- - phi(vI_k)) (r_k^-)^T>`` (the
           interneuron learns to predict the bottom-up activity of its
           partner pyramid); ``WPI_k += eta_PI <(-vA_k^-) (rI_k^-)^T>`` with
           ``vA_k^- = B_k r_{k+1}^- + WPI_k phi(vI_k)`` the apical potential
           of the bottom-up sweep; ``B_k += eta_B <(r_k - phi(B_k r_{k+1}))
           r_{k+1}^T>`` (top-down sweep values). ``< >`` is the batch mean.

        With ``WIP_k = W_{k+1}`` and ``WPI_k = -B_k``
        (``init_self_predicting('steady_state')``) and ``lam_I = 0``,
        ``vA_k = B_k (r_{k+1} - r_{k+1}^-)``: the top-down error of [1]_.
        The mixing factors default to conductance ratios,
        ``lam_out = g_som/(g_lk+g_B+g_som)`` and ``lam_hidden =
        g_A/(g_lk+g_B+g_A)`` (both 0.421 with default conductances). On the
        5000-image MNIST subset (784-500-500-10, ``eta_PP=0.1``,
        ``eta_IP=0.03``, ``w_scale=6``) this definition reached 13.4 % test
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
        eta_IP, eta_PI, eta_B : float
            Interneuron, apical and top-down learning rates (0 = fixed;
            defaults 0.03, 0, 0). These are delta rules: they diverge when
            ``eta * phi' * ||r_pre||^2`` exceeds ~2 (for 500 logistic units
            at rate ~0.5, ``eta_IP`` 0.3 diverged on MNIST, 0.03 tracked).
        lam_out, lam_hidden, lam_I : float in [0, 1] or None
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
        X = _check_array(X, "X", ndim=2, shape=(None, self.layers[0]))
        U_tgt = _check_array(U_tgt, "U_tgt", ndim=2, shape=(X.shape[0], self.layers[-1]))
        etas = _per_layer(eta_PP, self.L, "eta_PP")
        eta_IP = _check_positive(eta_IP, "eta_IP", allow_zero=True)
        eta_PI = _check_positive(eta_PI, "eta_PI", allow_zero=True)
        eta_B = _check_positive(eta_B, "eta_B", allow_zero=True)
        lam = self.lam_defaults()
        for name, val in (("lam_out", lam_out), ("lam_hidden", lam_hidden), ("lam_I", lam_I)):
            if val is not None:
                v = _check_positive(val, name, allow_zero=True)
                if v > 1:
                    raise ValueError(f"{name}: expected a mixing factor in [0, 1], got {val!r}")
                lam[name] = v
        return self._steady_update(X.astype(self.dtype, copy=False),
                                   U_tgt.astype(self.dtype, copy=False),
                                   etas, eta_IP, eta_PI, eta_B, lam)

    def _steady_update(self, X, U, etas, eta_IP, eta_PI, eta_B, lam):
        phi, L = self.phi, self.L
        nb = X.shape[0]
        vB, r_bu = self._bottom_up(X)
        vI = []
        for k in range(L - 1):
            v = r_bu[k + 1] @ self.WIP[k].T
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
            vA = r_top[k + 2] @ self.B[k].T + phi(uI) @ self.WPI[k].T
            u_top[k] = vB[k] + lam["lam_hidden"] * vA
            r_top[k + 1] = phi(u_top[k])
            vA_bu.insert(0, r_bu[k + 2] @ self.B[k].T + rI_bu[k] @ self.WPI[k].T)
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
                upd.append((self.WIP[k], eta_IP / nb, eI, r_bu[k + 1]))
                if self.bias:
                    self.bI[k] += (eta_IP / nb) * eI.sum(axis=0)
            if eta_PI:
                upd.append((self.WPI[k], eta_PI / nb, -vA_bu[k], rI_bu[k]))
            if eta_B:
                eB = r_top[k + 1] - phi(r_top[k + 2] @ self.B[k].T)
                upd.append((self.B[k], eta_B / nb, eB, r_top[k + 2]))
        # all factors were computed from pre-update weights; apply in place (BLAS gemm)
        for Wm, c, post, pre in upd:
            if c:
                self._gemm(c, post.astype(self.dtype, copy=False),
                           pre.astype(self.dtype, copy=False), beta=1.0, c=Wm,
                           trans_a=1, overwrite_c=1)
        return {"loss": float(loss), "apical_rms": apical_rms}

    def fit_steady_state(self, X, U_tgt, epochs=1, batch_size=10, eta_PP=0.1, eta_IP=0.03,
                         eta_PI=0.0, eta_B=0.0, lam_out=None, lam_hidden=None, lam_I=None,
                         shuffle=True, X_val=None, y_val=None, callback=None, progress=False):
        """Train with :meth:`steady_state_step` over mini-batches for several epochs.

        Parameters
        ----------
        X : ndarray, shape (n_samples, n0)
        U_tgt : ndarray, shape (n_samples, nL)
            Target potentials.
        epochs, batch_size : int
        eta_PP, eta_IP, eta_PI, eta_B, lam_out, lam_hidden, lam_I
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
        >>> U = logit(np.where(X[:, :1] > 0.5, [[0.8, 0.1]], [[0.1, 0.8]]))  # target rates -> potentials
        >>> hist = net.fit_steady_state(X, U, epochs=2)
        >>> len(hist), sorted(hist[0])
        (2, ['apical_rms', 'epoch', 'loss', 'time'])
        """
        X = _check_array(X, "X", ndim=2, shape=(None, self.layers[0]))
        U_tgt = _check_array(U_tgt, "U_tgt", ndim=2, shape=(X.shape[0], self.layers[-1]))
        epochs = _check_int(epochs, "epochs", minimum=0)
        batch_size = _check_int(batch_size, "batch_size", minimum=1)
        if (X_val is None) != (y_val is None):
            raise ValueError("X_val, y_val: give both or neither")
        if X_val is not None:
            X_val = _check_array(X_val, "X_val", ndim=2, shape=(None, self.layers[0]))
            y_val = np.asarray(y_val)
            if y_val.shape != (X_val.shape[0],):
                raise ValueError(f"y_val: expected shape ({X_val.shape[0]},), got {y_val.shape}")
        etas = _per_layer(eta_PP, self.L, "eta_PP")
        lam = self.lam_defaults()
        for name, val in (("lam_out", lam_out), ("lam_hidden", lam_hidden), ("lam_I", lam_I)):
            if val is not None:
                v = _check_positive(val, name, allow_zero=True)
                if v > 1:
                    raise ValueError(f"{name}: expected a mixing factor in [0, 1], got {val!r}")
                lam[name] = v
        eta_IP = _check_positive(eta_IP, "eta_IP", allow_zero=True)
        eta_PI = _check_positive(eta_PI, "eta_PI", allow_zero=True)
        eta_B = _check_positive(eta_B, "eta_B", allow_zero=True)
        X = X.astype(self.dtype, copy=False)
        U_tgt = U_tgt.astype(self.dtype, copy=False)
        n = X.shape[0]
        history = []
        it = range(epochs)
        if progress:
            from tqdm.auto import tqdm
            it = tqdm(it)
        for ep in it:
            t0 = time.perf_counter()
            order = self.rng.permutation(n) if shuffle else np.arange(n)
            losses, rms = [], []
            for s in range(0, n, batch_size):
                idx = order[s:s + batch_size]
                out = self._steady_update(X[idx], U_tgt[idx], etas, eta_IP, eta_PI, eta_B, lam)
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
