"""Layer sizes and weight-family shapes shared by the microcircuit builders."""

from __future__ import annotations

from .._validation import check_layers

__all__ = ["check_layers", "weight_shapes"]


def weight_shapes(layers) -> dict:
    """Weight family -> ``(n_post, n_pre)`` of a microcircuit with ``layers``.

    ``W{k}`` bottom-up into layer ``k``; for every hidden layer ``k``: ``B{k}``
    top-down from layer ``k+1``, ``IP{k}`` pyramids -> interneurons, ``PI{k}``
    interneurons -> apical dendrites.

    Examples
    --------
    >>> weight_shapes([3, 4, 2])
    {'W1': (4, 3), 'W2': (2, 4), 'B1': (4, 2), 'IP1': (2, 4), 'PI1': (4, 2)}
    """
    layers = check_layers(layers)
    L = len(layers) - 1
    shapes = {f"W{k}": (layers[k], layers[k - 1]) for k in range(1, L + 1)}
    for k in range(1, L):
        shapes[f"B{k}"] = (layers[k], layers[k + 1])
        shapes[f"IP{k}"] = (layers[k + 1], layers[k])
        shapes[f"PI{k}"] = (layers[k], layers[k + 1])
    return shapes
