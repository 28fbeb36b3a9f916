"""Alignment of weight updates with the backprop gradient, and of weights with feedback.

A learning rule approximates backpropagation when its weight change ``dW``
points along the negative loss gradient ``-dL/dW``. These tools measure it
per layer as a cosine (1: same direction, 0: orthogonal) or an angle in
degrees, matrices being flattened (Frobenius inner product). They also
measure the angle between forward weights ``W_{k+1}`` and fixed top-down
weights ``B_k`` (transposed), the quantity of feedback alignment
(Lillicrap et al. 2016) and of Sacramento et al. (2018), Fig. 2.

All functions take plain arrays (NumPy); nothing here depends on Brian2.

References
----------
.. [1] J. Sacramento, R. Ponte Costa, Y. Bengio, W. Senn, "Dendritic cortical
   microcircuits approximate the backpropagation algorithm", NeurIPS 2018,
   Fig. 2 (angle between forward and feedback weights), Section 3 (in the
   self-predicting state the apical error is the backpropagated error).
.. [2] T. P. Lillicrap, D. Cownden, D. B. Tweed, C. J. Akerman, "Random
   synaptic feedback weights support error backpropagation for deep
   learning", Nat. Commun. 7, 13276 (2016).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_array

__all__ = ["cosine", "angle_deg", "layer_alignment", "update_gradient_alignment",
           "feedback_alignment_angles", "error_signal_angles"]


def cosine(a, b) -> float:
    """Cosine of the angle between two arrays of the same shape (flattened).

    Parameters
    ----------
    a, b : array_like
        Same shape, finite, not all zero.

    Returns
    -------
    float
        ``<a, b> / (|a| |b|)`` in ``[-1, 1]``.

    Raises
    ------
    TypeError
        If an argument is not numeric.
    ValueError
        On different shapes, empty arrays, NaN/inf, or a zero array (the angle
        is undefined).

    Examples
    --------
    >>> round(cosine([1, 0], [1, 1]), 4)
    0.7071
    """
    a_arr, b_arr = check_array(a, "a"), check_array(b, "b")
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"cosine: shapes differ, {a_arr.shape} vs {b_arr.shape}")
    fa, fb = a_arr.ravel(), b_arr.ravel()
    na, nb = np.linalg.norm(fa), np.linalg.norm(fb)
    if na == 0 or nb == 0:
        raise ValueError("cosine: undefined for a zero array (no update or zero gradient); "
                         "present a nudged pattern or check the learning rate")
    return float(np.clip(fa @ fb / (na * nb), -1.0, 1.0))


def angle_deg(a, b) -> float:
    """Angle in degrees between two arrays of the same shape (0 = parallel).

    Examples
    --------
    >>> round(angle_deg([1, 0], [0, 2]), 6)
    90.0
    """
    return float(np.degrees(np.arccos(cosine(a, b))))


def layer_alignment(updates, gradients, names=None) -> dict:
    """Per-layer cosine and angle between updates and *negative* gradients.

    Parameters
    ----------
    updates : sequence or dict of arrays
        Weight changes ``dW_k`` (or low-pass traces ``D_k``) of a rule.
    gradients : sequence or dict of arrays
        ``dLoss/dW_k`` (e.g. from
        :func:`brian_dendrites.reference.mlp.backprop_gradients`), same
        shapes and order (or keys) as ``updates``.
    names : sequence of str, optional
        Layer names for sequences (default ``'W1', 'W2', ...``).

    Returns
    -------
    dict
        ``name -> {'cosine': c, 'angle_deg': a, 'norm_update': |dW|,
        'norm_gradient': |g|}`` with ``c = cos(dW, -g)``.

    Examples
    --------
    >>> out = layer_alignment([np.ones((2, 2))], [-2 * np.ones((2, 2))])
    >>> out['W1']['cosine']
    1.0
    """
    if isinstance(updates, dict) != isinstance(gradients, dict):
        raise TypeError("updates and gradients must both be dicts or both be sequences")
    if isinstance(updates, dict):
        if set(updates) != set(gradients):
            raise ValueError(f"updates and gradients have different layers: "
                             f"{sorted(updates)} vs {sorted(gradients)}")
        keys = list(updates)
        ups, grads = [updates[k] for k in keys], [gradients[k] for k in keys]
    else:
        ups, grads = list(updates), list(gradients)
        if len(ups) != len(grads):
            raise ValueError(f"updates has {len(ups)} layers, gradients {len(grads)}")
        keys = list(names) if names is not None else [f"W{k + 1}" for k in range(len(ups))]
        if len(keys) != len(ups):
            raise ValueError(f"names has {len(keys)} entries for {len(ups)} layers")
    out = {}
    for k, u, g in zip(keys, ups, grads):
        u, g = check_array(u, f"updates[{k!r}]"), check_array(g, f"gradients[{k!r}]")
        if u.shape != g.shape:
            raise ValueError(f"layer {k}: update shape {u.shape} != gradient shape {g.shape}")
        c = cosine(u, -g)
        out[k] = {"cosine": c, "angle_deg": float(np.degrees(np.arccos(c))),
                  "norm_update": float(np.linalg.norm(u)), "norm_gradient": float(np.linalg.norm(g))}
    return out


def update_gradient_alignment(W_before, W_after, gradients, names=None) -> dict:
    """Alignment of the weight change ``W_after - W_before`` with ``-gradients``.

    Parameters
    ----------
    W_before, W_after : sequence or dict of arrays
        Weights before and after a presentation (same layout).
    gradients : sequence or dict of arrays
        Loss gradients at ``W_before`` (same layout).
    names : sequence of str, optional
        See :func:`layer_alignment`.

    Returns
    -------
    dict
        As :func:`layer_alignment`.
    """
    if isinstance(W_before, dict):
        if not isinstance(W_after, dict) or set(W_after) != set(W_before):
            raise ValueError("W_before and W_after must hold the same layers")
        updates = {k: _change(W_before[k], W_after[k], k) for k in W_before}
    else:
        if len(W_before) != len(W_after):
            raise ValueError(f"W_before has {len(W_before)} layers, W_after {len(W_after)}")
        updates = [_change(b, a, k) for k, (b, a) in enumerate(zip(W_before, W_after))]
    return layer_alignment(updates, gradients, names)


def _change(before, after, key):
    """``after - before`` of one layer, both checked (finite, same shape)."""
    b = check_array(before, f"W_before[{key!r}]")
    a = check_array(after, f"W_after[{key!r}]", shape=b.shape)
    return a - b


def feedback_alignment_angles(forward, feedback) -> list:
    """Angles (degrees) between forward weights ``W_{k+1}`` and feedback ``B_k``.

    Backprop sends errors down through ``W_{k+1}^T``; a circuit with fixed
    top-down weights ``B_k`` (shape ``(n_k, n_{k+1})``) approximates it
    better the smaller the angle between ``W_{k+1}^T`` and ``B_k``.

    Parameters
    ----------
    forward : sequence of arrays
        ``[W_1, ..., W_L]``, ``W_k`` of shape ``(n_k, n_{k-1})``.
    feedback : sequence of arrays
        ``[B_1, ..., B_{L-1}]``, ``B_k`` of shape ``(n_k, n_{k+1})``.

    Returns
    -------
    list of float
        ``angle(W_{k+1}^T, B_k)`` for ``k = 1..L-1``; 90 deg for unrelated
        random matrices, 0 deg for ``W_{k+1}^T`` proportional to ``B_k``.

    Examples
    --------
    >>> W = [np.ones((3, 2)), np.arange(6.).reshape(2, 3)]
    >>> feedback_alignment_angles(W, [np.arange(6.).reshape(2, 3).T])
    [0.0]
    """
    forward, feedback = list(forward), list(feedback)
    if len(feedback) != len(forward) - 1:
        raise ValueError(f"need len(feedback) == len(forward) - 1, got {len(feedback)} and "
                         f"{len(forward)}")
    out = []
    for k, B in enumerate(feedback):
        Wt = check_array(forward[k + 1], f"forward[{k + 1}]").T
        B = check_array(B, f"feedback[{k}]")
        if Wt.shape != B.shape:
            raise ValueError(f"feedback[{k}] must have shape {Wt.shape} (n_k, n_k+1), got {B.shape}")
        out.append(angle_deg(Wt, B))
    return out


def error_signal_angles(forward, feedback, X, output_errors, activation="softplus_sacramento",
                        attenuations=None) -> list:
    """Mean angles (degrees) between feedback-carried and backpropagated hidden errors.

    For the network ``r_k = phi(c_k W_k r_{k-1})`` (``r_0 = x``), starting
    from the output error ``delta_L = e``, backprop sends
    ``delta_k = (W_{k+1}^T delta_{k+1}) * phi'(a_k)`` down, a feedback circuit
    ``delta_k = (B_k delta_{k+1}) * phi'(a_k)`` (``a_k = c_k W_k r_{k-1}``).
    Per hidden layer, the angle between the two vectors is averaged over the
    samples: the "hidden error-signal angle" that the weight angle of
    :func:`feedback_alignment_angles` only approximates (in Sacramento et al.
    2018, Fig. 2, forward weights "aligned to ~45 deg"; in a feedback-alignment
    MLP on that task this angle sits at 40-46 deg while the flattened weight
    angle stays near 58 deg, ../shared/notes/sacramento-fig2-probe.md).

    Parameters
    ----------
    forward : sequence of arrays
        ``[W_1, ..., W_L]``, ``W_k`` of shape ``(n_k, n_{k-1})``.
    feedback : sequence of arrays
        ``[B_1, ..., B_{L-1}]``, ``B_k`` of shape ``(n_k, n_{k+1})``.
    X : array, shape (n_samples, n_0)
        Inputs.
    output_errors : array, shape (n_samples, n_L)
        Output errors ``e`` of these samples (e.g. ``r_L - r_target``).
    activation : str
        Hidden rate function (a name of :func:`~brian_dendrites.activations.get_activation`).
    attenuations : sequence of float, optional
        ``c_k`` per layer (default 1): the microcircuit's free steady state has
        ``c_k = g_B/(g_L + g_B + g_A)`` for hidden and ``g_B/(g_L + g_B)`` for
        the output layer.

    Returns
    -------
    list of float
        One mean angle per hidden layer ``k = 1..L-1`` (samples whose two
        signals are not both non-zero are left out; NaN if none is left).

    Examples
    --------
    >>> W = [np.eye(2), np.eye(2)]
    >>> [round(a, 3) for a in error_signal_angles(W, [np.eye(2)], np.ones((3, 2)),
    ...                                           np.ones((3, 2)), "linear")]
    [0.0]
    """
    from ..activations import get_activation

    forward, feedback = list(forward), list(feedback)
    L = len(forward)
    if len(feedback) != L - 1:
        raise ValueError(f"need len(feedback) == len(forward) - 1, got {len(feedback)} and {L}")
    if L < 2:
        raise ValueError("forward: error-signal angles need at least one hidden layer")
    Ws = [check_array(W, f"forward[{k}]", ndim=2) for k, W in enumerate(forward)]
    X = check_array(X, "X", ndim=2, shape=(None, Ws[0].shape[1]))
    E = check_array(output_errors, "output_errors", shape=(X.shape[0], Ws[-1].shape[0]))
    c = [1.0] * L if attenuations is None else [float(a) for a in attenuations]
    if len(c) != L or not np.all(np.isfinite(c)):
        raise ValueError(f"attenuations must hold {L} finite numbers, got {attenuations!r}")
    phi, phi_prime, _ = get_activation(activation)
    pre, r = [], X
    for k in range(L - 1):
        a = c[k] * r @ Ws[k].T
        pre.append(a)
        r = phi(a)
    out = []
    d_bp, d_fa = E, E
    for k in range(L - 2, -1, -1):
        B = check_array(feedback[k], f"feedback[{k}]", shape=(Ws[k].shape[0], Ws[k + 1].shape[0]))
        d = phi_prime(pre[k])
        d_bp, d_fa = (d_bp @ Ws[k + 1]) * d, (d_fa @ B.T) * d
        n_bp, n_fa = np.linalg.norm(d_bp, axis=1), np.linalg.norm(d_fa, axis=1)
        ok = (n_bp > 0) & (n_fa > 0)
        cos = np.sum(d_bp[ok] * d_fa[ok], axis=1) / (n_bp[ok] * n_fa[ok])
        out.append(float(np.degrees(np.mean(np.arccos(np.clip(cos, -1, 1))))) if ok.any()
                   else float("nan"))
    return out[::-1]
