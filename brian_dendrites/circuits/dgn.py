"""Dendritic Gated Networks (Sezener et al. 2021) as one Brian2 network.

``C`` one-vs-all networks of layer sizes ``[n_0, n_1, ..., n_L]`` with ``B``
branches per neuron, all in one compiled network: **one simulation step is
one sample**. Layout (:mod:`brian_dendrites.gating`): layer ``k`` has
``C*n_k`` somata (``nrn{k}``; soma ``c*n_k + i`` is neuron ``i`` of class
``c``) and ``C*n_k*B`` branches (``br{k}``; branch ``(c*n_k + i)*B + b``).

Per step (the schedule, :func:`dgn_schedule`):

1. ``start``: the circuit reads the sample: ``inp.x = x_in(t, i)``,
   ``side.z = z_in(t, i)``, every soma's target ``y = y_target(t, class)``,
   the learn flag; the input encodes ``h``; branches set ``eta_t``;
2. gates: ``br{k}.v_gate = V_k z`` (fixed projections ``G{k}``), then
   ``gate = [v_gate > theta]``;
3. for ``k = 1..L``: ``br{k}.v_ff = g W_k h_{k-1}`` (``W{k}``), the soma sums
   its open branches (``S{k}``: ``a = sum_b gate (v_ff + beta)``), computes
   ``p, r, h, err`` and sends ``delta = gate*err`` back to its branches;
   then ``W{k}`` takes one step of the gated rule (it needs only this
   layer's errors and ``h_{k-1}``, and nothing later in the step reads it,
   so updating here equals updating at the end);
4. the branch biases take one step of the gated rule.

The learned projections ``W{k}`` run from the branches (source) to the layer
below (target), so that each branch's weights are one contiguous row: the
dense path skips the rows of closed branches in the forward sum and the
update (``connect_dense(..., row_gate='gate')``), as NumPy code that touches
only the open branches does. Projections ``W{k}`` for ``k >= 2`` of a
multi-class network are block-diagonal (``connect_dense(..., blocks=C)``):
a branch of class ``c`` connects only to class ``c``'s layer below, so its
row holds ``n_{k-1}`` weights, and every learned and gate projection runs on
the dense C++ path. The gate hyperplanes are stored in single precision
when they are single-precision numbers, as
:func:`~brian_dendrites.gating.draw_gates` draws them (half the memory
traffic of the gates, the largest arrays; products and sums stay in double
precision, so the gates are the same).

References
----------
.. [1] Sezener et al. (2021), bioRxiv 2021.03.10.434756.
"""

from __future__ import annotations

import numpy as np
from brian2 import StateMonitor, TimedArray, ms

import brian_dendrites.models as models

from .._validation import (
    check_array,
    check_choice,
    check_int,
    check_layers,
    check_nonnegative,
    check_real,
    check_seed,
    check_time,
)
from ..dense import connect_dense
from ..gating import draw_gates
from . import base
from .base import Circuit, Readout, WeightFamily

__all__ = ["dgn_network", "dgn_schedule", "dgn_weight_shapes", "dgn_block_to_full",
           "dgn_full_to_block", "DGN_INPUTS"]

#: Role -> TimedArray name of a DGN circuit.
DGN_INPUTS = {"x": "x_in", "side": "z_in", "target": "y_target", "learn": "learn_in"}

_GATE, _UPDATE = 1, 1000


def _layer_order(k):
    return 10 * k


def dgn_schedule(L):
    """The per-step schedule of a DGN circuit with ``L`` layers.

    Returns
    -------
    list of tuple
        ``(when, order, object, what)`` rows in execution order.

    Examples
    --------
    >>> [row[2] for row in dgn_schedule(1)]  # doctest: +NORMALIZE_WHITESPACE
    ['inp_drive, side_drive, nrn*_target, *_learn', 'inp encode', 'br* rate',
     'G* (summed)', 'br* gate', 'W1 (summed)', 'S1 (summed a)', 'nrn1 soma',
     'S1 (summed delta)', 'W1 (state update)', 'br* learn_bias', 'out_mon']
    """
    L = check_int(L, "L", minimum=1)
    rows = [("start", -1, "inp_drive, side_drive, nrn*_target, *_learn",
             "x = x_in(t, i); z = z_in(t, i); y = y_target(t, class); learn = learn_in(t)"),
            ("start", -0.5, "inp encode", "h = clip(x, -logit(1 - eps), logit(1 - eps))"),
            ("start", 0, "br* rate", "eta_t = learn eta/(1 + lr_decay n_learned)"),
            ("groups", 0, "G* (summed)", "br{k}.v_gate = V_k side.z (nonzero z rows)"),
            ("groups", _GATE, "br* gate", "gate = [v_gate > theta]")]
    for k in range(1, L + 1):
        o = _layer_order(k)
        prev = "inp" if k == 1 else f"nrn{k - 1}"
        rows += [("groups", o, f"W{k} (summed)", f"br{k}.v_ff = gate W{k} {prev}.h (open rows)"),
                 ("groups", o + 1, f"S{k} (summed a)", f"nrn{k}.a = sum_b gate (v_ff + beta)"),
                 ("groups", o + 2, f"nrn{k} soma", "p, r, h, err = learn (r - y) [|y - p| > eps]"),
                 ("groups", o + 3, f"S{k} (summed delta)", f"br{k}.delta = gate err"),
                 ("groups", o + 4, f"W{k} (state update)",
                  "w = clip(w - eta_t delta h_post, -w_clip, w_clip) (open rows)")]
    rows += [("groups", _UPDATE + 1, "br* learn_bias",
              "beta = clip(beta - eta_t delta, -w_clip, w_clip); n_learned += learn"),
             ("end", 0, "out_mon", f"record nrn{L}.p")]
    return rows


def dgn_weight_shapes(layers, n_branches, n_classes, n_side) -> dict:
    """Family -> ``(n_post, n_pre)``: ``W{k}`` learned, ``G{k}`` gate hyperplanes.

    ``W{k}`` has one row per branch of layer ``k`` (``C*n_k*B``, class-major)
    and one column per neuron of its own class's layer below (``n_{k-1}``;
    the layout of :class:`~brian_dendrites.reference.ReferenceDGN`;
    :func:`dgn_block_to_full` gives the block-diagonal matrix over all
    classes' neurons).

    Examples
    --------
    >>> dgn_weight_shapes([4, 3, 1], n_branches=2, n_classes=2, n_side=5)
    {'W1': (12, 4), 'G1': (12, 5), 'W2': (4, 3), 'G2': (4, 5)}
    """
    layers = check_layers(layers)
    C, B = n_classes, n_branches
    out = {}
    for k in range(1, len(layers)):
        out[f"W{k}"] = (C * layers[k] * B, layers[k - 1])
        out[f"G{k}"] = (C * layers[k] * B, n_side)
    return out


def dgn_block_to_full(local, n_classes, n_post, n_branches, n_prev):
    """Per-class weights ``(C*n_post*B, n_prev)`` -> the block-diagonal matrix.

    ``local[row]`` holds the weights of branch ``row`` on the layer below of
    its own class (the layout of ``W{k}``, :func:`dgn_weight_shapes`, and of
    :class:`~brian_dendrites.reference.ReferenceDGN`); the result
    ``(C*n_post*B, C*n_prev)`` is zero off the class blocks.
    """
    C = n_classes
    local = np.asarray(local, dtype=float)
    rows = n_post * n_branches
    full = np.zeros((C * rows, C * n_prev))
    for c in range(C):
        full[c * rows:(c + 1) * rows, c * n_prev:(c + 1) * n_prev] = local[c * rows:(c + 1) * rows]
    return full


def dgn_full_to_block(full, n_classes, n_post, n_branches, n_prev):
    """Inverse of :func:`dgn_block_to_full` (off-block entries are dropped)."""
    C = n_classes
    rows = n_post * n_branches
    full = np.asarray(full, dtype=float)
    return np.concatenate([full[c * rows:(c + 1) * rows, c * n_prev:(c + 1) * n_prev]
                           for c in range(C)])


def _single_precision(V):
    """Whether every value of ``V`` is a float32 number (stored exactly in single precision)."""
    with np.errstate(over="ignore"):
        return bool(np.array_equal(V.astype(np.float32).astype(np.float64), V))


def _check_gates(gates, layers, B, C, n_side):
    L = len(layers) - 1
    if not isinstance(gates, (list, tuple)) or len(gates) != L:
        raise ValueError(f"gates: expected a list of {L} (V, theta) pairs (one per layer), "
                         f"got {type(gates).__name__}"
                         + (f" of length {len(gates)}" if hasattr(gates, "__len__") else ""))
    out = []
    for k, pair in enumerate(gates, start=1):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"gates[{k - 1}]: expected a pair (V, theta)")
        n = C * layers[k] * B
        V = check_array(pair[0], f"gates[{k - 1}][0] (hyperplanes)", shape=(n, n_side))
        theta = check_array(pair[1], f"gates[{k - 1}][1] (thresholds)", shape=(n,))
        out.append((V, theta))
    return out


def dgn_network(layers, n_samples, *, n_branches=100, n_classes=1, output="sigmoid",
                n_side=None, gates=None, theta_mean=1.0, theta_sd=0.0, eta=1e-3, eps=0.01,
                w_clip=200.0, lr_decay=0.0, weights=None, seed=0, t_sample=1 * ms) -> Circuit:
    """Build ``n_classes`` one-vs-all Dendritic Gated Networks in one Brian2 network.

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, n_1, ..., n_L]`` of one class's network (``n_L = 1`` for
        one-vs-all classification and scalar regression).
    n_samples : int
        Samples (time steps) per run: rows of the input TimedArrays.
    n_branches : int >= 1
        Dendritic branches per neuron ``B``.
    n_classes : int >= 1
        One-vs-all networks ``C`` (all trained by the same run).
    output : {'sigmoid', 'identity'}
        Classification (sigmoid on logit inputs, log loss) or regression.
    n_side : int, optional
        Width of the side information ``z`` (default ``n_in``).
    gates : list of (V, theta), optional
        Hyperplanes and thresholds per layer (see
        :func:`brian_dendrites.gating.draw_gates`); default: drawn from
        ``seed`` with ``theta_mean``, ``theta_sd``.
    theta_mean, theta_sd : float
        Threshold statistics of drawn gates.
    eta : float >= 0
        Learning rate per sample (a run value: ``'br{k}.eta'``).
    eps : float in (0, 0.5)
        Output clipping and skip margin (classification).
    w_clip : float > 0
        Weight and bias clip (run value ``'br{k}.w_clip'``).
    lr_decay : float >= 0
        ``eta_t = eta/(1 + lr_decay*n_learned)`` (run value).
    weights : dict, optional
        Initial ``W{k}`` as ``(n_post, n_pre)`` matrices of
        :func:`dgn_weight_shapes` (default 0, the paper's start): one row per
        branch, its own class's layer below as columns.
    seed : int
        Seed of the drawn gates.
    t_sample : Quantity (second)
        Simulated time per sample (the time step; only a unit choice).

    Returns
    -------
    Circuit
        Roles ``x``, ``side``, ``target`` (``(n_samples, C)``), ``learn``;
        readout: the output somata's ``p`` (one row of ``C*n_L`` per
        sample, before the sample's update).

    Raises
    ------
    TypeError, ValueError, KeyError
        For invalid sizes, parameters, gates or weights (naming the argument).
    """
    layers = check_layers(layers)
    L = len(layers) - 1
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    B = check_int(n_branches, "n_branches", minimum=1)
    C = check_int(n_classes, "n_classes", minimum=1)
    output = check_choice(output, "output", models.DGN_OUTPUTS)
    n_side = layers[0] if n_side is None else check_int(n_side, "n_side", minimum=1)
    eta = check_nonnegative(eta, "eta")
    eps = check_real(eps, "eps", 0, 0.5, low_open=True, high_open=True)
    w_clip = check_real(w_clip, "w_clip", 0, None, low_open=True)
    lr_decay = check_nonnegative(lr_decay, "lr_decay")
    seed = check_seed(seed, allow_none=False)
    check_time(t_sample, "t_sample")
    if gates is None:
        gates = draw_gates(n_side, layers, B, C, theta_mean, theta_sd, seed)
    gates = _check_gates(gates, layers, B, C, n_side)
    shapes = dgn_weight_shapes(layers, B, C, n_side)
    weights = base.check_weights(weights, {k: v for k, v in shapes.items() if k[0] == "W"})
    init = {f"W{k}": np.zeros(shapes[f"W{k}"]) for k in range(1, L + 1)}
    init.update(weights)
    for k in range(1, L + 1):
        init[f"G{k}"] = gates[k - 1][0]

    objs = {
        "x_in": TimedArray(np.zeros((n_samples, layers[0])), dt=t_sample, name="x_in"),
        "z_in": TimedArray(np.zeros((n_samples, n_side)), dt=t_sample, name="z_in"),
        "y_target": TimedArray(np.zeros((n_samples, C)), dt=t_sample, name="y_target"),
        "learn_in": TimedArray(np.ones(n_samples), dt=t_sample, name="learn_in"),
    }
    eps_value = {"eps": eps} if output == "sigmoid" else {}
    inp = models.dgn_input(output).make_group(layers[0], name="inp", **eps_value)
    inp.run_regularly("x = x_in(t, i)", when="start", order=-1, name="inp_drive")
    side = models.side_information().make_group(n_side, name="side")
    side.run_regularly("z = z_in(t, i)", when="start", order=-1, name="side_drive")
    objs.update(inp=inp, side=side)

    families = {}
    prev = inp
    branch_model, soma_model = models.dgn_branch(), models.dgn_soma(output)
    for k in range(1, L + 1):
        o = _layer_order(k)
        n_k = layers[k]
        br = branch_model.make_group(C * n_k * B, name=f"br{k}",
                                     update_orders={"gate": ("groups", _GATE),
                                                    "learn_bias": ("groups", _UPDATE + 1)},
                                     eta=eta, w_clip=w_clip, lr_decay=lr_decay)
        br.theta = gates[k - 1][1]
        br.run_regularly("learn = learn_in(t)", when="start", order=-1, name=f"br{k}_learn")
        nrn = soma_model.make_group(C * n_k, name=f"nrn{k}",
                                    update_orders={"soma": ("groups", o + 2)}, **eps_value)
        nrn.run_regularly(f"learn = learn_in(t)\ny = y_target(t, i // {n_k})", when="start",
                          order=-1, name=f"nrn{k}_target")
        objs.update({br.name: br, nrn.name: nrn})

        # float32 storage only when it is exact (draw_gates draws float32 numbers)
        single = _single_precision(init[f"G{k}"])
        g = models.static_pathway(target="v_gate", pre_rate="z").make_synapses(
            side, br, name=f"G{k}", order=0, dtype={"w": np.float32} if single else None)
        # rows are side-information inputs: a zero input (most pixels) adds nothing
        connect_dense(g, row_gate="z")
        g.w = base.matrix_to_synapses(init[f"G{k}"])
        for su in g.summed_updaters.values():
            su.order = 0
        # branches -> layer below: a branch's weights are one row, skipped while it is closed
        # (for k >= 2, of its own class's layer below only: C diagonal blocks);
        # the update right after the layer's own forward pass (it needs only this layer's
        # errors and the layer below; nothing later in the step reads W{k})
        w = models.dgn_rule().make_synapses(br, prev, name=f"W{k}", order=o + 4)
        connect_dense(w, row_gate="gate", blocks=C if k >= 2 else 1)
        w.w = init[f"W{k}"].ravel()
        for su in w.summed_updaters.values():
            su.order = o
        s = models.branch_to_soma().make_synapses(br, nrn, name=f"S{k}", order=_UPDATE,
                                                  connect=dict(i=np.arange(C * n_k * B),
                                                               j=np.arange(C * n_k * B) // B))
        for key, su in s.summed_updaters.items():
            su.order = o + 1 if key.startswith("a") else o + 3
        objs.update({g.name: g, w.name: w, s.name: s})
        families[f"W{k}"] = True
        families[f"G{k}"] = False
        prev = nrn

    objs["out_mon"] = StateMonitor(prev, "p", record=True, when="end", order=0, name="out_mon")
    return Circuit(
        objects=objs,
        inputs=dict(DGN_INPUTS),
        readout=Readout(monitor="out_mon", variable="p"),
        weights={name: WeightFamily(name, name, tuple(shapes[name]), init[name], plastic=plastic,
                                    reverse=plastic)
                 for name, plastic in families.items()},
        n_slots=n_samples, t_slot=t_sample, dt=t_sample, schedule=dgn_schedule(L),
        info=dict(layers=layers, n_branches=B, n_classes=C, output=output, n_side=n_side,
                  theta_mean=theta_mean, theta_sd=theta_sd, eta=eta, eps=eps, w_clip=w_clip,
                  lr_decay=lr_decay, mode="dgn"),
    )
