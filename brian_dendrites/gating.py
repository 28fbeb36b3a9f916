"""Fixed random half-space gates of Dendritic Gated Networks (NumPy only).

Shared by the Brian2 circuit (:func:`brian_dendrites.circuits.dgn_network`)
and the NumPy yardstick (:class:`brian_dendrites.reference.ReferenceDGN`), so
that both use the same gates for the same seed.

Layout (used everywhere in the package): a DGN of ``C`` one-vs-all networks
with layer sizes ``[n_0, n_1, ..., n_L]`` and ``B`` branches per neuron has,
in layer ``k``, ``C * n_k`` neurons (neuron ``c * n_k + i`` is neuron ``i`` of
class ``c``'s network) and ``C * n_k * B`` branches (branch
``(c * n_k + i) * B + b`` is branch ``b`` of that neuron). A branch's gate
is ``g = [v . z > theta]`` with ``v`` a unit-norm direction drawn from
``N(0, I)`` over the side information ``z`` and one threshold ``theta`` per
branch, ``theta = theta_mean + theta_sd * N(0, 1)``.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_int, check_layers, check_nonnegative, check_real, check_seed

__all__ = ["draw_gates", "open_fraction", "DGN_OUTPUTS"]

#: Output nonlinearities of a DGN: classification (sigmoid on logit inputs) or regression.
DGN_OUTPUTS = ("sigmoid", "identity")


def draw_gates(n_side, layers, n_branches, n_classes=1, theta_mean=1.0, theta_sd=0.0, seed=0):
    """Draw the hyperplanes and thresholds of every branch of a DGN.

    Parameters
    ----------
    n_side : int >= 1
        Width of the side information ``z``.
    layers : sequence of int
        ``[n_0, n_1, ..., n_L]`` of one class's network (``n_0``: input
        width, ``n_L``: usually 1).
    n_branches : int >= 1
        Branches per neuron ``B``.
    n_classes : int >= 1
        One-vs-all networks ``C``.
    theta_mean, theta_sd : float
        Mean and spread of the per-branch thresholds (``theta_sd >= 0``).
    seed : int
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    list of (V, theta)
        One pair per layer ``k = 1..L``: ``V`` of shape ``(C*n_k*B, n_side)``
        with unit-norm rows, ``theta`` of shape ``(C*n_k*B,)``. The entries
        of ``V`` are rounded to single-precision numbers (float64 arrays of
        float32 values; row norms 1 to ~1e-7), so that
        :func:`~brian_dendrites.circuits.dgn_network` stores them in half
        the memory without changing them; all arithmetic with them stays in
        double precision.

    Raises
    ------
    TypeError, ValueError
        For non-integer or out-of-range sizes, a negative ``theta_sd`` or a
        non-finite threshold.

    Examples
    --------
    >>> gates = draw_gates(5, [5, 3, 1], n_branches=4, n_classes=2, seed=1)
    >>> [V.shape for V, theta in gates]
    [(24, 5), (8, 5)]
    >>> bool(np.allclose(np.linalg.norm(gates[0][0], axis=1), 1))
    True
    """
    n_side = check_int(n_side, "n_side", minimum=1)
    layers = check_layers(layers, "layers")
    n_branches = check_int(n_branches, "n_branches", minimum=1)
    n_classes = check_int(n_classes, "n_classes", minimum=1)
    theta_mean = check_real(theta_mean, "theta_mean")
    theta_sd = check_nonnegative(theta_sd, "theta_sd")
    seed = check_seed(seed, allow_none=False)
    rng = np.random.default_rng(seed)
    out = []
    for n_k in layers[1:]:
        n = n_classes * n_k * n_branches
        V = rng.standard_normal((n, n_side))
        V /= np.linalg.norm(V, axis=1, keepdims=True)
        V = V.astype(np.float32).astype(np.float64)  # float32 numbers: see Returns
        theta = theta_mean + theta_sd * rng.standard_normal(n)
        out.append((V, theta))
    return out


def open_fraction(theta_mean, theta_sd, z_norm=1.0):
    """Expected fraction of open branches for side information ``z ~ N(0, s^2 I)``.

    With a unit-norm ``v`` and ``z ~ N(0, s^2 I)``, ``v . z ~ N(0, s^2)``;
    with ``theta ~ N(m, sd^2)`` the gate opens with probability
    ``1 - Phi(m / sqrt(s^2 + sd^2))``.

    Parameters
    ----------
    theta_mean, theta_sd : float
        Threshold statistics (``theta_sd >= 0``).
    z_norm : float > 0
        ``s``, the standard deviation of every component of ``z``.

    Returns
    -------
    float

    Examples
    --------
    >>> round(open_fraction(0.0, 0.0), 3)
    0.5
    >>> round(open_fraction(1.0, 0.0), 3)
    0.159
    """
    from scipy.special import ndtr

    m = check_real(theta_mean, "theta_mean")
    sd = check_nonnegative(theta_sd, "theta_sd")
    s = check_real(z_norm, "z_norm", 0, None, low_open=True)
    return float(1.0 - ndtr(m / np.sqrt(s * s + sd * sd)))
