"""Plain NumPy yardsticks (same equations as the Brian2 models) and baselines.

- :mod:`.microcircuit`: Sacramento et al. (2018) rate microcircuit, full
  dynamics (step for step like the Brian2 version) and the two-step
  steady-state approximation.
- :mod:`.mlp`: backprop MLP and feedback alignment baselines,
  :func:`~.mlp.backprop_gradients` for single samples.
- :mod:`.perturbation`: node and weight perturbation (gradient estimates
  from the change of the loss under noise).

The NumPy activations live in :mod:`brian_dendrites.activations`; their
names are re-exported here for compatibility.
"""
from .. import activations as _activations
from .dfc import ReferenceDFC
from .dgn import ReferenceDGN
from .microcircuit import ReferenceMicrocircuit
from .mlp import MLP, backprop_gradients
from .perturbation import mlp_loss, node_perturbation_updates, weight_perturbation_updates

#: NumPy activations, re-exported from :mod:`brian_dendrites.activations`.
_ACTIVATION_NAMES = ("ACTIVATIONS", "get_activation", "linear", "linear_prime", "logistic",
                     "logistic_prime", "softplus_sacramento", "softplus_sacramento_inverse",
                     "softplus_sacramento_prime", "tanh", "tanh_prime")
globals().update({name: getattr(_activations, name) for name in _ACTIVATION_NAMES})

__all__ = ["ReferenceMicrocircuit", "ReferenceDGN", "ReferenceDFC", "MLP", "backprop_gradients",
           "mlp_loss", "node_perturbation_updates", "weight_perturbation_updates",
           *_ACTIVATION_NAMES]
