"""Plain NumPy yardsticks (same equations as the Brian2 models) and baselines.

- :mod:`.microcircuit`: Sacramento et al. (2018) rate microcircuit, full
  dynamics (step for step like the Brian2 version) and the two-step
  steady-state approximation.
- :mod:`.mlp`: backprop MLP and feedback alignment baselines,
  :func:`~.mlp.backprop_gradients` for single samples.
"""
from .microcircuit import (ACTIVATIONS, ReferenceMicrocircuit, get_activation, linear,
                           linear_prime, logistic, logistic_prime, softplus_sacramento,
                           softplus_sacramento_inverse, softplus_sacramento_prime, tanh,
                           tanh_prime)
from .mlp import MLP, backprop_gradients

__all__ = ["ACTIVATIONS", "ReferenceMicrocircuit", "get_activation", "linear", "linear_prime",
           "logistic", "logistic_prime", "softplus_sacramento", "softplus_sacramento_inverse",
           "softplus_sacramento_prime", "tanh", "tanh_prime", "MLP", "backprop_gradients"]
