"""The dendritic cortical microcircuit of Sacramento et al. (2018) in Brian2.

Built only from the :mod:`brian_dendrites.models` strings:

- ``inp``: input rates ``r``, the patterns ``x_in(t, i)`` (a 2-D TimedArray,
  one row per pattern, each held for ``t_pattern``) through a low-pass filter
  of time constant ``tau_in`` (:func:`~brian_dendrites.models.low_pass_input`);
- ``pyr1 .. pyrL``: pyramidal populations (hidden: soma, basal, apical;
  output ``pyrL``: ``g_A = 0``, nudged to ``u_target(t, i)`` while
  ``nudge_in(t) = 1``);
- ``int1 .. int{L-1}``: SST interneurons of hidden layer k, one per pyramid
  of layer k+1, nudged one-to-one by them (pathway ``T{k}``);
- weight families (all-to-all, dense): ``W{k}`` bottom-up into layer k
  (basal, rule eq. 7), ``B{k}`` top-down into layer k (apical, fixed or
  learned with eq. 10), ``IP{k}`` pyramids -> interneurons (eq. 8),
  ``PI{k}`` interneurons -> apical (eq. 9);
- ``out_mon``: the output somata and rates at the start of every pattern
  (the end of the previous one; the circuit's :class:`~.base.Readout`);
- TimedArrays (one row per pattern), the circuit's input roles: ``x_in``
  (``'x'``), ``u_target`` (``'target'``), ``nudge_in`` (``'nudge'``, teacher
  on/off) and ``learn_in`` (``'learn'``: 1 plastic; 0 freezes all weights and
  traces, used for settling windows and to mask padding out of learning).

Every learning rate and conductance is a Brian2 Quantity and a variable of the
compiled network: ``eta = 0/ms`` through run values switches a rule off
without a rebuild. Defaults come from the model specs
(:func:`~brian_dendrites.models.pyramidal_neuron`,
:func:`~brian_dendrites.models.sst_interneuron`,
:func:`~brian_dendrites.models.dendritic_prediction_rule`) and
:func:`default_learning_rates`.
"""

from __future__ import annotations

import numpy as np
from brian2 import StateMonitor, ms

import brian_dendrites.models as models

from .._validation import (
    check_bool,
    check_choice,
    check_int,
    check_nonnegative,
    check_rate,
    check_seed,
    check_time,
)
from ._shapes import check_layers, weight_shapes
from .base import (
    SUPERVISED_INPUTS,
    Circuit,
    Readout,
    WeightFamily,
    check_weights,
    drive_teacher,
    matrix_to_synapses,
    supervised_inputs,
)

__all__ = ["dendritic_microcircuit", "self_predicting_weights", "weight_shapes",
           "default_conductances", "default_learning_rates", "LEARNING_RATES", "T_REFERENCE",
           "WEIGHT_INITS", "MODES", "DECAY_PATTERNS"]

#: Simulation modes built by :func:`dendritic_microcircuit` (the paper's
#: steady-state MNIST approximation is its own builder,
#: :func:`~brian_dendrites.circuits.steady_state_microcircuit`).
MODES = ("rate", "spiking")

#: Pattern length at which :data:`LEARNING_RATES` apply.
T_REFERENCE = 100 * ms

#: Default initial learning rates at 100 ms patterns, for the paper's sparse
#: softplus regime (hidden rates ~0.007): bottom-up rates of hidden layers
#: (eq. 7) and of the output layer, pyramid -> interneuron (eq. 8),
#: interneuron -> apical (eq. 9; 0 when the circuit starts self-predicting, else
#: ``PI_FRACTION`` of the output rate so that the self-predicting state can
#: form) and top-down (eq. 10, off). Measured in
#: ../shared/notes/sacramento-fig2-probe.md (setting E10: hidden 0.5/ms, output
#: 0.125/ms; ~250-400x the values quoted by reimplementations; the hidden rate
#: well above the output's, since the error reaching a hidden soma is
#: attenuated by the apical mixing factor ~0.42 and partly absorbed by the
#: interneurons), then 2x and 1.5x those with the learners' decaying schedule
#: (:data:`DECAY_PATTERNS`; docs/reproductions.md, section 2). Other pattern
#: lengths scale them by ``T_REFERENCE / t_pattern`` (:func:`default_learning_rates`).
LEARNING_RATES = dict(eta_PP_hidden=1.0 / ms, eta_PP_output=0.1875 / ms, eta_IP=0.3 / ms,
                      eta_PI=0 / ms, eta_TD=0 / ms)
#: The learners' default schedule: every rate times ``1 / (1 + n / DECAY_PATTERNS)``
#: after ``n`` presentations (the fast initial rates learn early, the decay
#: keeps the late updates from undoing it).
DECAY_PATTERNS = 2500
#: Interneuron -> apical rate, relative to the output rate, when the
#: self-predicting state must form from random weights (the rule drives the
#: apical potential, teaching signal included, to zero: keep it slow).
PI_FRACTION = 0.1


def default_learning_rates(layers, t_pattern=T_REFERENCE, self_predicting=True) -> dict:
    """Learning rates that make the microcircuit learn at this pattern length.

    :data:`LEARNING_RATES` scaled by ``T_REFERENCE / t_pattern`` (a pattern's
    weight change is proportional to its duration): at 20 ms patterns every
    rate is 5x its 100 ms value. Tuned for the paper's sparse softplus and
    U(-1, 1) weights; other activations or weight scales change the size of
    the rates and errors, and with them the rates that learn. Patterns
    shorter than ~20 ms learn little whatever the rates (the somata settle
    in ~0.5 ms, and every switch acts as a weight decay; see
    :func:`~brian_dendrites.models.low_pass_input`).

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, n_h1, ..., n_out]``.
    t_pattern : Quantity (second)
        Presentation time of one pattern.
    self_predicting : bool
        Whether the circuit starts in the self-predicting state (then the
        interneuron -> apical rule is off; else it runs at
        ``PI_FRACTION`` x the output rate).

    Returns
    -------
    dict
        ``eta_PP`` (list, one per layer), ``eta_IP``, ``eta_PI``, ``eta_TD``.

    Examples
    --------
    >>> r = default_learning_rates([30, 50, 10], 20 * ms)
    >>> [round(float(e * ms), 3) for e in r['eta_PP']], round(float(r['eta_IP'] * ms), 3)
    ([5.0, 0.938], 1.5)
    """
    L = len(check_layers(layers)) - 1
    scale = float(T_REFERENCE / check_time(t_pattern, "t_pattern"))
    check_bool(self_predicting, "self_predicting")
    r = {k: v * scale for k, v in LEARNING_RATES.items()}
    eta_PI = r["eta_PI"] if self_predicting else PI_FRACTION * r["eta_PP_output"]
    return dict(eta_PP=[r["eta_PP_hidden"]] * (L - 1) + [r["eta_PP_output"]],
                eta_IP=r["eta_IP"], eta_PI=eta_PI, eta_TD=r["eta_TD"])


_CONDUCTANCES = ("g_L", "g_B", "g_A", "g_D", "g_som")

#: Initial weight distributions: ``'uniform'`` U(-s, s) (the paper's, s = 1),
#: ``'fan_in'`` U(-s, s)/sqrt(n_pre).
WEIGHT_INITS = ("uniform", "fan_in")


def default_conductances(activation="softplus_sacramento") -> dict:
    """Conductances of the model specs: pyramid ``g_L, g_B, g_A, g_som``, interneuron ``g_D``.

    Examples
    --------
    >>> {k: round(float(v * ms), 3) for k, v in default_conductances().items()}
    {'g_L': 0.1, 'g_B': 1.0, 'g_A': 0.8, 'g_som': 0.8, 'g_D': 1.0}
    """
    pyr = models.pyramidal_neuron(activation)
    out = {k: pyr[k] for k in ("g_L", "g_B", "g_A", "g_som")}
    out["g_D"] = models.sst_interneuron(activation)["g_D"]
    return out


def _conductances(conductances, activation):
    g = default_conductances(activation)
    if conductances is None:
        return g
    if not isinstance(conductances, dict):
        raise TypeError(f"conductances must be a dict name -> rate, got {type(conductances).__name__}")
    for name, val in conductances.items():
        if name not in _CONDUCTANCES:
            raise KeyError(f"conductances: unknown name {name!r}; known: {list(_CONDUCTANCES)}")
        g[name] = check_rate(val, f"conductances[{name!r}]")
    return g


def self_predicting_weights(W: dict, B: dict, conductances=None) -> dict:
    """Interneuron weights of the self-predicting state (paper Fig. S1).

    ``PI_k = -B_k`` and ``IP_k = c W_{k+1}`` with ``c`` chosen so that the
    interneuron's dendritic prediction equals the partner pyramid's:
    ``g_D/(g_L+g_D) c = g_B/(g_L+g_B+g_A')`` (``g_A' = 0`` for the output
    layer). With no teacher the apical potentials then vanish.

    Parameters
    ----------
    W, B : dict
        ``{'W1': ..., 'W2': ...}`` and ``{'B1': ...}`` matrices ``(n_post, n_pre)``.
    conductances : dict, optional
        ``g_L, g_B, g_A, g_D`` (Quantities, 1/time) overriding
        :func:`default_conductances` (only their ratios matter).

    Returns
    -------
    dict
        ``{'IP1': ..., 'PI1': ...}`` for every hidden layer.
    """
    g = {k: float(v * ms) for k, v in _conductances(conductances, "softplus_sacramento").items()}
    if g["g_D"] == 0:
        raise ValueError("conductances['g_D']: the self-predicting state needs g_D > 0 (the "
                         "interneuron's dendrite must drive its soma)")
    if g["g_L"] + g["g_B"] == 0:
        raise ValueError("conductances: the self-predicting state needs g_L + g_B > 0")
    L = len(W)
    out = {}
    for k in range(1, L):
        gA_next = g["g_A"] if k + 1 < L else 0.0
        c = (g["g_B"] / (g["g_L"] + g["g_B"] + gA_next)) / (g["g_D"] / (g["g_L"] + g["g_D"]))
        out[f"IP{k}"] = c * np.asarray(W[f"W{k + 1}"], dtype=float)
        out[f"PI{k}"] = -np.asarray(B[f"B{k}"], dtype=float)
    return out


def _initial_weights(layers, weights, weight_scale, weight_init, self_predicting, seed,
                     conductances):
    """Given matrices, else U(-a, a) (``a = weight_scale``, over sqrt(n_pre) if 'fan_in').

    Interneuron weights of the self-predicting state if asked (and not given).
    """
    shapes = weight_shapes(layers)
    weights = check_weights(weights, shapes)
    rng = np.random.default_rng(seed)
    init = {}
    for name, (n_post, n_pre) in shapes.items():
        a = weight_scale / (np.sqrt(n_pre) if weight_init == "fan_in" else 1.0)
        init[name] = weights.get(name, rng.uniform(-a, a, size=(n_post, n_pre)))
    if self_predicting:
        sp = self_predicting_weights({k: v for k, v in init.items() if k.startswith("W")},
                                     {k: v for k, v in init.items() if k.startswith("B")},
                                     conductances)
        init.update({name: W for name, W in sp.items() if name not in weights})
    return init


def dendritic_microcircuit(
    layers,
    n_patterns: int,
    t_pattern=100 * ms,
    *,
    activation: str = "softplus_sacramento",
    conductances: dict | None = None,
    eta_PP=None,
    eta_IP=None,
    eta_PI=None,
    eta_TD=None,
    tau_w=None,
    learn_topdown: bool = False,
    weights: dict | None = None,
    weight_scale: float = 1.0,
    weight_init: str = "uniform",
    self_predicting: bool = False,
    seed: int = 0,
    mode: str = "rate",
    r_max=None,
    tau_x=None,
    tau_in=3 * ms,
) -> Circuit:
    """Build a dendritic cortical microcircuit (Sacramento et al. 2018).

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, n_h1, ..., n_out]`` (at least input and output).
    n_patterns : int
        Patterns per run (rows of the input TimedArrays; fixed at build time).
    t_pattern : Quantity (second)
        Presentation time of one pattern (one row).
    activation : str
        Rate function of pyramids and interneurons (a key of
        :data:`brian_dendrites.models.ACTIVATIONS`).
    conductances : dict, optional
        Overrides of ``g_L, g_B, g_A, g_D, g_som`` (Quantities, 1/time;
        defaults: :func:`default_conductances`).
    eta_PP : Quantity (1/second) or sequence of Quantity
        Bottom-up learning rate, one value or one per layer ``W1..WL``.
    eta_IP, eta_PI, eta_TD : Quantity (1/second)
        Learning rates of pyramid->interneuron, interneuron->apical and (if
        ``learn_topdown``) top-down weights. ``None`` (every rate):
        :func:`default_learning_rates` for these layers, ``t_pattern`` and
        ``self_predicting``.
    tau_w : Quantity (second)
        Low-pass time constant of all weight updates (default: the rule's).
    learn_topdown : bool
        Top-down weights ``B{k}`` plastic (paper eq. 10) instead of fixed.
    weights : dict, optional
        Initial ``(n_post, n_pre)`` matrices by family name (see
        :func:`weight_shapes`); missing ones are drawn at random (``weight_init``).
    weight_scale : float
        Scale ``s`` of the random initial weights.
    weight_init : {'uniform', 'fan_in'}
        ``'uniform'``: U(-s, s), the paper's (s = 1, feedback weights included);
        ``'fan_in'``: U(-s, s) / sqrt(n_pre).
    self_predicting : bool
        Start interneuron weights in the self-predicting state
        (:func:`self_predicting_weights`) unless given in ``weights``.
    seed : int
        Seed of the initial weights.
    mode : {'rate', 'spiking'}
        ``'rate'``: the full rate dynamics (paper). ``'spiking'``: every
        population (input included) also fires Poisson spikes at
        ``r_max * r`` and the pathways read a spike trace ``x`` (``E[x] = r``,
        time constant ``tau_x``) instead of the rate
        (:func:`~brian_dendrites.models.with_poisson_spikes`).
    r_max, tau_x : Quantity, optional
        Spiking mode only: rate of a neuron with ``r = 1`` (at most ``1/dt``)
        and trace time constant (defaults: the spiking model's).
    tau_in : Quantity (second)
        Time constant of the input low-pass filter
        (:func:`~brian_dendrites.models.low_pass_input`): the input rates
        that drive the first layer's basal dendrites and its plasticity
        follow each pattern with this time constant (targets stay steps).
        ``0*ms``: step inputs. A variable of the compiled network
        (``inp.tau_in``): run values change it without a rebuild.

    Returns
    -------
    Circuit
        Input roles ``x``, ``target``, ``nudge``, ``learn``; readout: output
        somata ``u`` at the end of every pattern.

    Raises
    ------
    TypeError, ValueError, KeyError, DimensionMismatchError
        For invalid sizes, rates, modes or weight matrices (naming the argument).
    """
    layers = check_layers(layers)
    if mode == "steady_state":
        raise ValueError("mode: the steady-state approximation has its own builder, "
                         "circuits.steady_state_microcircuit")
    check_choice(mode, "mode", MODES)
    n_patterns = check_int(n_patterns, "n_patterns", minimum=1)
    check_time(t_pattern, "t_pattern")
    check_choice(activation, "activation", sorted(models.ACTIVATIONS))
    if tau_w is not None:
        check_time(tau_w, "tau_w")
    weight_scale = check_nonnegative(weight_scale, "weight_scale")
    check_choice(weight_init, "weight_init", WEIGHT_INITS)
    check_time(tau_in, "tau_in", positive=False)
    check_bool(learn_topdown, "learn_topdown")
    check_bool(self_predicting, "self_predicting")
    seed = check_seed(seed)
    if mode != "spiking" and (r_max is not None or tau_x is not None):
        raise ValueError("r_max and tau_x only apply to mode='spiking'")
    L = len(layers) - 1
    g = _conductances(conductances, activation)
    if float(g["g_L"] + g["g_B"]) == 0:
        raise ValueError("conductances: g_L + g_B must be > 0 (the pyramids' dendritic "
                         "prediction divides by g_L + g_B + g_A)")
    if L > 1 and float(g["g_L"] + g["g_D"]) == 0:
        raise ValueError("conductances: g_L + g_D must be > 0 (the interneurons' dendritic "
                         "prediction divides by g_L + g_D)")
    defaults = default_learning_rates(layers, t_pattern, self_predicting)
    rates = {k: defaults[k] if v is None else v
             for k, v in dict(eta_PP=eta_PP, eta_IP=eta_IP, eta_PI=eta_PI, eta_TD=eta_TD).items()}
    etas_pp = rates["eta_PP"]
    etas_pp = list(etas_pp) if isinstance(etas_pp, (list, tuple)) else [etas_pp] * L
    if len(etas_pp) != L:
        raise ValueError(f"eta_PP needs one value or {L} (one per layer), got {len(etas_pp)}")
    etas_pp = [check_rate(e, f"eta_PP[{i}]") for i, e in enumerate(etas_pp)]
    eta_IP, eta_PI, eta_TD = (check_rate(rates[n], n) for n in ("eta_IP", "eta_PI", "eta_TD"))
    rule_values = {} if tau_w is None else {"tau_w": tau_w}
    init = _initial_weights(layers, weights, weight_scale, weight_init, self_predicting, seed, g)

    # learn_in: 1 = plasticity on during this pattern; 0 freezes weights and traces
    objs = supervised_inputs(n_patterns, layers[0], layers[-1], t_pattern)
    inp_model = models.low_pass_input()
    pyr_model = models.pyramidal_neuron(activation)
    int_model = models.sst_interneuron(activation)
    spike_params = {}
    if mode == "spiking":
        inp_model, pyr_model, int_model = (models.with_poisson_spikes(m) for m in
                                           (inp_model, pyr_model, int_model))
        spike_params = {k: v for k, v in dict(r_max=r_max, tau_x=tau_x).items() if v is not None}
    pre_var = "x" if mode == "spiking" else "r"
    inp = inp_model.make_group(layers[0], name="inp", tau_in=tau_in, **spike_params)
    inp.run_regularly("r_in = x_in(t, i)", when="start", order=-1, name="inp_drive")
    objs["inp"] = inp

    pyrs = [inp]
    for k in range(1, L + 1):
        gA = g["g_A"] if k < L else 0 / ms
        p = pyr_model.make_group(layers[k], name=f"pyr{k}", g_L=g["g_L"], g_B=g["g_B"],
                                 g_A=gA, g_som=g["g_som"], **spike_params)
        objs[p.name] = p
        pyrs.append(p)
    out = drive_teacher(pyrs[-1])
    ints = [None]
    for k in range(1, L):
        n = int_model.make_group(layers[k + 1], name=f"int{k}", g_L=g["g_L"], g_D=g["g_D"],
                                 g_som=g["g_som"], **spike_params)
        objs[n.name] = n
        ints.append(n)

    families = {}

    def project(name, model, pre, post, plastic, **values):
        syn = model.make_synapses(pre, post, name=name, connect=True, **values)
        syn.w = matrix_to_synapses(init[name])
        if plastic:
            syn.run_regularly("learn = learn_in(t)", when="start", order=-1, name=f"{name}_gate")
        families[name] = WeightFamily(name, name, (len(post), len(pre)), init[name], plastic)
        objs[name] = syn

    def rule(target, error):
        return models.dendritic_prediction_rule(target=target, error=error, pre_rate=pre_var,
                                                gated=True)

    for k in range(1, L + 1):
        project(f"W{k}", rule("v_B", "e_B"), pyrs[k - 1], pyrs[k], True,
                eta=etas_pp[k - 1], **rule_values)
    for k in range(1, L):
        if learn_topdown:
            project(f"B{k}", rule("v_A_td", "e_TD"), pyrs[k + 1], pyrs[k], True, eta=eta_TD,
                    **rule_values)
        else:
            project(f"B{k}", models.static_pathway(target="v_A_td", pre_rate=pre_var),
                    pyrs[k + 1], pyrs[k], False)
        project(f"IP{k}", rule("v_D", "e_D"), pyrs[k], ints[k], True, eta=eta_IP, **rule_values)
        project(f"PI{k}", rule("v_A_int", "e_A"), ints[k], pyrs[k], True, eta=eta_PI,
                **rule_values)
        nudge = models.static_pathway(target="u_T", pre_rate="u").make_synapses(
            pyrs[k + 1], ints[k], name=f"T{k}", connect={"j": "i"})
        nudge.w = 1.0
        objs[f"T{k}"] = nudge

    objs["out_mon"] = StateMonitor(out, ["u", "r"], record=True, dt=t_pattern, when="start",
                                   order=1, name="out_mon")
    return Circuit(
        objects=objs,
        inputs=dict(SUPERVISED_INPUTS),
        readout=Readout(monitor="out_mon", variable="u", final=f"pyr{L}.u"),
        weights=families,
        n_slots=int(n_patterns),
        t_slot=t_pattern,
        info=dict(layers=layers, activation=activation, learn_topdown=learn_topdown, mode=mode,
                  conductances=g, eta_PP=etas_pp, eta_IP=eta_IP, eta_PI=eta_PI, eta_TD=eta_TD,
                  tau_in=tau_in, weight_init=weight_init),
    )
