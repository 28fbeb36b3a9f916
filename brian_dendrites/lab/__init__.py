"""The rule lab: how learning rules' updates relate to the gradient.

- :mod:`.alignment`: cosines and angles between updates and gradients,
  forward and feedback weights, hidden error signals (plain NumPy);
- :mod:`.rules`: the update-rule protocol and the registry :data:`RULES`
  (backprop, feedback alignment, node and weight perturbation in NumPy; DFC,
  the dendritic microcircuit and DGNs through their compiled Brian2 learners);
- :mod:`.compare`: :func:`compare` (trajectories, angles to the gradient and
  to Gauss-Newton) and :func:`bias_variance` (Richards et al. 2019).

Only the Brian2 rules touch Brian2, through the public learners, when they
start.
"""

from .alignment import (
    angle_deg,
    cosine,
    error_signal_angles,
    feedback_alignment_angles,
    layer_alignment,
    update_gradient_alignment,
)
from .compare import BIAS_VARIANCE_COLUMNS, COMPARE_COLUMNS, bias_variance, compare
from .rules import RULE_ALIASES, RULES, Rule, get_rule, init_weights

__all__ = ["cosine", "angle_deg", "layer_alignment", "update_gradient_alignment",
           "feedback_alignment_angles", "error_signal_angles", "Rule", "RULES", "RULE_ALIASES",
           "get_rule", "init_weights", "compare", "bias_variance", "COMPARE_COLUMNS",
           "BIAS_VARIANCE_COLUMNS"]
