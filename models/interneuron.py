"""Two-compartment SST-like interneuron (Sacramento et al. 2018)."""

from brian2 import ms

from brian_dendrites.spec import NeuronModel, Param, Update

from .activations import activation

EQUATIONS = """
du/dt = -g_L*u + g_D*(v_D - u) + g_som*(u_T - u) + sigma*xi : 1
v_D : 1   # dendritic potential: summed input from pyramidal cells of the same layer
u_T : 1   # somatic potential of the one-to-one partner pyramid in the layer above (summed)
r : 1     # firing rate phi(u), set once per step
e_D : 1   # dendritic learning signal phi(u) - phi(vhat_D), set once per step
"""


def sst_interneuron(activation_name="softplus_sacramento"):
    """Two-compartment SST-like interneuron nudged by the layer above.

    Soma (Sacramento et al. 2018, eq. 3)::

        du/dt = -g_L u + g_D (v_D - u) + g_som (u_T - u) + sigma xi

    where ``v_D = W_IP r`` is the dendritic potential (summed) and ``u_T``
    the somatic potential of the partner pyramidal neuron in the layer above
    (one-to-one, summed), which nudges the interneuron to copy it.

    Per-step variables: ``r = phi(u)`` (start of step) and the learning
    signal ``e_D = r - phi(vhat_D)``, ``vhat_D = g_D/(g_L + g_D) v_D``
    (paper eq. 8), after the summed inputs (``groups`` slot, order -0.5).

    Steady state: ``u* = (g_D v_D + g_som u_T)/(g_L + g_D + g_som)`` with
    time constant ``1/(g_L + g_D + g_som)``.

    Parameters
    ----------
    activation_name : str
        Key of :data:`~brian_dendrites.models.ACTIVATIONS`.

    Returns
    -------
    NeuronModel

    References
    ----------
    Sacramento et al. (2018), NeurIPS, eqs. 3 and 8.
    """
    phi = activation(activation_name, "u")
    phi_hat = activation(activation_name, "g_D/(g_L + g_D)*v_D")
    return NeuronModel(
        "sst_interneuron",
        EQUATIONS,
        params=[
            Param("g_L", 0.1 / ms, "somatic leak conductance", "nonnegative"),
            Param("g_D", 1.0 / ms, "dendrite-to-soma coupling conductance", "nonnegative"),
            Param("g_som", 0.8 / ms, "somatic nudging conductance from the layer above", "nonnegative"),
            Param("sigma", 0.0 / ms**0.5, "somatic white-noise amplitude (0 = deterministic)",
                  "nonnegative", unit="second**-0.5"),
        ],
        updates=[
            Update(f"r = {phi}", when="start", order=0, name="rate"),
            Update(f"e_D = r - {phi_hat}", when="groups", order=-0.5, name="dendritic_error"),
        ],
        reference="Sacramento et al. 2018, eqs. 3, 8",
        doc=sst_interneuron.__doc__,
    )
