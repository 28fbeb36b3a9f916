"""Two-compartment Poisson-spiking neuron of Urbanczik & Senn (2014).

Same equations and default parameters as NEST's ``pp_cond_exp_mc_urbanczik``:
a conductance-based soma ``U`` (teacher input through excitatory and
inhibitory conductances) driven by a passive dendrite ``V`` that receives
current-based exponential synapses. Spikes are drawn as an inhomogeneous
Poisson process with rate ``phi(U)`` and a dead time ``t_ref``.
"""

from brian2 import ms, mV, nS, pF

from brian_dendrites.spec import NeuronModel, Param, Update

EQUATIONS = """
dU/dt = (-g_L*(U - E_L) + g_D*(V - U) + g_ex*(E_ex - U) + g_in*(E_in - U) + I_e)/C_m : volt
dV/dt = (-g_L*(V - E_L) + I_dend + I_rate + g_ps*(U - V))/C_m : volt
dI_dend/dt = -I_dend/tau_syn : amp       # dendritic exponential synaptic current (spikes)
dg_ex/dt = -g_ex/tau_syn : siemens       # somatic excitatory teacher conductance
dg_in/dt = -g_in/tau_syn : siemens       # somatic inhibitory teacher conductance
I_rate : amp        # rate-coded dendritic input (summed), mean of I_dend for rate inputs
I_e : amp           # constant somatic current
rate : hertz        # phi(U): instantaneous firing rate, set once per step
V_star : volt       # dendritic prediction of U, set once per step
phi_V : hertz       # phi(V_star), set once per step
h_V : 1/volt        # h(V_star) = d log phi / dU at V_star (times h_scale), set once per step
"""


def urbanczik_senn_neuron():
    """Poisson-spiking two-compartment neuron (NEST ``pp_cond_exp_mc_urbanczik``).

    Soma and dendrite::

        C_m dU/dt = -g_L (U - E_L) + g_D (V - U) + g_ex (E_ex - U) + g_in (E_in - U) + I_e
        C_m dV/dt = -g_L (V - E_L) + I_dend + I_rate + g_ps (U - V)

    Spikes: Poisson with rate ``phi(U) = phi_max / (1 + k exp(beta (theta - U)))``
    and dead time ``t_ref`` (a variable: ``t_ref = 0`` gives a pure
    inhomogeneous Poisson process). Per step (start of the step) the neuron computes
    its rate ``phi(U)``, the dendritic prediction
    ``V* = (g_L E_L + g_D V)/(g_L + g_D)`` (the somatic potential the dendrite
    alone would cause; with rest at 0 this is ``g_D/(g_L + g_D) V``),
    ``phi(V*)`` and ``h(V*) = h_scale * beta / (1 + exp(-beta (theta - V*))/k)``,
    the quantities the Urbanczik–Senn rule reads.

    Returns
    -------
    NeuronModel

    References
    ----------
    Urbanczik & Senn (2014). Learning by the dendritic prediction of somatic
    spiking. Neuron 81, 521-528 (eqs. 1-4). Defaults from NEST's
    ``pp_cond_exp_mc_urbanczik``: g_D 600 nS, g_L 30 nS, C_m 300 pF,
    E_L -70 mV, tau_syn 3 ms, phi_max 0.15/ms, k 0.5, beta 1/3 per mV,
    theta -55 mV, t_ref 3 ms.
    """
    phi_U = "phi_max/(1 + k*exp(beta*(theta - U)))"
    return NeuronModel(
        "urbanczik_senn",
        EQUATIONS,
        params=[
            Param("g_L", 30 * nS, "leak conductance of soma and dendrite", "nonnegative"),
            Param("g_D", 600 * nS, "dendrite-to-soma coupling (NEST g_sp)", "nonnegative"),
            Param("g_ps", 0 * nS, "soma-to-dendrite coupling (NEST g_ps)", "nonnegative"),
            Param("C_m", 300 * pF, "membrane capacitance of each compartment", "positive"),
            Param("E_L", -70 * mV, "leak reversal potential"),
            Param("E_ex", 0 * mV, "excitatory reversal potential (soma)"),
            Param("E_in", -75 * mV, "inhibitory reversal potential (soma)"),
            Param("tau_syn", 3 * ms, "synaptic time constant", "positive"),
            Param("phi_max", 0.15 / ms, "maximal firing rate", "nonnegative"),
            Param("k", 0.5, "rate slope factor (NEST rate_slope)", "nonnegative"),
            Param("beta", 1 / (3 * mV), "steepness of phi", "positive", unit="1/volt"),
            Param("theta", -55 * mV, "inflection potential of phi"),
            Param("h_scale", 15.0, "scale of h(V*) (NEST: 15)", "nonnegative"),
            Param("t_ref", 3 * ms, "dead time after a spike (0 = pure Poisson)", "nonnegative"),
        ],
        updates=[
            Update(
                f"rate = {phi_U}\n"
                "V_star = (g_L*E_L + g_D*V)/(g_L + g_D)\n"
                "phi_V = phi_max/(1 + k*exp(beta*(theta - V_star)))\n"
                "h_V = h_scale*beta/(1 + exp(-beta*(theta - V_star))/k)",
                when="start",
                order=0,
                name="prediction",
            )
        ],
        threshold=f"rand() < {phi_U}*dt",
        refractory="t_ref",
        reference="Urbanczik & Senn 2014; NEST pp_cond_exp_mc_urbanczik",
        doc=urbanczik_senn_neuron.__doc__,
    )
