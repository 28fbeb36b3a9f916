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


DGN_BRANCH_EQUATIONS = """
v_gate : 1             # projection v . z of the side information (summed, fixed hyperplane)
theta : 1 (constant)   # gate threshold of this branch (fixed)
gate : 1               # [v . z > theta], set once per step
v_ff : 1               # w . h of the layer below (summed, learned)
beta : 1               # branch bias: the weight of the constant input 1
drive = gate*(v_ff + beta) : 1   # what the branch gives its soma
delta : 1              # learning signal gate*err of the soma (summed back from it)
eta_t : 1 (shared)     # learning rate of this step
n_learned : 1 (shared) # samples learned so far
learn : 1 (shared)     # 1: plastic, 0: frozen
"""


def dgn_branch():
    """A branch of a Dendritic Gated Network neuron: gate, drive, learning signal.

    Each element of the group is one branch ``b`` of one neuron. Per step
    (one sample), in the slots a circuit gives the named updates:

    - ``rate`` (start, order 0): ``eta_t = learn*eta/(1 + lr_decay*n_learned)``;
    - ``gate`` (groups, -0.5; after the summed ``v_gate = v . z``):
      ``gate = int(v_gate > theta)``;
    - ``learn_bias`` (groups, 100; after the soma sent ``delta = gate*err``
      back): ``n_learned += learn`` and
      ``beta = clip(beta - eta_t*delta, -w_clip, w_clip)`` (Brian2 writes
      shared variables first; ``eta_t`` of this step is already set).

    The branch gives its soma ``drive = gate*(v_ff + beta)``; ``v_ff = w . h``
    comes from :func:`~brian_dendrites.models.dgn_rule`, which reads
    ``delta``, ``eta_t`` and ``w_clip`` of its postsynaptic branch.

    Returns
    -------
    NeuronModel

    References
    ----------
    Sezener et al. (2021), bioRxiv 2021.03.10.434756 (per-neuron form);
    learning-rate decay and weight clipping as in DeepMind's GLN library.
    """
    return NeuronModel(
        "dgn_branch",
        DGN_BRANCH_EQUATIONS,
        params=[Param("eta", 1e-3, "learning rate per sample", "nonnegative"),
                Param("lr_decay", 0.0, "eta_t = eta/(1 + lr_decay*n_learned)", "nonnegative"),
                Param("w_clip", 200.0, "weights and biases clipped to [-w_clip, w_clip]",
                      "positive")],
        updates=[Update("eta_t = learn*eta/(1 + lr_decay*n_learned)", when="start", order=0,
                        name="rate"),
                 Update("gate = int(v_gate > theta)", when="groups", order=-0.5, name="gate"),
                 Update("n_learned += learn\nbeta = clip(beta - eta_t*delta, -w_clip, w_clip)",
                        when="groups", order=100, name="learn_bias")],
        reference="Sezener et al. 2021 (DGN), eqs. 1-2 and the learning rule",
        doc=dgn_branch.__doc__,
    )
