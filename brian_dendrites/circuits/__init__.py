"""Pure circuit builders: model specs + sizes -> named Brian2 objects.

A builder never mutates global state and never runs anything: calling it twice
gives two independent :class:`Circuit` objects. The engine
(:class:`brian_dendrites.engine.Simulation`) compiles and runs them.
"""

from .base import Circuit, matrix_to_synapses, synapses_to_matrix
from .microcircuit import dendritic_microcircuit
from .steady_state import steady_state_microcircuit

__all__ = ["Circuit", "matrix_to_synapses", "synapses_to_matrix", "dendritic_microcircuit",
           "steady_state_microcircuit"]
