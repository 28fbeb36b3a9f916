"""Circuit container and weight-matrix conversions."""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Circuit", "matrix_to_synapses", "synapses_to_matrix", "check_weights"]


@dataclasses.dataclass
class Circuit:
    """Named Brian2 objects of one network plus what a learner needs to know.

    Attributes
    ----------
    objects : dict
        Brian2 objects by name (groups, synapses, monitors, TimedArrays).
    weights : dict
        Weight family name -> ``(synapses_name, n_post, n_pre)`` for dense
        all-to-all projections (weights as ``(n_post, n_pre)`` matrices).
    info : dict
        Builder arguments and derived sizes (layers, step counts, ...).
    """

    objects: dict
    weights: dict = dataclasses.field(default_factory=dict)
    info: dict = dataclasses.field(default_factory=dict)


def matrix_to_synapses(W: np.ndarray) -> np.ndarray:
    """Flatten a ``(n_post, n_pre)`` weight matrix into Brian2 synapse order.

    ``Synapses.connect()`` (all to all) creates synapses pre-major: synapse
    ``s`` joins pre ``s // n_post`` to post ``s % n_post``.
    """
    W = np.asarray(W, dtype=float)
    if W.ndim != 2:
        raise ValueError(f"W must be a 2-D (n_post, n_pre) matrix, got shape {W.shape}")
    return np.ascontiguousarray(W.T).ravel()


def synapses_to_matrix(w: np.ndarray, n_post: int, n_pre: int) -> np.ndarray:
    """Inverse of :func:`matrix_to_synapses`."""
    w = np.asarray(w, dtype=float)
    if w.size != n_post * n_pre:
        raise ValueError(f"w has {w.size} synapses, expected n_post*n_pre = {n_post * n_pre}")
    return w.reshape(n_pre, n_post).T.copy()


def check_weights(weights, shapes: dict) -> dict:
    """Validate initial weight matrices against ``shapes`` (family -> (n_post, n_pre)).

    Returns a dict of float arrays. Raises KeyError for an unknown family,
    ValueError for a wrong shape or NaN/inf, naming the family.
    """
    out = {}
    for name, W in dict(weights or {}).items():
        if name not in shapes:
            raise KeyError(f"weights: unknown family {name!r}; expected some of {sorted(shapes)}")
        W = np.asarray(W, dtype=float)
        if W.shape != shapes[name]:
            raise ValueError(f"weights[{name!r}] must have shape {shapes[name]} (n_post, n_pre), "
                             f"got {W.shape}")
        if not np.all(np.isfinite(W)):
            raise ValueError(f"weights[{name!r}] contains NaN or inf")
        out[name] = W
    return out
