"""Dendritic branch with a binary half-space gate (Sezener et al. 2021)."""

from brian_dendrites.spec import NeuronModel, Param, Update

EQUATIONS = """
v_ff : 1     # branch drive w . r_prev (summed, learned pathway)
v_gate : 1   # projection of the side information on the branch's hyperplane (summed, fixed)
gate : 1     # [v_gate > theta_gate], set once per step
h = gate*v_ff : 1   # contribution of the branch to its neuron
"""


def gated_branch():
    """A dendritic branch whose input is gated by a fixed half-space.

    Each element of the group is one branch ``b`` of one neuron. Its gate is
    ``g = [v . z > theta_gate]`` where ``v_gate = v . z`` is the projection
    of the side information ``z`` (DGN: the raw input plus a bias) on the
    branch's fixed random hyperplane, delivered by a summed pathway with
    fixed weights; ``gate`` is computed once per step after the summed
    inputs (``groups`` slot, order -0.5). The branch contributes
    ``h = gate * v_ff`` to its neuron, ``v_ff = w . r_prev`` being its learned
    drive.

    Returns
    -------
    NeuronModel

    References
    ----------
    Sezener et al. (2021). A rapid and efficient learning rule for biological
    neural circuits. bioRxiv 2021.03.10.434756 (Dendritic Gated Networks,
    eqs. 1-2).
    """
    return NeuronModel(
        "gated_branch",
        EQUATIONS,
        params=[Param("theta_gate", 0.0, "gate threshold on v . z")],
        updates=[Update("gate = int(v_gate > theta_gate)", when="groups", order=-0.5,
                        name="gate")],
        reference="Sezener et al. 2021 (DGN), eqs. 1-2",
        doc=gated_branch.__doc__,
    )
