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
- ``pyr1 .. pyrL``: pyramids (:func:`~brian_dendrites.models.steady_state_pyramidal`); ``pyrL`` reads
  ``u_tgt = u_target(t, i)`` and ``nudge = nudge_in(t)``;
- ``int1 .. int{L-1}``: interneurons (:func:`~brian_dendrites.models.steady_state_interneuron`), each
  linked one-to-one to its partner pyramid of layer ``k + 1``
  (``r_T``, ``u_T`` are ``linked_var`` of ``pyr{k+1}.r_bu`` / ``.u``);
- ``W{k}``, ``IP{k}``: plastic all-to-all projections
  (:func:`~brian_dendrites.models.steady_state_rule`), ``B{k}``, ``PI{k}``: fixed ones
  (:func:`~brian_dendrites.models.fixed_projection`), all connected with
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

import numpy as np
from brian2 import StateMonitor, linked_var, ms

import brian_dendrites.models as models
from brian_dendrites.dense import batch_mean
from brian_dendrites.models import (
    STEADY_STATE_DEFAULTS,
    fixed_projection,
    steady_state_interneuron,
    steady_state_pyramidal,
    steady_state_rule,
)
from brian_dendrites.spec import NeuronModel

from .._validation import (
    check_bool,
    check_choice,
    check_int,
    check_nonnegative,
    check_probability,
    check_rate,
    check_seed,
    check_time,
)
from . import base
from ._shapes import check_layers as _check_layers
from ._shapes import weight_shapes
from .base import Circuit, Readout, WeightFamily

__all__ = [
    "steady_state_microcircuit",
    "steady_state_schedule",
    "steady_state_lambdas",
    "steady_state_init",
    "STEADY_STATE_DEFAULTS",
]

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
    L = check_int(L, "L", minimum=1)
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


def steady_state_lambdas(conductances=None) -> dict:
    """Mixing factors equal to conductance ratios (the paper's choice).

    Parameters
    ----------
    conductances : dict, optional
        Overrides of ``g_L, g_B, g_A, g_som`` (Quantities, 1/time) of
        :func:`~brian_dendrites.circuits.microcircuit.default_conductances`.

    Returns
    -------
    dict
        ``lam_out = g_som/(g_L + g_B + g_som)``, ``lam_A = g_A/(g_L + g_B +
        g_A)`` (both 0.421 with the defaults), ``lam_I = 0``.

    Examples
    --------
    >>> {k: round(v, 3) for k, v in steady_state_lambdas().items()}
    {'lam_out': 0.421, 'lam_A': 0.421, 'lam_I': 0.0}
    """
    from .microcircuit import _conductances

    g = {k: float(v * ms) for k, v in _conductances(conductances, "logistic").items()}
    return {"lam_out": g["g_som"] / (g["g_L"] + g["g_B"] + g["g_som"]),
            "lam_A": g["g_A"] / (g["g_L"] + g["g_B"] + g["g_A"]),
            "lam_I": 0.0}


# ---------------------------------------------------------------------------
# builder
# ---------------------------------------------------------------------------
def steady_state_init(layers, weight_scale=6.0, seed=0):
    """Initial weights, drawn exactly as the NumPy reference draws them.

    ``W``, then ``B``, ``IP``, ``PI`` (the reference's order), each
    ``U(-a, a)`` with ``a = weight_scale/sqrt(n_pre)``, from
    ``numpy.random.default_rng(seed)``; then the self-predicting state of the
    steady-state mode, ``IP_k = W_{k+1}``, ``PI_k = -B_k``. The same seed
    gives the same weights as ``ReferenceMicrocircuit(layers,
    weight_scale=weight_scale, seed=seed)`` followed by
    ``init_self_predicting('steady_state')``.

    Returns
    -------
    dict
        Family name -> ``(n_post, n_pre)`` matrix.
    """
    layers = _check_layers(layers)
    L = len(layers) - 1
    rng = np.random.default_rng(seed)

    def draw(rows, cols):
        a = weight_scale / np.sqrt(cols)
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
    *,
    activation: str = "logistic",
    eta_PP=0.1 / ms,
    eta_IP=0.03 / ms,
    lam_out=None,
    lam_A=None,
    lam_I=None,
    weights: dict | None = None,
    weight_scale: float = 6.0,
    self_predicting: bool = True,
    seed: int = 0,
    t_sample=1 * ms,
    batch_size: int = 1,
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
    eta_PP : Quantity (1/second) or sequence of Quantity
        Forward learning rate, one value or one per layer ``W1..WL`` (the
        same rate trains the layer's bias). One sample (one time step)
        changes a weight by ``eta_PP * t_sample`` times the rule's update:
        ``0.1/ms`` with ``t_sample = 1 ms`` is 0.1 per sample.
    eta_IP : Quantity (1/second)
        Pyramid-to-interneuron learning rate (and interneuron bias).
    lam_out, lam_A, lam_I : float in [0, 1], optional
        Mixing factors (defaults: the models' parameters, conductance ratios
        0.8/1.9, 0.8/1.9, 0; see :func:`steady_state_lambdas`). All are
        run-time variables.
    weights : dict, optional
        Initial ``(n_post, n_pre)`` matrices by family (``W{k}``, ``B{k}``,
        ``IP{k}``, ``PI{k}``); missing ones come from :func:`steady_state_init`.
    weight_scale : float
        Initial weights ``U(-a, a)``, ``a = weight_scale/sqrt(n_pre)`` (default 6).
    self_predicting : bool
        Start with ``IP_k = W_{k+1}``, ``PI_k = -B_k`` (unless given in
        ``weights``).
    seed : int
        Seed of the initial weights.
    t_sample : Quantity (second)
        Simulated time per sample (per mini-batch if ``batch_size > 1``):
        the time step ``dt`` the circuit must be run with.
    batch_size : int >= 1
        Samples processed side by side in one step (the paper's MNIST run
        used mini-batches of 10). Every group holds ``batch_size`` copies
        of its neurons (sample-major); every projection keeps one weight
        matrix, computes the sums of all copies in one pass over it and
        changes it by the batch *mean* of the per-sample updates (the
        biases too, :func:`brian_dendrites.dense.batch_mean`), as
        :meth:`~brian_dendrites.reference.ReferenceMicrocircuit.steady_state_step`
        does with a mini-batch. ``n_samples`` must be a multiple of it;
        ``batch_size > 1`` runs only on ``cpp_standalone`` (dense path).
        ``1`` (default) is the online circuit.

    Returns
    -------
    Circuit
        One slot of one time step per sample (per mini-batch); roles ``x``,
        ``target``, ``nudge``, ``learn`` (with batches: ``(n_samples /
        batch_size, batch_size * n)`` rows, sample-major, and ``learn`` one
        weight per sample, see :func:`~brian_dendrites.circuits.base.supervised_inputs`);
        readout: the output ``u_bu`` of the bottom-up sweep (one row of all
        copies per slot); ``schedule``: :func:`steady_state_schedule`.

    Raises
    ------
    ValueError, TypeError, KeyError, DimensionMismatchError
        For invalid sizes, rates, mixing factors or weight matrices.
    """
    layers = _check_layers(layers)
    L = len(layers) - 1
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    B = check_int(batch_size, "batch_size", minimum=1)
    if n_samples % B:
        raise ValueError(f"n_samples ({n_samples}) must be a multiple of batch_size ({B})")
    n_steps = n_samples // B
    check_time(t_sample, "t_sample")
    check_choice(activation, "activation", sorted(models.ACTIVATIONS))
    etas = list(eta_PP) if isinstance(eta_PP, (list, tuple)) else [eta_PP] * L
    if len(etas) != L:
        raise ValueError(f"eta_PP needs one value or {L} (one per layer), got {len(etas)}")
    etas = [check_rate(e, f"eta_PP[{i}]") for i, e in enumerate(etas)]
    eta_IP = check_rate(eta_IP, "eta_IP")
    lam_out, lam_A, lam_I = (STEADY_STATE_DEFAULTS[n] if v is None else check_probability(v, n)
                             for v, n in ((lam_out, "lam_out"), (lam_A, "lam_A"), (lam_I, "lam_I")))
    weight_scale = check_nonnegative(weight_scale, "weight_scale")
    seed = check_seed(seed, allow_none=False)
    check_bool(self_predicting, "self_predicting")
    shapes = weight_shapes(layers)
    weights = base.check_weights(weights, shapes)
    init = steady_state_init(layers, weight_scale=weight_scale, seed=seed)
    if not self_predicting:  # independent draws for IP and PI
        rng = np.random.default_rng([seed, 1])
        for k in range(1, L):
            for fam in ("IP", "PI"):
                n_post, n_pre = shapes[f"{fam}{k}"]
                a = weight_scale / np.sqrt(n_pre)
                init[f"{fam}{k}"] = rng.uniform(-a, a, size=(n_post, n_pre))
    init.update(weights)
    if self_predicting:
        for k in range(1, L):
            if f"IP{k}" not in weights:
                init[f"IP{k}"] = init[f"W{k + 1}"].copy()
            if f"PI{k}" not in weights:
                init[f"PI{k}"] = -init[f"B{k}"]

    objs = base.supervised_inputs(n_steps, layers[0], layers[-1], t_sample, batch_size=B)
    learn_code = ("learn = learn_in(t)" if B == 1 else
                  "learn = learn_in(t, i // {n})")  # one weight per sample's copy

    # the input's rate is called r_bu like every bottom-up rate the rules read
    inp = NeuronModel("steady_state_input", "r_bu : 1  # input rate, set once per step",
                      reference="input layer").make_group(B * layers[0], name="inp")
    inp.run_regularly("r_bu = x_in(t, i)", when="start", order=-1, name="inp_drive")
    objs["inp"] = inp
    pyr_model = steady_state_pyramidal(activation)
    int_model = steady_state_interneuron(activation)
    pyrs = [inp]
    for k in range(1, L + 1):
        p = pyr_model.make_group(
            B * layers[k], name=f"pyr{k}",
            update_orders={"bottom_up": ("groups", _bu_order(k) + 1),
                           "top_down": ("groups", _td_order(k, L) + 3)},
            lam_A=lam_A if k < L else 0.0, lam_out=lam_out, eta_b=etas[k - 1])
        p.run_regularly(learn_code.format(n=layers[k]), when="start", order=-1,
                        name=f"pyr{k}_learn")
        objs[p.name] = p
        pyrs.append(p)
    out = base.drive_teacher(pyrs[-1])
    ints = [None]
    for k in range(1, L):
        n = int_model.make_group(
            B * layers[k + 1], name=f"int{k}",
            update_orders={"bottom_up": ("groups", _bu_order(k + 1) + 3),
                           "top_down": ("groups", _td_order(k, L))},
            lam_I=lam_I, eta_b=eta_IP)
        n.r_T = linked_var(pyrs[k + 1], "r_bu")
        n.u_T = linked_var(pyrs[k + 1], "u")
        n.run_regularly(learn_code.format(n=layers[k + 1]), when="start", order=-1,
                        name=f"int{k}_learn")
        objs[n.name] = n
        ints.append(n)

    families = {}
    upd = _update_order(L)

    def project(name, model, pre, post, W, summed_order, **params):
        syn = model.make_synapses(pre, post, name=name, order=upd, connect=True, batch_size=B,
                                  **params)
        syn.w = base.matrix_to_synapses(W)
        for su in syn.summed_updaters.values():
            su.order = summed_order
        families[name] = (name, len(post) // B, len(pre) // B)
        objs[name] = syn

    for k in range(1, L + 1):
        project(f"W{k}", steady_state_rule("v_B"), pyrs[k - 1], pyrs[k], init[f"W{k}"],
                _bu_order(k), eta=etas[k - 1])
    for k in range(1, L):
        project(f"IP{k}", steady_state_rule("v_I"), pyrs[k], ints[k], init[f"IP{k}"],
                _bu_order(k + 1) + 2, eta=eta_IP)
        project(f"B{k}", fixed_projection("v_A_td"), pyrs[k + 1], pyrs[k], init[f"B{k}"],
                _td_order(k, L) + 1)
        project(f"PI{k}", fixed_projection("v_A_int"), ints[k], pyrs[k], init[f"PI{k}"],
                _td_order(k, L) + 2)

    for group in pyrs[1:] + ints[1:]:  # learned biases: one value, the batch mean change
        batch_mean(group, ["b"], B, when="end", order=-1, name=f"{group.name}_batch_mean")
    objs["out_mon"] = StateMonitor(out, ["u_bu", "r_bu", "u"], record=True, when="end", order=0,
                                   name="out_mon")
    return Circuit(
        objects=objs,
        inputs=dict(base.SUPERVISED_INPUTS),
        readout=Readout(monitor="out_mon", variable="u_bu"),
        weights={name: WeightFamily(name, syn, tuple(shape), init[name], plastic=name[:1] in ("W", "I"))
                 for name, (syn, *shape) in families.items()},
        n_slots=int(n_steps), t_slot=t_sample, dt=t_sample, schedule=steady_state_schedule(L),
        info=dict(layers=layers, activation=activation, mode="steady_state", batch_size=B,
                  lambdas=dict(lam_out=lam_out, lam_A=lam_A, lam_I=lam_I),
                  eta_PP=etas, eta_IP=eta_IP),
    )
