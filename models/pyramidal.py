"""Rate-based three-compartment pyramidal neuron (Sacramento et al. 2018).

Soma ``u``, basal dendrite ``v_B`` and apical dendrite ``v_A``; dendrites are
instantaneous (their potentials are the summed synaptic input of their
pathway), potentials are dimensionless with rest at 0, capacitance 1, and
conductances are rates (``0.1/ms``), as in the paper.
"""

from brian2 import ms

from brian_dendrites.spec import NeuronModel, Param, Update

from .activations import activation

EQUATIONS = """
du/dt = -g_L*u + g_B*(v_B - u) + g_A*(v_A - u) + nudge*g_som*(u_tgt - u) + sigma*xi : 1
v_A = v_A_td + v_A_int : 1  # apical potential: top-down plus interneuron pathway
v_B : 1       # basal potential: summed bottom-up input
v_A_td : 1    # apical input from pyramidal cells of the layer above (summed)
v_A_int : 1   # apical input from SST interneurons (summed)
u_tgt : 1     # somatic target potential (teacher)
nudge : 1     # 1 while the somatic teacher is on, else 0
r : 1         # firing rate phi(u), set once per step
e_B : 1       # basal learning signal phi(u) - phi(vhat_B), set once per step
e_A : 1       # apical learning signal -v_A (interneuron-to-apical rule), set once per step
e_TD : 1      # top-down learning signal phi(u) - phi(v_A_td) (learned feedback), per step
"""


def pyramidal_neuron(activation_name="softplus_sacramento"):
    """Three-compartment rate pyramidal neuron of Sacramento et al. (2018).

    Soma (paper eq. 1, capacitance 1, rest 0)::

        du/dt = -g_L u + g_B (v_B - u) + g_A (v_A - u) + nudge g_som (u_tgt - u) + sigma xi

    with instantaneous dendrites ``v_B`` (bottom-up, summed) and
    ``v_A = v_A_td + v_A_int`` (top-down pyramidal and interneuron pathways,
    each its own summed variable). Output neurons use ``g_A = 0`` and the
    somatic teaching current ``nudge*g_som*(u_tgt - u)``.

    The noise amplitude ``sigma`` is a variable (default 0): noise is switched
    on through ``run_args`` without a rebuild (paper: ``0.1/sqrt(ms)``).

    Per-step variables, computed once per step and read by synapses:
    ``r = phi(u)`` at the start of the step; right after the summed
    dendritic inputs are computed (``groups`` slot, order -0.5) the learning
    signals ``e_B = r - phi(vhat_B)``, ``vhat_B = g_B/(g_L + g_B + g_A) v_B``
    (paper eq. 7, the dendritic prediction of the somatic rate),
    ``e_A = -v_A`` (eq. 9, interneuron-to-apical rule) and
    ``e_TD = r - phi(v_A_td)`` (eq. 10, learned top-down weights).

    Steady state under constant dendritic input (no teacher):
    ``u* = (g_B v_B + g_A v_A)/(g_L + g_B + g_A)``, reached exponentially with
    time constant ``1/(g_L + g_B + g_A)``.

    Parameters
    ----------
    activation_name : str
        Key of :data:`~brian_dendrites.models.ACTIVATIONS` (default the
        paper's regression transfer function ``0.1 log(1 + exp(u - 3))``).

    Returns
    -------
    NeuronModel

    References
    ----------
    Sacramento, Costa, Bengio, Senn (2018). Dendritic cortical microcircuits
    approximate the backpropagation algorithm. NeurIPS. Eqs. 1-2 (dynamics),
    eq. 7 (dendritic prediction). Parameters: ``g_L 0.1, g_B 1.0, g_A 0.8,
    g_som 0.8`` per ms (reimplementation defaults, see PAPERS.md).

    Examples
    --------
    >>> from brian2 import ms
    >>> m = pyramidal_neuron()
    >>> float(m['g_B'] * ms)  # 1/ms
    1.0
    >>> print(m.with_params(g_A=0.5/ms)['g_A'] * ms)
    0.5
    """
    phi = activation(activation_name, "u")
    phi_hat = activation(activation_name, "g_B/(g_L + g_B + g_A)*v_B")
    phi_td = activation(activation_name, "v_A_td")
    params = [
        Param("g_L", 0.1 / ms, "somatic leak conductance (per unit capacitance)", "nonnegative"),
        Param("g_B", 1.0 / ms, "basal-to-soma coupling conductance", "nonnegative"),
        Param("g_A", 0.8 / ms, "apical-to-soma coupling conductance (0 for output cells)", "nonnegative"),
        Param("g_som", 0.8 / ms, "somatic teaching (nudging) conductance", "nonnegative"),
        Param("sigma", 0.0 / ms**0.5, "somatic white-noise amplitude (paper: 0.1/sqrt(ms); "
              "0 = deterministic)", "nonnegative", unit="second**-0.5"),
    ]
    return NeuronModel(
        "pyramidal",
        EQUATIONS,
        params=params,
        updates=[
            Update(f"r = {phi}", when="start", order=0, name="rate"),
            Update(f"e_B = r - {phi_hat}\ne_A = -v_A\ne_TD = r - {phi_td}",
                   when="groups", order=-0.5, name="errors"),
        ],
        reference="Sacramento et al. 2018, eqs. 1, 2, 7",
        doc=pyramidal_neuron.__doc__,
    )
