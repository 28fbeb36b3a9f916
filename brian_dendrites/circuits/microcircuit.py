"""The dendritic cortical microcircuit of Sacramento et al. (2018) in Brian2.

Built only from the :mod:`brian_dendrites.models` strings:

- ``inp``: input rates ``r = x_in(t, i)`` (a 2-D TimedArray, one row per
  pattern, each held for ``t_pattern``);
- ``pyr1 .. pyrL``: pyramidal populations (hidden: soma, basal, apical;
  output ``pyrL``: ``g_A = 0``, nudged to ``u_target(t, i)`` while
  ``nudge_in(t) = 1``);
- ``int1 .. int{L-1}``: SST interneurons of hidden layer k, one per pyramid
  of layer k+1, nudged one-to-one by them (pathway ``T{k}``);
- weight families (all-to-all, dense): ``W{k}`` bottom-up into layer k
  (basal, rule eq. 7), ``B{k}`` top-down into layer k (apical, fixed or
  learned with eq. 10), ``IP{k}`` pyramids -> interneurons (eq. 8),
  ``PI{k}`` interneurons -> apical (eq. 9);
- ``out_mon``: the output somata and rates at the end of every pattern;
- TimedArrays (one row per pattern): ``x_in``, ``u_target``, ``nudge_in``
  (teacher on/off) and ``learn_in`` (1: plastic; 0 freezes all weights and
  traces, used to mask padding patterns out of learning).

Every learning rate is a variable: ``eta = 0`` through ``run_args`` switches a
rule off without a rebuild (e.g. for testing).
"""

from __future__ import annotations

import numbers

import numpy as np
from brian2 import Hz, Quantity, StateMonitor, TimedArray, ms, second

import brian_dendrites.models as models

from .base import Circuit, check_weights, matrix_to_synapses

__all__ = ["dendritic_microcircuit", "self_predicting_weights", "MICROCIRCUIT_DEFAULTS"]

#: Simulation modes built by :func:`dendritic_microcircuit`.
MODES = ("rate", "spiking", "steady_state")

#: Conductances (1/ms) and learning settings used by default (reimplementation
#: defaults, see ../shared/PAPERS.md section 1).
MICROCIRCUIT_DEFAULTS = dict(g_L=0.1, g_B=1.0, g_A=0.8, g_D=1.0, g_som=0.8, tau_w=30.0)


def _check_layers(layers):
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__"):
        raise TypeError(f"layers must be a sequence of layer sizes, got {layers!r}")
    layers = list(layers)
    if len(layers) < 2:
        raise ValueError(f"layers needs at least an input and an output size, got {layers}")
    for n in layers:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"layer sizes must be integers >= 1, got {layers}")
    return [int(n) for n in layers]


def weight_shapes(layers) -> dict:
    """Weight family -> ``(n_post, n_pre)`` for a microcircuit with ``layers``."""
    layers = _check_layers(layers)
    L = len(layers) - 1
    shapes = {}
    for k in range(1, L + 1):
        shapes[f"W{k}"] = (layers[k], layers[k - 1])
    for k in range(1, L):
        shapes[f"B{k}"] = (layers[k], layers[k + 1])
        shapes[f"IP{k}"] = (layers[k + 1], layers[k])
        shapes[f"PI{k}"] = (layers[k], layers[k + 1])
    return shapes


def self_predicting_weights(W: dict, B: dict, g_L=0.1, g_B=1.0, g_A=0.8, g_D=1.0) -> dict:
    """Interneuron weights of the self-predicting state (paper Fig. S1).

    ``PI_k = -B_k`` and ``IP_k = c W_{k+1}`` with ``c`` chosen so that the
    interneuron's dendritic prediction equals the partner pyramid's:
    ``g_D/(g_L+g_D) c = g_B/(g_L+g_B+g_A')`` (``g_A' = 0`` for the output
    layer). With no teacher the apical potentials then vanish.

    Parameters
    ----------
    W, B : dict
        ``{'W1': ..., 'W2': ...}`` and ``{'B1': ...}`` matrices ``(n_post, n_pre)``.
    g_L, g_B, g_A, g_D : float
        Conductances in 1/ms (only their ratios matter).

    Returns
    -------
    dict
        ``{'IP1': ..., 'PI1': ...}`` for every hidden layer.
    """
    L = len(W)
    out = {}
    for k in range(1, L):
        gA_next = g_A if k + 1 < L else 0.0
        c = (g_B / (g_L + g_B + gA_next)) / (g_D / (g_L + g_D))
        out[f"IP{k}"] = c * np.asarray(W[f"W{k + 1}"], dtype=float)
        out[f"PI{k}"] = -np.asarray(B[f"B{k}"], dtype=float)
    return out


def _as_rate(value, name):
    """A conductance or learning rate given in 1/ms as a number or a Quantity."""
    if isinstance(value, Quantity):
        if value.dim != (1 / second).dim:
            raise ValueError(f"{name} must be a rate (e.g. 0.1/ms), got {value!r}")
        return value
    if not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite non-negative rate in 1/ms, got {value!r}")
    return float(value) / ms


def dendritic_microcircuit(
    layers,
    n_patterns: int,
    t_pattern=100 * ms,
    activation: str = "softplus_sacramento",
    g_L=0.1, g_B=1.0, g_A=0.8, g_D=1.0, g_som=0.8,
    eta_PP=1e-3, eta_IP=2e-4, eta_PI=5e-4, eta_TD=0.0,
    tau_w=30 * ms,
    learn_topdown: bool = False,
    weights: dict | None = None,
    weight_scale: float = 1.0,
    self_predicting: bool = False,
    seed: int = 0,
    mode: str = "rate",
    r_max=1000 * Hz,
    tau_x=10 * ms,
    steady_state_kwargs: dict | None = None,
) -> Circuit:
    """Build a dendritic cortical microcircuit (Sacramento et al. 2018).

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, n_h1, ..., n_out]`` (at least input and output).
    n_patterns : int
        Patterns per run (rows of the input TimedArray; fixed at build time).
    t_pattern : Quantity (second)
        Presentation time of one pattern.
    activation : str
        Rate function of pyramids and interneurons (a key of
        :data:`brian_dendrites.models.ACTIVATIONS`).
    g_L, g_B, g_A, g_D, g_som : float or Quantity (1/ms)
        Conductances (floats are in 1/ms).
    eta_PP : float or sequence of float (1/ms)
        Bottom-up learning rate, one value or one per layer ``W1..WL``.
    eta_IP, eta_PI, eta_TD : float (1/ms)
        Learning rates of pyramid->interneuron, interneuron->apical and
        (if ``learn_topdown``) top-down weights.
    tau_w : Quantity (second)
        Low-pass time constant of all weight updates.
    learn_topdown : bool
        Top-down weights ``B{k}`` plastic (paper eq. 10) instead of fixed.
    weights : dict, optional
        Initial ``(n_post, n_pre)`` matrices by family name (see
        :func:`weight_shapes`); missing ones are drawn U(-a, a) with
        ``a = weight_scale / sqrt(n_pre)``.
    self_predicting : bool
        Start interneuron weights in the self-predicting state
        (:func:`self_predicting_weights`) unless given in ``weights``.
    seed : int
        Seed of the initial weights.
    mode : {'rate', 'spiking', 'steady_state'}
        ``'rate'``: the full rate dynamics (paper). ``'steady_state'``: the
        paper's two-step MNIST approximation, one time step per sample,
        built by :func:`~brian_dendrites.circuits.steady_state_microcircuit`
        (``n_patterns`` samples; ``layers``, ``activation``, ``weights``,
        ``self_predicting`` and ``seed`` are passed on, its own settings go
        in ``steady_state_kwargs``; the continuous-time arguments do not
        apply). ``'spiking'``: every
        population (input included) also fires Poisson spikes at
        ``r_max * r`` and the pathways read a spike trace ``x`` (``E[x] = r``,
        time constant ``tau_x``) instead of the rate: the same rules with
        spike-based presynaptic traces (:func:`~brian_dendrites.models.with_poisson_spikes`).
    r_max, tau_x : Quantity
        Spiking mode: rate of a neuron with ``r = 1`` (at most ``1/dt``) and
        trace time constant.

    Returns
    -------
    Circuit
    """
    layers = _check_layers(layers)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "steady_state":
        from .steady_state import steady_state_microcircuit

        return steady_state_microcircuit(layers, n_samples=n_patterns, activation=activation,
                                         weights=weights, self_predicting=self_predicting,
                                         seed=seed, **(steady_state_kwargs or {}))
    if steady_state_kwargs:
        raise ValueError("steady_state_kwargs only apply to mode='steady_state'")
    if isinstance(n_patterns, bool) or not isinstance(n_patterns, numbers.Integral) or n_patterns < 1:
        raise ValueError(f"n_patterns must be a positive integer, got {n_patterns!r}")
    if not isinstance(t_pattern, Quantity) or t_pattern.dim != second.dim or float(t_pattern) <= 0:
        raise ValueError(f"t_pattern must be a positive time (e.g. 100*ms), got {t_pattern!r}")
    if activation not in models.ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(models.ACTIVATIONS)}, got {activation!r}")
    L = len(layers) - 1
    g = {k: _as_rate(v, k) for k, v in dict(g_L=g_L, g_B=g_B, g_A=g_A, g_D=g_D, g_som=g_som).items()}
    etas_pp = list(eta_PP) if np.ndim(eta_PP) else [eta_PP] * L
    if len(etas_pp) != L:
        raise ValueError(f"eta_PP needs one value or {L} (one per layer), got {len(etas_pp)}")
    etas_pp = [_as_rate(e, "eta_PP") for e in etas_pp]
    eta_IP, eta_PI, eta_TD = (_as_rate(e, n) for e, n in ((eta_IP, "eta_IP"), (eta_PI, "eta_PI"), (eta_TD, "eta_TD")))
    shapes = weight_shapes(layers)
    weights = check_weights(weights, shapes)
    rng = np.random.default_rng(seed)
    init = {}
    for name, (n_post, n_pre) in shapes.items():
        a = weight_scale / np.sqrt(n_pre)
        init[name] = weights.get(name, rng.uniform(-a, a, size=(n_post, n_pre)))
    if self_predicting:
        sp = self_predicting_weights(
            {k: v for k, v in init.items() if k.startswith("W")},
            {k: v for k, v in init.items() if k.startswith("B")},
            **{k: float(v * ms) for k, v in g.items() if k != "g_som"},
        )
        for name, W in sp.items():
            init.setdefault(name, W)
            if name not in weights:
                init[name] = W

    objs = {}
    x_in = TimedArray(np.zeros((n_patterns, layers[0])), dt=t_pattern, name="x_in")
    u_target = TimedArray(np.zeros((n_patterns, layers[-1])), dt=t_pattern, name="u_target")
    nudge_in = TimedArray(np.zeros(n_patterns), dt=t_pattern, name="nudge_in")
    # 1 = plasticity on during this pattern; 0 freezes weights and traces (padding)
    learn_in = TimedArray(np.ones(n_patterns), dt=t_pattern, name="learn_in")
    objs.update(x_in=x_in, u_target=u_target, nudge_in=nudge_in, learn_in=learn_in)
    inp_model = models.rate_input()
    pyr_model = models.pyramidal_neuron(activation)
    int_model = models.sst_interneuron(activation)
    spike_params = {}
    if mode == "spiking":
        inp_model, pyr_model, int_model = (models.with_poisson_spikes(m) for m in
                                           (inp_model, pyr_model, int_model))
        spike_params = dict(r_max=r_max, tau_x=tau_x)
    pre_var = "x" if mode == "spiking" else "r"
    inp = inp_model.make_group(layers[0], name="inp", **spike_params)
    inp.run_regularly("r = x_in(t, i)", when="start", order=-1, name="inp_drive")
    objs["inp"] = inp

    pyrs = [inp]
    for k in range(1, L + 1):
        gA = g["g_A"] if k < L else 0 / ms
        p = pyr_model.make_group(layers[k], name=f"pyr{k}", g_L=g["g_L"], g_B=g["g_B"],
                                 g_A=gA, g_som=g["g_som"], **spike_params)
        objs[p.name] = p
        pyrs.append(p)
    out = pyrs[-1]
    out.run_regularly("u_tgt = u_target(t, i)\nnudge = nudge_in(t)", when="start", order=-1,
                      name="teacher")
    ints = [None]
    for k in range(1, L):
        n = int_model.make_group(layers[k + 1], name=f"int{k}", g_L=g["g_L"], g_D=g["g_D"],
                                 g_som=g["g_som"], **spike_params)
        objs[n.name] = n
        ints.append(n)

    families = {}

    def plastic(name, pre, post, target, error, eta, W):
        syn = models.dendritic_prediction_rule(target=target, error=error, pre_rate=pre_var,
                                               gated=True).make_synapses(
            pre, post, name=name, connect=True, eta=eta, tau_w=tau_w)
        syn.w = matrix_to_synapses(W)
        syn.run_regularly("learn = learn_in(t)", when="start", order=-1, name=f"{name}_gate")
        families[name] = (name, len(post), len(pre))
        objs[name] = syn

    for k in range(1, L + 1):
        plastic(f"W{k}", pyrs[k - 1], pyrs[k], "v_B", "e_B", etas_pp[k - 1], init[f"W{k}"])
    for k in range(1, L):
        if learn_topdown:
            plastic(f"B{k}", pyrs[k + 1], pyrs[k], "v_A_td", "e_TD", eta_TD, init[f"B{k}"])
        else:
            syn = models.static_pathway(target="v_A_td", pre_rate=pre_var).make_synapses(
                pyrs[k + 1], pyrs[k], name=f"B{k}", connect=True)
            syn.w = matrix_to_synapses(init[f"B{k}"])
            families[f"B{k}"] = (f"B{k}", layers[k], layers[k + 1])
            objs[f"B{k}"] = syn
        plastic(f"IP{k}", pyrs[k], ints[k], "v_D", "e_D", eta_IP, init[f"IP{k}"])
        plastic(f"PI{k}", ints[k], pyrs[k], "v_A_int", "e_A", eta_PI, init[f"PI{k}"])
        nudge = models.static_pathway(target="u_T", pre_rate="u").make_synapses(
            pyrs[k + 1], ints[k], name=f"T{k}", connect={"j": "i"})
        nudge.w = 1.0
        objs[f"T{k}"] = nudge

    objs["out_mon"] = StateMonitor(out, ["u", "r"], record=True, dt=t_pattern, when="start",
                                   order=1, name="out_mon")
    return Circuit(
        objects=objs,
        weights=families,
        info=dict(layers=layers, n_patterns=int(n_patterns), t_pattern=t_pattern,
                  activation=activation, learn_topdown=learn_topdown, mode=mode,
                  initial_weights=init, conductances=g),
    )
