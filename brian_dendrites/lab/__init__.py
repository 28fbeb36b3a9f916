"""The rule lab: how far a learning rule's updates are from backprop's.

Plain NumPy; no Brian2 import. See :mod:`brian_dendrites.lab.alignment`.
"""

from .alignment import (
    angle_deg,
    cosine,
    error_signal_angles,
    feedback_alignment_angles,
    layer_alignment,
    update_gradient_alignment,
)

__all__ = ["cosine", "angle_deg", "layer_alignment", "update_gradient_alignment",
           "feedback_alignment_angles", "error_signal_angles"]
