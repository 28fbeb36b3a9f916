"""The two-step steady-state microcircuit (Sacramento et al. 2018, MNIST) in Brian2.

For MNIST the paper did not integrate the somatic dynamics: every sample is
processed by a *bottom-up sweep* (somata at their basal prediction, no
apical input, no teacher) followed by a *top-down sweep* (output nudged
toward the target, hidden somata mixed with their apical input, mixing
factors equal to conductance ratios), after which the weights take one step
of the same local rules as the full dynamics. This module builds that
procedure as Brian2 code: **one simulation time step is one sample**, and
within the step the two sweeps and the updates are a sequence of code
objects ordered with explicit ``when``/``order`` values (see
:func:`steady_state_schedule`).

Per sample (layer ``k = 1..L``, interneuron layer ``k = 1..L-1``):

1. bottom-up: ``u_bu_k = W_k r_bu_{k-1} + b_k``, ``r_bu_k = phi(u_bu_k)``
   (``r_bu_0 = x``); interneurons ``u_bu_I,k = W_IP,k r_bu_k + b_I,k``,
   ``r_bu_I,k = phi(u_bu_I,k)``;
2. top-down: output ``u_L = (1 - lam_out) u_bu_L + lam_out u_tgt``; for
   ``k = L-1 .. 1`` interneurons ``u_I,k = (1 - lam_I) u_bu_I,k + lam_I u_{k+1}``
   and pyramids ``u_k = u_bu_k + lam_A v_A,k`` with
   ``v_A,k = B_k r_{k+1} + W_PI,k phi(u_I,k)``; ``r_k = phi(u_k)``;
3. updates (one Euler step of ``dw/dt = eta err_post r_pre``, ``dt`` = one
   sample): ``W_k += eta_PP,k (r_k - r_bu_k) r_bu_{k-1}^T``,
   ``b_k += eta_PP,k (r_k - r_bu_k)``, ``W_IP,k += eta_IP (r_bu_{k+1} -
   r_bu_I,k) r_bu_k^T``, ``b_I,k += eta_IP (r_bu_{k+1} - r_bu_I,k)``.
   Top-down (``B``) and interneuron-to-apical (``PI``) weights are fixed, as
   in the paper's MNIST run.

This is :meth:`brian_dendrites.reference.ReferenceMicrocircuit.steady_state_step`
with mini-batches of one sample (Brian2 has no batch dimension).

Objects built (all names fixed):

- ``inp``: input rates ``r_bu = x_in(t, i)`` (2-D TimedArray, one row per
  sample);
- ``pyr1 .. pyrL``: pyramids (:func:`steady_state_pyramidal`); ``pyrL`` reads
  ``u_tgt = u_target(t, i)`` and ``nudge = nudge_in(t)``;
- ``int1 .. int{L-1}``: interneurons (:func:`steady_state_interneuron`), each
  linked one-to-one to its partner pyramid of layer ``k + 1``
  (``r_T``, ``u_T`` are ``linked_var`` of ``pyr{k+1}.r_bu`` / ``.u``);
- ``W{k}``, ``IP{k}``: plastic all-to-all projections
  (:func:`steady_state_rule`), ``B{k}``, ``PI{k}``: fixed ones
  (:func:`fixed_projection`), all connected with
  :func:`brian_dendrites.dense.connect_dense`;
- ``out_mon``: output ``u_bu``, ``r_bu`` (bottom-up prediction) and ``u``
  (after the top-down sweep) of every sample;
- TimedArrays ``x_in``, ``u_target``, ``nudge_in`` (teacher on/off) and
  ``learn_in`` (1: plastic, 0: all weights and biases frozen).

References
----------
.. [1] J. Sacramento, R. Ponte Costa, Y. Bengio, W. Senn, "Dendritic cortical
   microcircuits approximate the backpropagation algorithm", NeurIPS 2018,
   Supplementary Material (MNIST: steady-state approximation), eqs. (7)-(8).
"""

from __future__ import annotations

import numbers

import numpy as np
from brian2 import Equations, Quantity, StateMonitor, TimedArray, linked_var, ms, second

import brian_dendrites.models as models
from brian_dendrites.spec import NeuronModel, Param, SynapseModel

from .base import Circuit, check_weights, matrix_to_synapses
from .microcircuit import _check_layers, weight_shapes

__all__ = [
    "steady_state_microcircuit",
    "steady_state_pyramidal",
    "steady_state_interneuron",
    "steady_state_rule",
    "fixed_projection",
    "steady_state_schedule",
    "steady_state_lambdas",
    "STEADY_STATE_DEFAULTS",
]

#: Defaults of the MNIST run (per-sample learning rates, mixing factors from
#: the default conductances g_L 0.1, g_B 1, g_A 0.8, g_som 0.8 per ms).
STEADY_STATE_DEFAULTS = dict(lam_out=0.8 / 1.9, lam_A=0.8 / 1.9, lam_I=0.0)

# ---------------------------------------------------------------------------
# model strings
# ---------------------------------------------------------------------------
PYRAMIDAL_EQUATIONS = """
v_B : 1        # basal input W r_bu of the layer below (summed)
v_A_td : 1     # apical input B r from the layer above, top-down sweep (summed)
v_A_int : 1    # apical input W_PI r from the interneurons, top-down sweep (summed)
v_A = v_A_td + v_A_int : 1   # apical potential
b : 1          # basal bias (learned)
u_bu : 1       # soma after the bottom-up sweep: basal prediction v_B + b
r_bu : 1       # phi(u_bu)
u : 1          # soma after the top-down sweep
r : 1          # phi(u)
err : 1        # learning signal learn*(r - r_bu), read by the basal synapses
u_tgt : 1      # target potential (output layer)
nudge : 1 (shared)   # 1 while the teacher is on (output layer)
learn : 1 (shared)   # 1: plastic, 0: frozen
"""

INTERNEURON_EQUATIONS = """
v_I : 1        # dendritic input W_IP r_bu from the pyramids of the same layer (summed)
b : 1          # dendritic bias (learned)
u_bu : 1       # soma after the bottom-up sweep: v_I + b
r_bu : 1       # phi(u_bu)
u : 1          # soma after the top-down sweep
r : 1          # phi(u), read by the interneuron-to-apical pathway
err : 1        # learning signal learn*(r_T - r_bu), read by the IP synapses
r_T : 1 (linked)     # partner pyramid's bottom-up rate (layer k + 1)
u_T : 1 (linked)     # partner pyramid's top-down potential (layer k + 1)
learn : 1 (shared)   # 1: plastic, 0: frozen
"""


def _phi(activation_name, variable):
    return models.activation(activation_name, variable)


def steady_state_pyramidal(activation_name="logistic"):
    """Pyramidal neuron of the two-step steady-state approximation.

    No differential equation: the soma is set twice per step (one step = one
    sample) by the two code blocks returned in
    ``model.sweeps = {'bottom_up': ..., 'top_down': ...}``, which the circuit
    installs with explicit ``when``/``order``::

        bottom-up:  u_bu = v_B + b;  r_bu = phi(u_bu)
        top-down:   u = u_bu + lam_A v_A + nudge lam_out (u_tgt - u_bu)
                    r = phi(u);  err = learn (r - r_bu);  b += dt eta_b err

    For a hidden layer ``lam_out`` is unused (``nudge = 0``); for the output
    layer ``lam_A`` is unused (no apical input). With ``nudge = 1`` the output
    is ``(1 - lam_out) u_bu + lam_out u_tgt``.

    Parameters
    ----------
    activation_name : str
        Key of :data:`brian_dendrites.models.ACTIVATIONS` (paper: logistic).

    Returns
    -------
    NeuronModel
        With an extra attribute ``sweeps`` (dict of code strings).

    References
    ----------
    Sacramento et al. (2018), Supplementary Material (MNIST), eq. (7).
    """
    if activation_name not in models.ACTIVATIONS:
        raise ValueError(f"activation_name must be one of {sorted(models.ACTIVATIONS)}, "
                         f"got {activation_name!r}")
    model = NeuronModel(
        "steady_state_pyramidal",
        PYRAMIDAL_EQUATIONS,
        params=[
            Param("lam_A", STEADY_STATE_DEFAULTS["lam_A"],
                  "apical mixing factor g_A/(g_L + g_B + g_A)", "probability"),
            Param("lam_out", STEADY_STATE_DEFAULTS["lam_out"],
                  "output nudging factor g_som/(g_L + g_B + g_som)", "probability"),
            Param("eta_b", 0.1 / ms, "bias learning rate (eta_b*dt per sample)", "nonnegative"),
        ],
        reference="Sacramento et al. 2018, SM (steady-state approximation), eq. 7",
        doc=steady_state_pyramidal.__doc__,
    )
    phi_bu, phi = _phi(activation_name, "u_bu"), _phi(activation_name, "u")
    model.sweeps = {
        "bottom_up": f"u_bu = v_B + b\nr_bu = {phi_bu}",
        "top_down": ("u = u_bu + lam_A*v_A + nudge*lam_out*(u_tgt - u_bu)\n"
                     f"r = {phi}\nerr = learn*(r - r_bu)\nb += dt*eta_b*err"),
    }
    return model


def steady_state_interneuron(activation_name="logistic"):
    """SST interneuron of the two-step steady-state approximation.

    Set twice per step by ``model.sweeps``::

        bottom-up:  u_bu = v_I + b;  r_bu = phi(u_bu)
                    err = learn (r_T - r_bu);  b += dt eta_b err
        top-down:   u = (1 - lam_I) u_bu + lam_I u_T;  r = phi(u)

    ``r_T`` and ``u_T`` are linked (one-to-one) to the partner pyramid of the
    layer above: the interneuron learns to predict its bottom-up rate (eq. 8)
    and is nudged toward its top-down potential by ``lam_I``.

    Parameters
    ----------
    activation_name : str
        Key of :data:`brian_dendrites.models.ACTIVATIONS`.

    Returns
    -------
    NeuronModel
        With an extra attribute ``sweeps`` (dict of code strings).

    References
    ----------
    Sacramento et al. (2018), eq. (8) and Supplementary Material.
    """
    if activation_name not in models.ACTIVATIONS:
        raise ValueError(f"activation_name must be one of {sorted(models.ACTIVATIONS)}, "
                         f"got {activation_name!r}")
    model = NeuronModel(
        "steady_state_interneuron",
        INTERNEURON_EQUATIONS,
        params=[
            Param("lam_I", STEADY_STATE_DEFAULTS["lam_I"],
                  "somatic nudging factor toward the partner pyramid", "probability"),
            Param("eta_b", 0.03 / ms, "bias learning rate (eta_b*dt per sample)", "nonnegative"),
        ],
        reference="Sacramento et al. 2018, eq. 8, SM",
        doc=steady_state_interneuron.__doc__,
    )
    phi_bu, phi = _phi(activation_name, "u_bu"), _phi(activation_name, "u")
    model.sweeps = {
        "bottom_up": f"u_bu = v_I + b\nr_bu = {phi_bu}\nerr = learn*(r_T - r_bu)\nb += dt*eta_b*err",
        "top_down": f"u = (1 - lam_I)*u_bu + lam_I*u_T\nr = {phi}",
    }
    return model


def steady_state_rule(target="v_B"):
    """Plastic projection of the steady-state mode: ``dw/dt = eta err_post r_bu_pre``.

    Model string::

        dw/dt = eta*err_post*r_bu_pre : 1 (clock-driven)
        target_post = w*r_bu_pre : 1 (summed)

    With one step per sample, the Euler step is ``w += (eta dt) err r_bu``: the
    per-sample learning rate is ``eta*dt``. ``err_post`` (``err = learn*(r - r_bu)``)
    is a neuron variable computed once per step by the top-down (pyramid) or
    bottom-up (interneuron) sweep.

    Parameters
    ----------
    target : str
        Postsynaptic summed variable (``'v_B'`` for pyramids, ``'v_I'`` for
        interneurons).

    Returns
    -------
    SynapseModel
    """
    if not isinstance(target, str) or not target.isidentifier():
        raise ValueError(f"target must be a variable name, got {target!r}")
    eqs = str(Equations("dw/dt = eta*err_post*r_bu_pre : 1 (clock-driven)\n"
                        "I_post = w*r_bu_pre : 1 (summed)", I_post=f"{target}_post"))
    return SynapseModel(
        f"steady_state_{target}", eqs,
        params=[Param("eta", 0.1 / ms, "learning rate (eta*dt per sample)", "nonnegative")],
        reference="Sacramento et al. 2018 eqs. 7-8 (steady-state form)",
        doc=steady_state_rule.__doc__,
    )


def fixed_projection(target, pre_rate="r"):
    """Fixed all-to-all rate projection ``target_post = w r_pre`` (summed).

    Parameters
    ----------
    target : str
        Postsynaptic summed variable (``'v_A_td'``, ``'v_A_int'``).
    pre_rate : str
        Presynaptic rate variable (top-down sweep rates ``r``).

    Returns
    -------
    SynapseModel
    """
    return models.static_pathway(target=target, pre_rate=pre_rate)


# ---------------------------------------------------------------------------
# schedule
# ---------------------------------------------------------------------------
def _bu_order(k):
    """Orders of layer k's bottom-up sweep: summed v_B, pyramid, IP summed, interneuron."""
    return 10 * k


def _td_order(k, L):
    """Base order of layer k's top-down sweep (k = L first, then L-1, ...)."""
    return 10 * (2 * L + 1 - k)


def _update_order(L):
    return 10 * (2 * L + 2)


def steady_state_schedule(L):
    """The per-step schedule of a circuit with ``L`` pyramidal layers.

    Parameters
    ----------
    L : int
        Number of pyramidal layers (``len(layers) - 1``).

    Returns
    -------
    list of tuple
        ``(when, order, object, what)`` rows in execution order.

    Examples
    --------
    >>> for row in steady_state_schedule(2)[:4]:
    ...     print(row)
    ('start', -1, 'inp_drive, teacher, *_learn', 'inputs, target, learn flag from TimedArrays')
    ('groups', 10, 'W1 (summed)', 'pyr1.v_B = W1 inp.r_bu')
    ('groups', 11, 'pyr1 bottom-up', 'u_bu = v_B + b; r_bu = phi(u_bu)')
    ('groups', 20, 'W2 (summed)', 'pyr2.v_B = W2 pyr1.r_bu')
    """
    if isinstance(L, bool) or not isinstance(L, numbers.Integral) or L < 1:
        raise ValueError(f"L must be a positive integer, got {L!r}")
    rows = [("start", -1, "inp_drive, teacher, *_learn",
             "inputs, target, learn flag from TimedArrays")]
    for k in range(1, L + 1):
        o = _bu_order(k)
        prev = "inp" if k == 1 else f"pyr{k - 1}"
        rows.append(("groups", o, f"W{k} (summed)", f"pyr{k}.v_B = W{k} {prev}.r_bu"))
        rows.append(("groups", o + 1, f"pyr{k} bottom-up", "u_bu = v_B + b; r_bu = phi(u_bu)"))
        if k >= 2:
            rows.append(("groups", o + 2, f"IP{k - 1} (summed)",
                         f"int{k - 1}.v_I = IP{k - 1} pyr{k - 1}.r_bu"))
            rows.append(("groups", o + 3, f"int{k - 1} bottom-up",
                         "u_bu = v_I + b; r_bu = phi(u_bu); err = r_T - r_bu; b += eta err"))
    for k in range(L, 0, -1):
        o = _td_order(k, L)
        if k < L:
            rows.append(("groups", o, f"int{k} top-down",
                         f"u = (1-lam_I) u_bu + lam_I pyr{k + 1}.u; r = phi(u)"))
            rows.append(("groups", o + 1, f"B{k} (summed)", f"pyr{k}.v_A_td = B{k} pyr{k + 1}.r"))
            rows.append(("groups", o + 2, f"PI{k} (summed)", f"pyr{k}.v_A_int = PI{k} int{k}.r"))
            what = "u = u_bu + lam_A v_A; r = phi(u); err = r - r_bu; b += eta err"
        else:
            what = "u = (1-lam_out) u_bu + lam_out u_tgt; r = phi(u); err = r - r_bu; b += eta err"
        rows.append(("groups", o + 3, f"pyr{k} top-down", what))
    o = _update_order(L)
    rows.append(("groups", o, "W*, IP* (state update)", "w += eta dt err_post r_bu_pre"))
    rows.append(("end", 0, "out_mon", f"record pyr{L}.u_bu, r_bu, u"))
    return rows


def steady_state_lambdas(g_L=0.1, g_B=1.0, g_A=0.8, g_som=0.8):
    """Mixing factors equal to conductance ratios (paper's choice).

    Returns
    -------
    dict
        ``lam_out = g_som/(g_L + g_B + g_som)``, ``lam_A = g_A/(g_L + g_B +
        g_A)`` (both 0.421 with the defaults), ``lam_I = 0``.
    """
    vals = dict(g_L=g_L, g_B=g_B, g_A=g_A, g_som=g_som)
    for name, v in vals.items():
        if isinstance(v, Quantity):
            v = float(v * ms)
        if not isinstance(v, numbers.Real) or not np.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite non-negative conductance, got {v!r}")
        vals[name] = float(v)
    return {"lam_out": vals["g_som"] / (vals["g_L"] + vals["g_B"] + vals["g_som"]),
            "lam_A": vals["g_A"] / (vals["g_L"] + vals["g_B"] + vals["g_A"]),
            "lam_I": 0.0}


# ---------------------------------------------------------------------------
# builder
# ---------------------------------------------------------------------------
def _per_sample(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or value < 0:
        raise ValueError(f"{name} must be a finite non-negative learning rate per sample, "
                         f"got {value!r}")
    return float(value)


def _mixing(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a mixing factor in [0, 1], got {value!r}")
    return float(value)


def steady_state_init(layers, w_scale=6.0, seed=0):
    """Initial weights, drawn exactly as the NumPy reference draws them.

    ``W``, then ``B``, ``IP``, ``PI`` (reference order ``W, B, WIP, WPI``),
    each ``U(-a, a)`` with ``a = w_scale/sqrt(n_pre)``, from
    ``numpy.random.default_rng(seed)``; then the self-predicting state of the
    steady-state mode, ``IP_k = W_{k+1}``, ``PI_k = -B_k``. The same seed
    gives the same weights as ``ReferenceMicrocircuit(layers, w_scale=w_scale,
    seed=seed)`` followed by ``init_self_predicting('steady_state')``.

    Returns
    -------
    dict
        Family name -> ``(n_post, n_pre)`` matrix.
    """
    layers = _check_layers(layers)
    L = len(layers) - 1
    rng = np.random.default_rng(seed)

    def draw(rows, cols):
        a = w_scale / np.sqrt(cols)
        return rng.uniform(-a, a, size=(rows, cols))

    out = {f"W{k}": draw(layers[k], layers[k - 1]) for k in range(1, L + 1)}
    for fam, shp in (("B", lambda k: (layers[k], layers[k + 1])),
                     ("IP", lambda k: (layers[k + 1], layers[k])),
                     ("PI", lambda k: (layers[k], layers[k + 1]))):
        for k in range(1, L):
            out[f"{fam}{k}"] = draw(*shp(k))
    for k in range(1, L):
        out[f"IP{k}"] = out[f"W{k + 1}"].copy()
        out[f"PI{k}"] = -out[f"B{k}"]
    return out


def steady_state_microcircuit(
    layers,
    n_samples: int,
    activation: str = "logistic",
    eta_PP=0.1,
    eta_IP=0.03,
    lam_out=STEADY_STATE_DEFAULTS["lam_out"],
    lam_A=STEADY_STATE_DEFAULTS["lam_A"],
    lam_I=STEADY_STATE_DEFAULTS["lam_I"],
    weights: dict | None = None,
    w_scale: float = 6.0,
    self_predicting: bool = True,
    seed: int = 0,
    t_sample=1 * ms,
) -> Circuit:
    """Build the steady-state (two-step) microcircuit: one time step per sample.

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, n_h1, ..., n_out]`` (paper MNIST: 784-500-500-10).
    n_samples : int
        Samples per run (rows of the TimedArrays; fixed at build time).
    activation : str
        Rate function of pyramids and interneurons (paper: ``'logistic'``).
    eta_PP : float or sequence of float
        Forward learning rate per sample, one value or one per layer
        ``W1..WL`` (the same rate trains the layer's bias).
    eta_IP : float
        Pyramid-to-interneuron learning rate per sample (and interneuron bias).
    lam_out, lam_A, lam_I : float in [0, 1]
        Mixing factors (defaults: conductance ratios 0.8/1.9, 0.8/1.9, 0; see
        :func:`steady_state_lambdas`). All are run-time variables.
    weights : dict, optional
        Initial ``(n_post, n_pre)`` matrices by family (``W{k}``, ``B{k}``,
        ``IP{k}``, ``PI{k}``); missing ones come from :func:`steady_state_init`.
    w_scale : float
        Initial weights ``U(-a, a)``, ``a = w_scale/sqrt(n_pre)`` (default 6).
    self_predicting : bool
        Start with ``IP_k = W_{k+1}``, ``PI_k = -B_k`` (unless given in
        ``weights``).
    seed : int
        Seed of the initial weights.
    t_sample : Quantity (second)
        Simulated time per sample: the time step ``dt`` the circuit must be
        run with. Learning rates become ``eta/t_sample`` variables.

    Returns
    -------
    Circuit
        ``info`` holds ``layers``, ``n_samples``, ``t_sample``,
        ``initial_weights``, ``schedule`` (:func:`steady_state_schedule`) and
        ``mode='steady_state'``.

    Raises
    ------
    ValueError, TypeError, KeyError
        For invalid sizes, rates, mixing factors or weight matrices.
    """
    layers = _check_layers(layers)
    L = len(layers) - 1
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    if not isinstance(t_sample, Quantity) or t_sample.dim != second.dim or float(t_sample) <= 0:
        raise ValueError(f"t_sample must be a positive time (e.g. 1*ms), got {t_sample!r}")
    if activation not in models.ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(models.ACTIVATIONS)}, got {activation!r}")
    if isinstance(eta_PP, (str, bytes)):
        raise ValueError(f"eta_PP must be a number or a sequence of numbers, got {eta_PP!r}")
    etas = list(eta_PP) if np.ndim(eta_PP) else [eta_PP] * L
    if len(etas) != L:
        raise ValueError(f"eta_PP needs one value or {L} (one per layer), got {len(etas)}")
    etas = [_per_sample(e, f"eta_PP[{i}]") for i, e in enumerate(etas)]
    eta_IP = _per_sample(eta_IP, "eta_IP")
    lam_out, lam_A, lam_I = (_mixing(v, n) for v, n in ((lam_out, "lam_out"), (lam_A, "lam_A"),
                                                        (lam_I, "lam_I")))
    if not isinstance(w_scale, numbers.Real) or not np.isfinite(w_scale) or w_scale < 0:
        raise ValueError(f"w_scale must be a finite non-negative number, got {w_scale!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    shapes = weight_shapes(layers)
    weights = check_weights(weights, shapes)
    init = steady_state_init(layers, w_scale=w_scale, seed=seed)
    if not self_predicting:  # independent draws for IP and PI
        rng = np.random.default_rng([seed, 1])
        for k in range(1, L):
            for fam in ("IP", "PI"):
                n_post, n_pre = shapes[f"{fam}{k}"]
                a = w_scale / np.sqrt(n_pre)
                init[f"{fam}{k}"] = rng.uniform(-a, a, size=(n_post, n_pre))
    init.update(weights)
    if self_predicting:
        for k in range(1, L):
            if f"IP{k}" not in weights:
                init[f"IP{k}"] = init[f"W{k + 1}"].copy()
            if f"PI{k}" not in weights:
                init[f"PI{k}"] = -init[f"B{k}"]

    rate = lambda e: e / t_sample  # noqa: E731 - per-sample rate -> 1/second
    objs = {}
    x_in = TimedArray(np.zeros((n_samples, layers[0])), dt=t_sample, name="x_in")
    u_target = TimedArray(np.zeros((n_samples, layers[-1])), dt=t_sample, name="u_target")
    nudge_in = TimedArray(np.zeros(n_samples), dt=t_sample, name="nudge_in")
    learn_in = TimedArray(np.ones(n_samples), dt=t_sample, name="learn_in")
    objs.update(x_in=x_in, u_target=u_target, nudge_in=nudge_in, learn_in=learn_in)

    # the input's rate is called r_bu like every bottom-up rate the rules read
    inp = NeuronModel("steady_state_input", "r_bu : 1  # input rate, set once per step",
                      reference="input layer").make_group(layers[0], name="inp")
    inp.run_regularly("r_bu = x_in(t, i)", when="start", order=-1, name="inp_drive")
    objs["inp"] = inp
    pyr_model = steady_state_pyramidal(activation)
    int_model = steady_state_interneuron(activation)
    pyrs = [inp]
    for k in range(1, L + 1):
        p = pyr_model.make_group(layers[k], name=f"pyr{k}", lam_A=lam_A if k < L else 0.0,
                                 lam_out=lam_out, eta_b=rate(etas[k - 1]))
        p.run_regularly("learn = learn_in(t)", when="start", order=-1, name=f"pyr{k}_learn")
        p.run_regularly(pyr_model.sweeps["bottom_up"], when="groups", order=_bu_order(k) + 1,
                        name=f"pyr{k}_bottom_up")
        p.run_regularly(pyr_model.sweeps["top_down"], when="groups", order=_td_order(k, L) + 3,
                        name=f"pyr{k}_top_down")
        objs[p.name] = p
        pyrs.append(p)
    out = pyrs[-1]
    out.run_regularly("nudge = nudge_in(t)\nu_tgt = u_target(t, i)", when="start", order=-1,
                      name="teacher")
    ints = [None]
    for k in range(1, L):
        n = int_model.make_group(layers[k + 1], name=f"int{k}", lam_I=lam_I, eta_b=rate(eta_IP))
        n.r_T = linked_var(pyrs[k + 1], "r_bu")
        n.u_T = linked_var(pyrs[k + 1], "u")
        n.run_regularly("learn = learn_in(t)", when="start", order=-1, name=f"int{k}_learn")
        n.run_regularly(int_model.sweeps["bottom_up"], when="groups",
                        order=_bu_order(k + 1) + 3, name=f"int{k}_bottom_up")
        n.run_regularly(int_model.sweeps["top_down"], when="groups", order=_td_order(k, L),
                        name=f"int{k}_top_down")
        objs[n.name] = n
        ints.append(n)

    families = {}
    upd = _update_order(L)

    def project(name, model, pre, post, W, summed_order, **params):
        syn = model.make_synapses(pre, post, name=name, order=upd, connect=True, **params)
        syn.w = matrix_to_synapses(W)
        for su in syn.summed_updaters.values():
            su.order = summed_order
        families[name] = (name, len(post), len(pre))
        objs[name] = syn

    for k in range(1, L + 1):
        project(f"W{k}", steady_state_rule("v_B"), pyrs[k - 1], pyrs[k], init[f"W{k}"],
                _bu_order(k), eta=rate(etas[k - 1]))
    for k in range(1, L):
        project(f"IP{k}", steady_state_rule("v_I"), pyrs[k], ints[k], init[f"IP{k}"],
                _bu_order(k + 1) + 2, eta=rate(eta_IP))
        project(f"B{k}", fixed_projection("v_A_td"), pyrs[k + 1], pyrs[k], init[f"B{k}"],
                _td_order(k, L) + 1)
        project(f"PI{k}", fixed_projection("v_A_int"), ints[k], pyrs[k], init[f"PI{k}"],
                _td_order(k, L) + 2)

    objs["out_mon"] = StateMonitor(out, ["u_bu", "r_bu", "u"], record=True, when="end", order=0,
                                   name="out_mon")
    return Circuit(
        objects=objs,
        weights=families,
        info=dict(layers=layers, n_samples=int(n_samples), t_sample=t_sample,
                  activation=activation, mode="steady_state", initial_weights=init,
                  schedule=steady_state_schedule(L), lambdas=dict(lam_out=lam_out, lam_A=lam_A,
                                                                  lam_I=lam_I),
                  eta_PP=etas, eta_IP=eta_IP),
    )
