"""The brian_dendrites model library: Brian2 equation strings with units.

Installed as :mod:`brian_dendrites.models`. Every builder returns a
:class:`~brian_dendrites.spec.NeuronModel` or
:class:`~brian_dendrites.spec.SynapseModel`; ``print(model)`` shows exactly the
equations that Brian2 compiles.

Neurons
    :func:`pyramidal_neuron` (3 compartments, Sacramento et al. 2018),
    :func:`sst_interneuron` (2 compartments), :func:`urbanczik_senn_neuron`
    (2 compartments, Poisson spiking, NEST's ``pp_cond_exp_mc_urbanczik``),
    :func:`gated_branch` (dendritic branch with a half-space gate, DGN),
    :func:`dgn_branch`, :func:`dgn_soma`, :func:`dgn_input`,
    :func:`side_information` (Dendritic Gated Networks),
    :func:`low_pass_input` (input rates through a low-pass filter),
    :func:`steady_state_pyramidal`, :func:`steady_state_interneuron` (the
    two-step steady-state approximation, one time step per sample).
Synapses
    :func:`dendritic_prediction_rule` (rate Urbanczik–Senn / Sacramento rule),
    :func:`urbanczik_senn_rate_synapse`, :func:`urbanczik_senn_spiking_synapse`,
    :func:`static_pathway`, :func:`steady_state_rule`, :func:`fixed_projection`,
    :func:`dgn_rule`, :func:`branch_to_soma` (DGN), :func:`dfc_forward`,
    :func:`dfc_feedback`, :func:`dfc_softmax` (DFC).
"""

from .activations import ACTIVATIONS, activation
from .branches import dgn_branch, gated_branch
from .dfc import (
    DFC_LOSSES,
    dfc_controller,
    dfc_feedback,
    dfc_forward,
    dfc_input,
    dfc_neuron,
    dfc_softmax,
)
from .dgn import DGN_OUTPUTS, branch_to_soma, dgn_input, dgn_rule, dgn_soma, side_information
from .interneuron import sst_interneuron
from .plasticity import (
    dendritic_prediction_rule,
    static_pathway,
    urbanczik_senn_rate_synapse,
    urbanczik_senn_spiking_synapse,
)
from .pyramidal import pyramidal_neuron
from .spiking import low_pass_input, rate_input, with_poisson_spikes
from .steady_state import (
    STEADY_STATE_DEFAULTS,
    fixed_projection,
    steady_state_interneuron,
    steady_state_pyramidal,
    steady_state_rule,
)
from .urbanczik_senn import urbanczik_senn_neuron

__all__ = [
    "ACTIVATIONS",
    "activation",
    "pyramidal_neuron",
    "sst_interneuron",
    "urbanczik_senn_neuron",
    "gated_branch",
    "dgn_branch",
    "dfc_neuron",
    "dfc_input",
    "dfc_controller",
    "dfc_forward",
    "dfc_feedback",
    "dfc_softmax",
    "DFC_LOSSES",
    "dgn_input",
    "dgn_soma",
    "side_information",
    "dgn_rule",
    "branch_to_soma",
    "DGN_OUTPUTS",
    "dendritic_prediction_rule",
    "static_pathway",
    "urbanczik_senn_rate_synapse",
    "urbanczik_senn_spiking_synapse",
    "with_poisson_spikes",
    "rate_input",
    "low_pass_input",
    "steady_state_pyramidal",
    "steady_state_interneuron",
    "steady_state_rule",
    "fixed_projection",
    "STEADY_STATE_DEFAULTS",
    "NEURON_MODELS",
    "SYNAPSE_MODELS",
]

#: Builders of every neuron model with default arguments (for model batteries).
NEURON_MODELS = {
    "pyramidal": pyramidal_neuron,
    "sst_interneuron": sst_interneuron,
    "urbanczik_senn": urbanczik_senn_neuron,
    "gated_branch": gated_branch,
    "dgn_branch": dgn_branch,
    "dgn_input": dgn_input,
    "dgn_input_identity": lambda: dgn_input("identity"),
    "dgn_soma": dgn_soma,
    "dgn_soma_identity": lambda: dgn_soma("identity"),
    "side_information": side_information,
    "pyramidal_spiking": lambda: with_poisson_spikes(pyramidal_neuron()),
    "low_pass_input": low_pass_input,
    "steady_state_pyramidal": steady_state_pyramidal,
    "steady_state_interneuron": steady_state_interneuron,
    "dfc_neuron": dfc_neuron,
    "dfc_neuron_linear": lambda: dfc_neuron("linear"),
    "dfc_neuron_held_quiet": lambda: dfc_neuron(held_input=True, noise=False),
    "dfc_input": dfc_input,
    "dfc_controller": dfc_controller,
    "dfc_controller_xent": lambda: dfc_controller("xent"),
}

#: Builders of every synapse model with default arguments.
SYNAPSE_MODELS = {
    "dendritic_prediction": dendritic_prediction_rule,
    "static_pathway": static_pathway,
    "urbanczik_senn_rate": urbanczik_senn_rate_synapse,
    "urbanczik_senn_spiking": urbanczik_senn_spiking_synapse,
    "steady_state_rule": steady_state_rule,
    "dgn_rule": dgn_rule,
    "dgn_rule_masked": lambda: dgn_rule(masked=True),
    "branch_to_soma": branch_to_soma,
    "dfc_forward": dfc_forward,
    "dfc_forward_held": lambda: dfc_forward(held_input=True),
    "dfc_feedback": dfc_feedback,
    "dfc_softmax": dfc_softmax,
}
