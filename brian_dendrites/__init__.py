"""brian_dendrites: learning in dendrites with Brian2.

Multi-compartment neuron models written as Brian2 equation strings
(:mod:`brian_dendrites.models`), validated model specifications
(:mod:`brian_dendrites.spec`) and a compile-once engine that runs them on
Brian2's ``numpy``, ``cython`` and ``cpp_standalone`` targets
(:mod:`brian_dendrites.engine`).
"""

__version__ = "0.1.0"
