"""Deep Feedback Control (Meulemans et al. 2021) as one Brian2 network.

Layers ``[n_0, n_1, ..., n_L]``: an input group ``inp``, layer groups
``nrn1..nrnL`` (:func:`~brian_dendrites.models.dfc_neuron`), a controller
``ctrl`` with one unit per output (:func:`~brian_dendrites.models.dfc_controller`),
plastic forward projections ``W{k}`` (``inp``/``nrn{k-1}`` -> ``nrn{k}``,
:func:`~brian_dendrites.models.dfc_forward`) and feedback projections
``Q{k}`` (``ctrl`` -> ``nrn{k}``, :func:`~brian_dendrites.models.dfc_feedback`),
all on the dense C++ path.

One sample is ``n_steps`` time steps of ``dt`` (a slot of ``t_slot =
n_steps*dt``). Per step (the schedule, :func:`dfc_schedule`):

1. ``start``: the circuit reads the sample (``inp.r = x_in(t, i)``,
   ``ctrl.y = y_target(t, i)``, ``learn = learn_in(t)``) and the step's
   place in the sample (``first``, ``avg``, ``last``);
2. ``ctrl`` control: the error of the last step, the PI control signal ``u``;
3. for ``k = 1..L``: ``v_B = W_k r_{k-1}`` and ``qu = Q_k u`` (summed), then
   the layer's Euler step (apical, soma, rate, learning factor, bias);
4. ``ctrl`` target: on the first step, ``r_ff = r_L`` and ``r* = r_L - lam dL/dr_L``
   (``loss='mse'``: ``r_L - y``; ``loss='xent'``: ``softmax(r_L) - y``, the softmax
   summed over the output units by the ``S`` synapses just before);
5. weight updates: ``W_k += eta g r_{k-1}``, ``Q_k += fb (-v_A u - beta_fb Q_k)``.

The forward weights stay fixed during the phase: the changes accumulate and
are applied on its last step (the dense update does not touch ``w`` on the
other steps, ``connect_dense(..., write_gate=...)``). The first layer's input
is constant over the phase, so ``W1`` has the held-input form
(:func:`~brian_dendrites.models.dfc_forward` with ``held_input=True``): its
sum is taken on the first step and held, its change ``G x^T`` applied on the
last; the dense loops skip its rows on all other steps (row gate ``inp.rg``).

References
----------
.. [1] Meulemans et al. (2021), NeurIPS 34.
"""

from __future__ import annotations

import numpy as np
from brian2 import StateMonitor, TimedArray, linked_var, ms

import brian_dendrites.models as models

from .._validation import (
    check_array,
    check_choice,
    check_int,
    check_layers,
    check_nonnegative,
    check_real,
    check_seed,
    check_time,
)
from ..dense import connect_dense
from . import base
from .base import Circuit, Readout, WeightFamily

__all__ = ["dfc_network", "dfc_schedule", "dfc_weight_shapes", "dfc_initial_weights",
           "control_errors", "CONTROL_READOUTS", "DFC_INPUTS", "DFC_ACTIVATIONS", "DFC_LOSSES"]

#: Role -> TimedArray name of a DFC circuit.
DFC_INPUTS = {"x": "x_in", "target": "y_target", "learn": "learn_in"}

#: Output losses (the models' ``DFC_LOSSES``).
DFC_LOSSES = models.DFC_LOSSES

#: Activations a DFC layer may use.
DFC_ACTIVATIONS = ("tanh", "linear", "logistic", "relu")

_UPDATE = 1000

#: Per-sample values at the end of each feedback phase (the output monitor records
#: them at every slot start, i.e. at the end of the previous sample).
CONTROL_READOUTS = {name: Readout(monitor="out_mon", variable=name, final=f"ctrl.{name}")
                    for name in ("r_ff", "r_star", "err")}


def control_errors(result) -> np.ndarray:
    """How far each sample's controller got: ``|r* - r_L|`` at the end over ``|r* - r_ff|``.

    A converged controller leaves ``alpha |u|`` of the output error (a small
    fraction); an unstable one (feedback ``Q`` violating the stability
    condition) leaves a large or non-finite one.

    Parameters
    ----------
    result : RunResult
        A run of a :func:`dfc_network` circuit that read
        ``CONTROL_READOUTS[name].keys`` (``out_mon.err``, ``ctrl.err``, ...).

    Returns
    -------
    ndarray, shape (n_samples,)
        Relative final control error per sample (NaN where the output
        target equals the feed-forward output).
    """
    err = CONTROL_READOUTS["err"].read(result)
    delta = CONTROL_READOUTS["r_star"].read(result) - CONTROL_READOUTS["r_ff"].read(result)
    num, den = np.linalg.norm(err, axis=1), np.linalg.norm(delta, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 1e-12, num / np.where(den > 0, den, 1.0), np.nan)
    return np.where(np.isfinite(num), out, np.inf)


def _layer_order(k):
    return 10 * k


def dfc_schedule(L, noise=True):
    """The per-step schedule of a DFC circuit with ``L`` layers (``noise``: as ``dfc_network``).

    Returns
    -------
    list of tuple
        ``(when, order, object, what)`` rows in execution order.

    Examples
    --------
    >>> [row[2] for row in dfc_schedule(1)]  # doctest: +NORMALIZE_WHITESPACE
    ['out_mon', 'inp_drive, nrn*_flags, ctrl_flags', 'ctrl control', 'W1, Q1 (summed)',
     'nrn1 noise', 'nrn1 soma', "S (summed, loss 'xent' only)", 'ctrl target',
     'W*, Q* (state update)']
    """
    L = check_int(L, "L", minimum=1)
    rows = [("start", -1, "inp_drive, nrn*_flags, ctrl_flags",
             "r = x_in(t, i); y = y_target(t, i); learn = learn_in(t); first, avg, last"),
            ("groups", 0, "ctrl control", "err, u_int, u = u_int + k_p err")]
    for k in range(1, L + 1):
        o = _layer_order(k)
        prev = "inp" if k == 1 else f"nrn{k - 1}"
        basal = ("nrn1.v_B0 = W1 inp.rg (rows skipped but on the first and last steps; "
                 "held in v_B)" if k == 1 else f"nrn{k}.v_B = W{k} {prev}.r")
        rows += [("groups", o, f"W{k}, Q{k} (summed)", f"{basal}; nrn{k}.qu = Q{k} ctrl.u"),
                 ("groups", o + 1, f"nrn{k} soma", "v_A, v, r = phi(v), g, b, fb")]
        if noise:
            rows.append(("groups", o + 0.5, f"nrn{k} noise",
                         "noise_A = sigma sqrt(dt tau_u)/tau_A randn()"))
    rows += [("groups", _layer_order(L + 1) - 1, "S (summed, loss 'xent' only)",
              "ctrl.Z = sum_j exp(r_L_j - r_L)"),
             ("groups", _layer_order(L + 1), "ctrl target", "r_ff, r_star (first step)"),
             ("groups", _UPDATE, "W*, Q* (state update)",
              "dw_acc += eta g r_pre, last step: w += dw_acc (W1: w += G rg_pre; w is not "
              "touched on the other steps); Q += fb (-v_A u - beta_fb Q)"),
             ("start", -10, "out_mon",
              "record ctrl.r_ff, r_star, err at every slot start (the previous sample's end)")]
    rows.sort(key=lambda row: (("start", "groups").index(row[0]), row[1]))
    return rows


def dfc_weight_shapes(layers) -> dict:
    """Family -> ``(n_post, n_pre)``: ``W{k}`` forward, ``Q{k}`` feedback.

    Examples
    --------
    >>> dfc_weight_shapes([4, 3, 2])
    {'W1': (3, 4), 'Q1': (3, 2), 'W2': (2, 3), 'Q2': (2, 2)}
    """
    layers = check_layers(layers)
    out = {}
    for k in range(1, len(layers)):
        out[f"W{k}"] = (layers[k], layers[k - 1])
        out[f"Q{k}"] = (layers[k], layers[-1])
    return out


def dfc_initial_weights(layers, seed=0, feedback="weight_product") -> dict:
    """Xavier-normal forward weights and feedback weights ``Q``.

    Parameters
    ----------
    layers : sequence of int
    seed : int
    feedback : {'weight_product', 'random'}
        ``Q_k = W_{k+1}^T ... W_L^T`` (``Q_L = I``; the paper's initialisation
        of its fixed-feedback variants) or Xavier-normal.

    Returns
    -------
    dict
        ``W{k}`` and ``Q{k}`` matrices of :func:`dfc_weight_shapes`.
    """
    layers = check_layers(layers)
    feedback = check_choice(feedback, "feedback", ("weight_product", "random"))
    rng = np.random.default_rng(check_seed(seed, allow_none=False))
    L = len(layers) - 1
    out = {}
    for k in range(1, L + 1):
        n_post, n_pre = layers[k], layers[k - 1]
        out[f"W{k}"] = rng.normal(0.0, np.sqrt(2.0 / (n_pre + n_post)), (n_post, n_pre))
    if feedback == "weight_product":
        out[f"Q{L}"] = np.eye(layers[-1])
        for k in range(L - 1, 0, -1):
            out[f"Q{k}"] = out[f"W{k + 1}"].T @ out[f"Q{k + 1}"]
    else:
        for k in range(1, L + 1):
            out[f"Q{k}"] = rng.normal(0.0, np.sqrt(2.0 / (layers[k] + layers[-1])),
                                      (layers[k], layers[-1]))
    return out


def dfc_network(layers, n_samples, *, n_steps=1000, dt=0.02 * ms, activation="tanh",
                output_activation="linear", weights=None, biases=None, feedback="weight_product",
                seed=0, tau_v=0.2 * ms, tau_A=None, tau_u=1 * ms, alpha=0.0015, k_p=1.5,
                lam=0.05, eta=0.0, learn_fb=0, eta_fb=0.0, beta_fb=0.0, sigma=0.0, ss=0,
                loss="mse", noise=True, record_steps=False) -> Circuit:
    """Build a Deep Feedback Control network as one Brian2 network.

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, n_1, ..., n_L]``.
    n_samples : int
        Samples (slots of ``n_steps`` steps) per run.
    n_steps : int >= 2
        Time steps per sample: the feed-forward sweep and ``n_steps - 1``
        controlled steps (the feedback phase).
    dt : Quantity (second)
        Time step (paper: 0.02 of the controller's time constant).
    activation, output_activation : str
        Hidden and output rate functions (paper: ``'tanh'``, ``'linear'``).
    loss : {'mse', 'xent'}
        Output loss whose gradient step sets the output target: squared
        error of the output rates, or cross-entropy of their softmax (the
        paper's classification loss; use a linear output).
    weights : dict, optional
        Initial ``W{k}`` and ``Q{k}`` as ``(n_post, n_pre)`` matrices
        (:func:`dfc_weight_shapes`); missing ones come from
        :func:`dfc_initial_weights` with ``seed`` and ``feedback``.
    biases : list of ndarray, optional
        Initial biases per layer (default 0).
    feedback : {'weight_product', 'random'}
        Initial ``Q`` when not given.
    seed : int
        Seed of the drawn weights.
    tau_v, tau_A, tau_u : Quantity (second)
        Somatic, apical and controller time constants (``tau_A`` default
        ``dt``: an instantaneous apical compartment).
    alpha, k_p, lam : float
        Controller leak (> 0), proportional gain, output target step.
    eta : float or sequence of float
        Forward learning rate per sample, one value or one per layer.
    learn_fb : {0, 1}
        1: the feedback weights learn (the sleep phase; usually a run value).
    eta_fb, beta_fb, sigma : float
        Feedback learning rate, its weight decay, apical noise.
    ss : {0, 1}
        0: DFC (update averaged over the feedback phase), 1: DFC-SS.
    noise : bool
        Build the apical noise (needed by the sleep phase, whose ``sigma``
        is a run value). ``False`` leaves out its per-step random draws
        (about 14 % of a step of a 784-256-256-256-10 network, even at
        ``sigma = 0``) and the parameters ``nrn{k}.sigma`` and
        ``nrn{k}.tau_u`` (a run value for them is then an unknown name);
        ``sigma`` must then be 0.
    record_steps : bool
        Also record ``ctrl.u``, ``ctrl.err`` and the output rates at every
        step (monitor ``step_mon``; memory grows with ``n_samples*n_steps``).

    Returns
    -------
    Circuit
        Roles ``x``, ``target``, ``learn``; readout: the feed-forward output
        ``r_ff`` of every sample. Every parameter above except sizes,
        ``n_steps`` and ``dt`` is a run value (``'nrn{k}.eta'``,
        ``'ctrl.alpha'``, ...).

    Raises
    ------
    TypeError, ValueError, KeyError, DimensionMismatchError
        For invalid sizes, parameters or weights (naming the argument).
    """
    layers = check_layers(layers)
    L = len(layers) - 1
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_steps = check_int(n_steps, "n_steps", minimum=2)
    dt = check_time(dt, "dt")
    activation = check_choice(activation, "activation", DFC_ACTIVATIONS)
    output_activation = check_choice(output_activation, "output_activation", DFC_ACTIVATIONS)
    loss = check_choice(loss, "loss", DFC_LOSSES)
    tau_v, tau_u = check_time(tau_v, "tau_v"), check_time(tau_u, "tau_u")
    tau_A = dt if tau_A is None else check_time(tau_A, "tau_A")
    alpha = check_real(alpha, "alpha", 0, None, low_open=True)
    k_p, lam = check_nonnegative(k_p, "k_p"), check_nonnegative(lam, "lam")
    etas = np.broadcast_to(np.asarray(eta, dtype=float), (L,)) if np.ndim(eta) == 0 else eta
    etas = [check_nonnegative(float(e), f"eta[{i}]") for i, e in enumerate(etas)]
    if len(etas) != L:
        raise ValueError(f"eta: expected one value or {L} (one per layer), got {len(etas)}")
    eta_fb, beta_fb = check_nonnegative(eta_fb, "eta_fb"), check_nonnegative(beta_fb, "beta_fb")
    sigma = check_nonnegative(sigma, "sigma")
    noise = check_choice(noise, "noise", (True, False))
    if not noise and sigma > 0:
        raise ValueError(f"sigma={sigma!r} needs noise=True (the circuit would not draw the noise)")
    ss = check_choice(ss, "ss", (0, 1))
    learn_fb = check_choice(learn_fb, "learn_fb", (0, 1))
    shapes = dfc_weight_shapes(layers)
    weights = base.check_weights(weights, shapes)
    init = dfc_initial_weights(layers, seed, feedback)
    init.update(weights)
    if biases is None:
        biases = [np.zeros(n) for n in layers[1:]]
    if not isinstance(biases, (list, tuple)) or len(biases) != L:
        raise ValueError(f"biases: expected a list of {L} arrays (one per layer)")
    biases = [check_array(b, f"biases[{k}]", shape=(layers[k + 1],)) for k, b in enumerate(biases)]

    t_slot = n_steps * dt
    objs = {
        "x_in": TimedArray(np.zeros((n_samples, layers[0])), dt=t_slot, name="x_in"),
        "y_target": TimedArray(np.zeros((n_samples, layers[-1])), dt=t_slot, name="y_target"),
        "learn_in": TimedArray(np.ones(n_samples), dt=t_slot, name="learn_in"),
    }
    step = f"(timestep(t, dt) % {n_steps})"
    flags = (f"first = int({step} == 0)\navg = (1 - first)/{n_steps - 1}.0\n"
             f"last = int({step} == {n_steps - 1})")
    inp = models.dfc_input().make_group(layers[0], name="inp")
    # rg: the input on the phase's first and last steps (W1's row gate: its input is constant
    # over the phase, so its sum is taken on the first step and its change applied on the last)
    inp.run_regularly(f"r = x_in(t, i)\nrg = r*(int({step} == 0) + int({step} == {n_steps - 1}))",
                      when="start", order=-1, name="inp_drive")
    objs["inp"] = inp
    ctrl = models.dfc_controller(loss).make_group(
        layers[-1], name="ctrl", update_orders={"control": ("groups", 0),
                                               "target": ("groups", _layer_order(L + 1))},
        tau_u=tau_u, alpha=alpha, k_p=k_p, lam=lam)
    ctrl.run_regularly(f"{flags}\ny = y_target(t, i)", when="start", order=-1, name="ctrl_flags")
    objs["ctrl"] = ctrl

    families = {}
    prev = inp
    for k in range(1, L + 1):
        o = _layer_order(k)
        phi = output_activation if k == L else activation
        orders = {"soma": ("groups", o + 1)}
        noise_values = {}
        if noise:
            orders["noise"] = ("groups", o + 0.5)
            noise_values = dict(tau_u=tau_u, sigma=sigma)
        nrn = models.dfc_neuron(phi, held_input=k == 1, noise=noise).make_group(
            layers[k], name=f"nrn{k}", update_orders=orders,
            tau_v=tau_v, tau_A=tau_A, eta=etas[k - 1], eta_fb=eta_fb, learn_fb=float(learn_fb),
            beta_fb=beta_fb, ss=float(ss), **noise_values)
        nrn.b = biases[k - 1]
        nrn.run_regularly(f"{flags}\nlearn = learn_in(t)", when="start", order=-1,
                          name=f"nrn{k}_flags")
        objs[nrn.name] = nrn
        # the weights change on the phase's last step only: the dense update leaves them
        # alone on the other steps (write_gate); W1, whose input is constant over the
        # phase, has the held-input form: its rows are skipped on every step but the
        # first (sum) and the last (update)
        w = models.dfc_forward(held_input=k == 1).make_synapses(prev, nrn, name=f"W{k}",
                                                                order=_UPDATE)
        connect_dense(w, row_gate="rg" if k == 1 else None, write_gate=("last_post", ["w"]))
        w.w = base.matrix_to_synapses(init[f"W{k}"])
        q = models.dfc_feedback().make_synapses(ctrl, nrn, name=f"Q{k}", order=_UPDATE,
                                                connect=True)
        q.w = base.matrix_to_synapses(init[f"Q{k}"])
        for syn in (w, q):
            for su in syn.summed_updaters.values():
                su.order = o
        objs.update({w.name: w, q.name: q})
        families[f"W{k}"] = True
        families[f"Q{k}"] = True
        prev = nrn
    ctrl.r_L = linked_var(prev, "r")
    if loss == "xent":
        soft = models.dfc_softmax().make_synapses(ctrl, ctrl, name="S", connect=True)
        for su in soft.summed_updaters.values():
            su.order = _layer_order(L + 1) - 1
        objs["S"] = soft

    objs["out_mon"] = StateMonitor(ctrl, ["r_ff", "r_star", "err"], record=True, dt=t_slot,
                                   when="start", order=-10, name="out_mon")
    if record_steps:
        objs["step_mon"] = StateMonitor(ctrl, ["u", "err", "r_L"], record=True, when="end",
                                        name="step_mon")
    return Circuit(
        objects=objs,
        inputs=dict(DFC_INPUTS),
        readout=Readout(monitor="out_mon", variable="r_ff", final="ctrl.r_ff"),
        weights={name: WeightFamily(name, name, tuple(shapes[name]), init[name], plastic=plastic)
                 for name, plastic in families.items()},
        n_slots=n_samples, t_slot=t_slot, dt=dt, schedule=dfc_schedule(L, noise),
        info=dict(layers=layers, n_steps=n_steps, activation=activation,
                  output_activation=output_activation, alpha=alpha, k_p=k_p, lam=lam,
                  eta=etas, eta_fb=eta_fb, beta_fb=beta_fb, sigma=sigma, ss=ss, loss=loss,
                  noise=noise, mode="dfc"),
    )
