"""Pure circuit builders: model specs + sizes -> a typed :class:`Circuit`.

A builder never mutates global state and never runs anything: calling it twice
gives two independent circuits. The engine
(:class:`brian_dendrites.engine.Session`) compiles and runs them.
"""

from ._shapes import weight_shapes
from .base import ROLES, Circuit, Readout, WeightFamily, matrix_to_synapses, synapses_to_matrix
from .dfc import dfc_network
from .dgn import dgn_network
from .microcircuit import dendritic_microcircuit, self_predicting_weights
from .steady_state import steady_state_microcircuit

__all__ = ["Circuit", "Readout", "WeightFamily", "ROLES", "matrix_to_synapses",
           "synapses_to_matrix", "weight_shapes", "dendritic_microcircuit",
           "self_predicting_weights", "steady_state_microcircuit", "dgn_network", "dfc_network"]
