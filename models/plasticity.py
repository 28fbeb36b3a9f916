"""Synapse models: pathways and dendritic-prediction (Urbanczik–Senn) plasticity.

Each builder returns a :class:`~brian_dendrites.spec.SynapseModel` whose
Brian2 model string contains exactly one ``(summed)`` line writing the
pathway's postsynaptic input variable, so several pathways can target the
same neuron (one summed variable each). Pathway and learning-signal names
are chosen with Brian2's own ``Equations`` substitution.

The plasticity rules read per-neuron quantities (rates, learning signals,
``phi(V*)``, ``h(V*)``) that the neuron models compute once per step; no
postsynaptic subexpression is evaluated per synapse.
"""

from brian2 import Equations, ms, mV, pA

from brian_dendrites.spec import Param, SynapseModel


def _ident(value, argname):
    if not isinstance(value, str) or not value.isidentifier():
        raise ValueError(f"{argname} must be a variable name, got {value!r}")
    return value


def _text(template, **subs):
    return str(Equations(template, **subs))


def static_pathway(target="v_B", pre_rate="r"):
    """Fixed-weight rate pathway: ``target_post = w * r_pre`` (summed).

    Parameters
    ----------
    target : str
        Postsynaptic summed input variable (e.g. ``'v_A_td'``).
    pre_rate : str
        Presynaptic rate variable.

    Returns
    -------
    SynapseModel
    """
    _ident(target, "target")
    _ident(pre_rate, "pre_rate")
    eqs = _text("w : 1\nI_post = w*r_pre : 1 (summed)",
                I_post=f"{target}_post", r_pre=f"{pre_rate}_pre")
    return SynapseModel(f"static_{target}", eqs, reference="fixed weights",
                        doc=static_pathway.__doc__)


#: The rate rule's four variants: (lowpass, gated) -> Brian2 model text.
_RATE_RULES = {
    (True, False): """
dw/dt = eta*Delta : 1 (clock-driven)
dDelta/dt = (e_post*r_pre - Delta)/tau_w : 1 (clock-driven)
""",
    (True, True): """
dw/dt = learn*eta*Delta : 1 (clock-driven)
dDelta/dt = learn*(e_post*r_pre - Delta)/tau_w : 1 (clock-driven)
learn : 1 (shared)  # 1: learning on, 0: frozen (set once per step by the circuit)
""",
    (False, False): """
dw/dt = eta*e_post*r_pre : 1 (clock-driven)
""",
    (False, True): """
dw/dt = learn*eta*e_post*r_pre : 1 (clock-driven)
learn : 1 (shared)  # 1: learning on, 0: frozen (set once per step by the circuit)
""",
}


def dendritic_prediction_rule(target="v_B", error="e_B", pre_rate="r", lowpass=True, gated=False):
    """Rate Urbanczik–Senn / Sacramento dendritic-prediction plasticity.

    Pathway and rule::

        target_post = w r_pre                                   (summed)
        dDelta/dt = (e_post r_pre - Delta) / tau_w              (lowpass=True)
        dw/dt     = eta Delta
        dw/dt     = eta e_post r_pre                            (lowpass=False)

    where ``e_post`` is the postsynaptic learning signal computed once per
    step by the neuron, e.g. ``e_B = phi(u) - phi(vhat_B)`` for basal synapses
    of a pyramidal cell (Sacramento et al. 2018, eq. 7; Urbanczik & Senn 2014
    rate form), ``e_D`` for interneuron dendrites (eq. 8); for the
    interneuron-to-apical pathway use a signal ``-v_A`` (eq. 9).
    ``eta = 0`` switches plasticity off without a rebuild.

    Parameters
    ----------
    target : str
        Postsynaptic summed input variable written by the pathway.
    error : str
        Postsynaptic per-neuron learning signal.
    pre_rate : str
        Presynaptic rate variable.
    lowpass : bool
        Low-pass filter the update with ``tau_w`` before applying it (the
        paper's continuous-time rule).
    gated : bool
        Multiply the trace and weight dynamics by a shared variable
        ``learn`` (0 or 1) that a circuit sets per step, e.g. from a
        TimedArray, to freeze learning during padding patterns without
        touching ``eta``.

    Returns
    -------
    SynapseModel

    References
    ----------
    Sacramento et al. (2018), NeurIPS, eqs. 7-9; Urbanczik & Senn (2014),
    Neuron 81, eq. 7 (rate form).
    """
    for val, arg in ((target, "target"), (error, "error"), (pre_rate, "pre_rate")):
        _ident(val, arg)
    for val, arg in ((lowpass, "lowpass"), (gated, "gated")):
        if not isinstance(val, bool):
            raise TypeError(f"{arg} must be True or False, got {val!r}")
    subs = dict(I_post=f"{target}_post", e_post=f"{error}_post", r_pre=f"{pre_rate}_pre")
    params = [Param("eta", 1e-3 / ms, "learning rate (0 = plasticity off)", "nonnegative")]
    if lowpass:
        params.append(Param("tau_w", 30 * ms, "low-pass time constant of the update", "positive"))
    text = _RATE_RULES[(lowpass, gated)]
    eqs = _text(text + "I_post = w*r_pre : 1 (summed)", **subs)
    return SynapseModel(
        f"dendritic_prediction_{target}",
        eqs,
        params=params,
        reference="Sacramento et al. 2018 eqs. 7-9; Urbanczik & Senn 2014",
        doc=dendritic_prediction_rule.__doc__,
    )


def urbanczik_senn_rate_synapse():
    """Urbanczik–Senn rule for rate-coded input onto :func:`urbanczik_senn_neuron`.

    The presynaptic group provides a rate ``r`` (hertz). The pathway delivers
    the mean current of exponential synapses driven at that rate,
    ``I_rate_post = w tau_syn_post r_pre`` (summed), and the weight follows
    the rate form of the rule, the spike train ``S`` replaced by its rate
    ``phi(U)`` and the PSP by its mean ``r_pre (tau_L - tau_s)``::

        tau_Delta dDelta/dt = -Delta + (phi(U) - phi(V*)) h(V*) r_pre (tau_L - tau_s)
        dw/dt = eta Delta

    Returns
    -------
    SynapseModel

    References
    ----------
    Urbanczik & Senn (2014), Neuron 81, eqs. 5-7.
    """
    eqs = (
        "I_rate_post = w*tau_syn_post*r_pre : amp (summed)\n"
        "dDelta/dt = ((rate_post - phi_V_post)*h_V_post*r_pre*(tau_L - tau_s) - Delta)"
        "/tau_Delta : hertz/volt (clock-driven)\n"
        "dw/dt = eta*Delta : amp (clock-driven)"
    )
    return SynapseModel(
        "urbanczik_senn_rate",
        eqs,
        params=_us_params(),
        reference="Urbanczik & Senn 2014, rate form",
        doc=urbanczik_senn_rate_synapse.__doc__,
    )


def _us_params():
    return [
        Param("eta", 4.5 * pA * mV, "learning rate; NEST's default eta = 0.07 corresponds to "
              "4.5 pA*mV here (NEST's update carries an extra factor "
              "15 C_m tau_s / (g_L (tau_L - tau_s)) = 64.3)", "nonnegative", unit="amp*volt"),
        Param("tau_Delta", 100 * ms, "low-pass time constant of the weight change", "positive"),
        Param("tau_L", 10 * ms, "PSP kernel: membrane time constant", "positive"),
        Param("tau_s", 3 * ms, "PSP kernel: synaptic time constant", "positive"),
    ]


def urbanczik_senn_spiking_synapse():
    """Spiking Urbanczik–Senn synapse onto :func:`urbanczik_senn_neuron`.

    A presynaptic spike adds ``w`` to the dendritic current ``I_dend`` and to
    the PSP trace ``PSP = psp_L - psp_s`` (difference of exponentials with
    ``tau_L``, ``tau_s``, unit amplitude). The weight change is the
    postsynaptic spike train ``S`` minus the dendritic prediction, low-pass
    filtered::

        tau_Delta dDelta/dt = -Delta + (S(t) - phi(V*)) h(V*) PSP(t)
        dw/dt = eta Delta

    (``S`` is a sum of Dirac pulses: each postsynaptic spike adds
    ``h(V*) PSP / tau_Delta`` to ``Delta``.)

    Returns
    -------
    SynapseModel

    References
    ----------
    Urbanczik & Senn (2014), Neuron 81, eqs. 5-7; NEST ``urbanczik_synapse``.
    """
    eqs = (
        "dpsp_L/dt = -psp_L/tau_L : 1 (clock-driven)\n"
        "dpsp_s/dt = -psp_s/tau_s : 1 (clock-driven)\n"
        "dDelta/dt = (-phi_V_post*h_V_post*(psp_L - psp_s) - Delta)/tau_Delta"
        " : hertz/volt (clock-driven)\n"
        "dw/dt = eta*Delta : amp (clock-driven)"
    )
    return SynapseModel(
        "urbanczik_senn_spiking",
        eqs,
        params=_us_params(),
        on_pre="I_dend_post += w\npsp_L += 1\npsp_s += 1",
        on_post="Delta += h_V_post*(psp_L - psp_s)/tau_Delta",
        reference="Urbanczik & Senn 2014; NEST urbanczik_synapse",
        doc=urbanczik_senn_spiking_synapse.__doc__,
    )
