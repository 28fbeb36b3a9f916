"""Dendritic Gated Networks (Sezener et al. 2021): input, soma and the branch rule.

A DGN neuron is a soma with ``B`` dendritic branches (:func:`dgn_branch` in
:mod:`brian_dendrites.models.branches`). Each branch is opened or closed by a
fixed random half-space gate on the side information ``z``; an open branch
adds ``w_b . h + beta_b`` to the soma, ``h`` being the outputs of the layer
below. Every neuron predicts the target itself and learns only on its open
branches::

    a = sum_b g_b (w_b . h + beta_b)                      (dgn_soma, summed)
    p = sigmoid(a),  r = clip(p, eps, 1 - eps),  h_out = logit(r)
    err = learn (r - y) [|y - p| > eps]
    w_b <- clip(w_b - eta_t g_b err h, -w_clip, w_clip)   (dgn_rule)

One simulation step is one sample. For regression (``output='identity'``)
``p = r = h_out = a`` and ``err = learn (r - y)``.

References
----------
Sezener, Grabska-Barwinska, Kostadinov, Beau, Krishnagopal, Budden, Hutter,
Veness, Botvinick, Clopath, Hausser, Latham (2021). A rapid and efficient
learning rule for biological neural circuits. bioRxiv 2021.03.10.434756.
"""

from brian_dendrites.gating import DGN_OUTPUTS
from brian_dendrites.spec import NeuronModel, Param, SynapseModel, Update


def _check_output(output):
    if output not in DGN_OUTPUTS:
        raise ValueError(f"output must be one of {list(DGN_OUTPUTS)}, got {output!r}")


def _eps_param():
    return Param("eps", 0.01, "output clipping [eps, 1 - eps] and skip margin |y - p| <= eps",
                 "positive")


def dgn_input(output="sigmoid"):
    """Input layer of a DGN: the raw features ``x`` as the first layer reads them.

    ``x`` is set once per step by the circuit; the update ``encode`` (start
    slot, order -0.5) computes the first layer's input ``h``. For
    classification the inputs are logits of the previous layer's
    probabilities, clipped like every layer's outputs::

        h = clip(x, -logit(1 - eps), logit(1 - eps))

    For regression ``h = x``.

    Parameters
    ----------
    output : {'sigmoid', 'identity'}
        The network's output nonlinearity.

    Returns
    -------
    NeuronModel

    Raises
    ------
    ValueError
        For an unknown ``output``.
    """
    _check_output(output)
    eqs = "x : 1  # raw input, set once per step by the circuit\nh : 1  # input of the first layer\n"
    if output == "sigmoid":
        code = "h = clip(x, -log((1 - eps)/eps), log((1 - eps)/eps))"
        params = [_eps_param()]
    else:
        code = "h = x"
        params = []
    return NeuronModel(f"dgn_input_{output}", eqs, params=params,
                       updates=[Update(code, when="start", order=-0.5, name="encode")],
                       reference="Sezener et al. 2021 (DGN), inputs in logit space",
                       doc=dgn_input.__doc__)


def side_information():
    """Side information ``z`` of a DGN's gates (set once per step by the circuit).

    Returns
    -------
    NeuronModel
        One variable ``z``; the gate projections read it as ``z_pre``.
    """
    return NeuronModel("side_information", "z : 1  # side information, set once per step\n",
                       reference="Sezener et al. 2021 (DGN), gates' side information",
                       doc=side_information.__doc__)


def dgn_soma(output="sigmoid"):
    """Soma of a DGN neuron: the sum of its open branches, a prediction, an error.

    The update ``soma`` (``('groups', 0)``; circuits place it after the
    branch-to-soma sum) computes, for ``output='sigmoid'``::

        p = 1/(1 + exp(-a));  r = clip(p, eps, 1 - eps);  h = log(r/(1 - r))
        err = learn*(r - y)*int(abs(y - p) > eps)

    and for ``output='identity'`` ``p = r = h = a``, ``err = learn*(r - y)``.
    ``a`` is the summed drive of the neuron's branches, ``y`` the target of
    the neuron's network (set by the circuit), ``h`` what the next layer reads.

    Parameters
    ----------
    output : {'sigmoid', 'identity'}
        Classification (log loss) or regression (squared error).

    Returns
    -------
    NeuronModel

    Raises
    ------
    ValueError
        For an unknown ``output``.
    """
    _check_output(output)
    eqs = """
a : 1      # summed drive of the open branches
p : 1      # prediction
r : 1      # prediction as used by the rule (clipped for classification)
h : 1      # what the next layer reads
y : 1      # target of this neuron's network, set once per step by the circuit
err : 1    # learning signal
learn : 1 (shared)   # 1: plastic, 0: frozen
"""
    if output == "sigmoid":
        code = ("p = 1/(1 + exp(-a))\nr = clip(p, eps, 1 - eps)\nh = log(r/(1 - r))\n"
                "err = learn*(r - y)*int(abs(y - p) > eps)")
        params = [_eps_param()]
    else:
        code = "p = a\nr = a\nh = a\nerr = learn*(r - y)"
        params = []
    return NeuronModel(f"dgn_soma_{output}", eqs, params=params,
                       updates=[Update(code, when="groups", order=0, name="soma")],
                       reference="Sezener et al. 2021 (DGN), per-neuron form",
                       doc=dgn_soma.__doc__)


def dgn_rule(masked=False):
    """Learned projection of DGN branches: the gated delta rule, one step per sample.

    The synapses run from the **branches** (source) to the layer below
    (target): a branch's weights are then one contiguous row, and the dense
    C++ path skips the rows of closed branches (``connect_dense(...,
    row_gate='gate')``, about 85 % of them on MNIST), as an implementation
    that updates only open branches does. Model string::

        dw/dt = gate_pre*(clip(w - eta_t_pre*delta_pre*h_post, -w_clip_pre, w_clip_pre) - w)/dt
        v_ff_pre = gate_pre*w*h_post : 1 (summed)

    With one Euler step per sample an open branch (``gate = 1``) takes
    ``w <- clip(w - eta_t delta h, -w_clip, w_clip)``; a closed one keeps its
    weights, and its drive ``v_ff`` is 0 (the soma adds only open branches).
    ``delta = g err`` is the branch's learning signal, ``eta_t`` its shared
    learning rate of the step and ``w_clip`` its clip
    (:func:`~brian_dendrites.models.dgn_branch`); ``h`` the output of the
    layer below.

    Parameters
    ----------
    masked : bool
        Add a constant per-synapse ``mask`` (0 or 1) multiplying the update:
        one all-to-all projection then serves several one-vs-all networks,
        each branch learning only from its own network's layer below.
        (:func:`~brian_dendrites.circuits.dgn_network` connects such layers
        block-diagonally instead, ``connect_dense(..., blocks=C)``: no masked
        zeros to store and read.)

    Returns
    -------
    SynapseModel
    """
    m = "mask*" if masked else ""
    eqs = (f"dw/dt = gate_pre*(clip(w - {m}eta_t_pre*delta_pre*h_post, -w_clip_pre, "
           "w_clip_pre) - w)/dt : 1 (clock-driven)\n"
           "v_ff_pre = gate_pre*w*h_post : 1 (summed)\n")
    if masked:
        eqs += "mask : 1 (constant)  # 1 if the branch and the neuron below belong to the same network\n"
    return SynapseModel("dgn_rule_masked" if masked else "dgn_rule", eqs,
                        reference="Sezener et al. 2021 (DGN), learning rule",
                        doc=dgn_rule.__doc__)


def branch_to_soma():
    """Fixed wiring of branches to their soma: the sum, and the error sent back.

    Model string (one synapse per branch)::

        a_post = drive_pre : 1 (summed)
        delta_pre = gate_pre*err_post : 1 (summed)

    Circuits order the two summed updates separately: the sum before the
    soma's update, the error after it.

    Returns
    -------
    SynapseModel
    """
    eqs = "a_post = drive_pre : 1 (summed)\ndelta_pre = gate_pre*err_post : 1 (summed)\n"
    return SynapseModel("branch_to_soma", eqs,
                        reference="Sezener et al. 2021 (DGN), dendritic sum",
                        doc=branch_to_soma.__doc__)
