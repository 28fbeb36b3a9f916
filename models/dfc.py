"""Deep Feedback Control (Meulemans et al. 2021): layer neurons, controller, rules.

A feedback controller drives the network's output ``r_L`` to a target
``r_L*``; its control signal ``u`` reaches every layer's apical compartment
through feedback weights ``Q``; every neuron learns from the difference
between its somatic rate and the rate its basal input alone would give::

    v_B,i = W_i r_{i-1}                        (dfc_forward, summed)
    tau_A dv_A,i/dt = -v_A,i + Q_i u           (dfc_feedback, summed into qu)
    tau_v dv_i/dt   = -v_i + v_B,i + b_i + v_A,i
    r_i = phi(v_i)
    e = r_L* - r_L;   u = u_int + k_p e;   tau_u du_int/dt = e - alpha u
    dW_i/dt = eta (phi(v_i) - phi(v_B,i + b_i)) r_{i-1}^T

Each sample is a *feedback phase* of ``n_steps`` Euler steps of ``dt``. Its
first step is the feed-forward sweep (``v = v_B + b``, ``v_A = u = 0``)
that also fixes the output target ``r_L* = r_L^- - lam (r_L^- - y)`` (the
gradient step of ``L = |r_L - y|^2 / 2``); the following steps integrate
the controlled dynamics layer by layer, each layer reading the rates its
predecessor reached in the same step (the official code's
``inst_transmission``) and the control signal of the same step (its
``proactive_controller``). The rules apply per step a share of the update
(the plasticity is local in time): ``avg = 1/(n_steps - 1)`` on every
controlled step (DFC: the update averaged over the phase) or ``last = 1``
on the last step only (DFC-SS: the update at the steady state); the
shared parameter ``ss`` selects it at run time.

The sleep phase trains ``Q`` from noise alone: with the output target equal
to the feed-forward output (``lam = 0``) and noise of size ``sigma`` in the
apical compartments, ``dQ_i/dt = eta_fb (-v_A,i u^T - beta_fb Q_i)``
(``eta_fb`` absorbs the paper's ``1/sigma^2``).

All tunables (time constants, ``k_p``, ``alpha``, ``lam``, learning rates,
noise, ``ss``) are shared parameters: run values change them without a
rebuild.

References
----------
Meulemans, Tristany Farinha, Garcia Ordonez, Vilimelis Aceituno, Sacramento,
Grewe (2021). Credit assignment in neural networks through deep feedback
control. NeurIPS 34.
"""

from brian2 import ms

from brian_dendrites.spec import NeuronModel, Param, SynapseModel, Update

from .activations import ACTIVATIONS, activation

#: Output losses the controller knows (the output target's gradient step):
#: squared error of the output rates, or cross-entropy of their softmax (the
#: output layer stays linear; the softmax is part of the loss, as in the paper).
DFC_LOSSES = ("mse", "xent")

_FLAGS = """first : 1 (shared)   # 1 on the sample's first step (feed-forward sweep)
avg : 1 (shared)     # share of the update on this step: 1/(n_steps - 1) after the first
last : 1 (shared)    # 1 on the sample's last step
learn : 1 (shared)   # 1: forward weights plastic
"""


def _check_activation(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"activation_name must be one of {sorted(ACTIVATIONS)}, got {name!r}")


def dfc_neuron(activation_name="tanh", held_input=False, noise=True):
    """A DFC layer neuron: basal, apical and somatic compartments, one Euler step per update.

    The update ``noise`` draws the apical noise of the step, and then the
    update ``soma`` (both ``('groups', 0)``; circuits place them per layer,
    after the layer's basal and feedback sums, noise first) computes::

        noise_A = sigma*sqrt(dt*tau_u)/tau_A*randn()    (update 'noise')
        v_A = (1 - first)*(v_A + dt/tau_A*(-v_A + qu) + noise_A)
        v = first*(v_B + b) + (1 - first)*(v + dt/tau_v*(-v + v_B + b + v_A))
        r = phi(v)
        g = learn*((1 - ss)*avg + ss*last)*(r - phi(v_B + b))
        b = b + last*(db + eta*g)
        db = (1 - last)*(db + eta*g)
        fb = learn_fb*eta_fb*avg

    ``g`` is the forward rule's postsynaptic factor, ``fb`` the feedback
    rule's. The bias, like the forward weights (:func:`dfc_forward`), stays
    fixed during the feedback phase: its changes accumulate in ``db`` and
    are applied on the last step (the official code simulates the phase with
    fixed parameters and then applies the time-averaged update; changing them
    during the phase lets the output reach its target through the weights,
    which ends the teaching signal early). ``tau_A = dt`` makes the apical compartment instantaneous
    (``v_A = Q u`` plus noise), the official code's default. The noise
    term is the Euler-Maruyama step of ``tau_A dv_A = (-v_A + Q u) dt +
    sigma sqrt(tau_u) dW`` (the official code's, with time in units of
    ``tau_u``). It is drawn in its own loop so that the soma's loop calls
    only pure functions and the compiler can vectorise it (``tanh`` included);
    the random numbers are the same, drawn in the same order.

    With ``held_input=True`` (the first layer, whose input is the sample's
    features, constant over the phase) the basal input is computed once per
    sample and held, and the forward rule's changes are summed in the
    neuron (:func:`dfc_forward` with ``held_input=True``)::

        v_B = first*v_B0 + (1 - first)*v_B     (before the soma's step)
        G = (1 - first)*G + eta*g              (after it)

    where ``v_B0`` is the summed ``W r`` of the first step (0 on the others).
    As the weights and the input are fixed during the phase, ``v_B`` takes
    the same value on every step as without holding, and the accumulated
    change ``sum_t eta g_t r^T`` is the rank-1 ``G r^T``.

    Parameters
    ----------
    activation_name : str
        Key of :data:`brian_dendrites.models.ACTIVATIONS` (paper: ``'tanh'``
        hidden, ``'linear'`` output).
    held_input : bool
        Hold the basal input over the phase and accumulate ``G`` (for a layer
        whose input is constant during the phase).
    noise : bool
        Include the apical noise (the update ``noise`` and the parameters
        ``sigma`` and ``tau_u``). ``False`` leaves them out: the noise is
        needed only by the sleep phase, and its random numbers are drawn on
        every step even at ``sigma = 0`` (about 14 % of a step of the
        MNIST-sized network); a run value for ``sigma`` is then an unknown
        name (an error), not silently ignored.

    Returns
    -------
    NeuronModel

    Raises
    ------
    ValueError
        For an unknown activation name.

    References
    ----------
    Meulemans et al. (2021), eqs. (2), (5), (13) and Methods.
    """
    _check_activation(activation_name)
    for name, flag in (("held_input", held_input), ("noise", noise)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    phi, phi_b = activation(activation_name, "v"), activation(activation_name, "v_B + b")
    eqs = ("""
v_B0 : 1      # basal input W r of the first step (summed; 0 on the others)
v_B : 1       # basal input, held over the phase
G : 1         # forward changes eta*g summed over the phase (applied by the synapses)
""" if held_input else """
v_B : 1       # basal input W r of the layer below (summed)
""") + """qu : 1        # feedback Q u from the controller (summed)
b : 1         # basal bias (learned)
v_A : 1       # apical potential
""" + ("""noise_A : 1   # apical noise of this step (drawn by the update 'noise')
""" if noise else "") + """v : 1         # somatic potential
r : 1         # rate phi(v), read by the next layer
g : 1         # forward rule's factor learn*share*(phi(v) - phi(v_B + b))
db : 1        # bias change accumulated over the phase (applied on the last step)
fb : 1        # feedback rule's factor learn_fb*eta_fb*avg
""" + _FLAGS
    params = [
        Param("tau_v", 0.2 * ms, "somatic time constant", "positive"),
        Param("tau_A", 0.02 * ms, "apical time constant (tau_A = dt: instantaneous)", "positive"),
        *([Param("tau_u", 1 * ms, "controller time constant (time unit of the noise)", "positive"),
           Param("sigma", 0.0, "apical noise amplitude", "nonnegative")] if noise else []),
        Param("eta", 0.0, "forward learning rate per sample (bias)", "nonnegative"),
        Param("learn_fb", 0.0, "1: feedback weights plastic (sleep phase), 0: fixed",
              "probability"),
        Param("eta_fb", 0.0, "feedback learning rate per sample (includes 1/sigma^2)",
              "nonnegative"),
        Param("beta_fb", 0.0, "weight decay of the feedback rule", "nonnegative"),
        Param("ss", 0.0, "0: DFC (update averaged over the phase), 1: DFC-SS (last step)",
              "probability"),
    ]
    noise_code = "noise_A = sigma*sqrt(dt*tau_u)/tau_A*randn()"
    code = (
        f"v_A = (1 - first)*(v_A + dt/tau_A*(-v_A + qu){' + noise_A' if noise else ''})\n"
        "v = first*(v_B + b) + (1 - first)*(v + dt/tau_v*(-v + v_B + b + v_A))\n"
        f"r = {phi}\n"
        f"g = learn*((1 - ss)*avg + ss*last)*(r - {phi_b})\n"
        "b = b + last*(db + eta*g)\n"
        "db = (1 - last)*(db + eta*g)\n"
        "fb = learn_fb*eta_fb*avg"
    )
    name = f"dfc_neuron_{activation_name}"
    if held_input:
        code = "v_B = first*v_B0 + (1 - first)*v_B\n" + code + "\nG = (1 - first)*G + eta*g"
        name += "_held"
    updates = [Update(code, when="groups", order=0, name="soma")]
    if noise:
        updates.insert(0, Update(noise_code, when="groups", order=0, name="noise"))
    else:
        name += "_quiet"
    return NeuronModel(name, eqs, params=params, updates=updates,
                       reference="Meulemans et al. 2021 (DFC), network dynamics and rule",
                       doc=dfc_neuron.__doc__)


def dfc_input():
    """Input layer of a DFC network: the sample's features ``r``, set once per step.

    Returns
    -------
    NeuronModel
        Variables ``r`` and ``rg``, the rate on the phase's first and last
        steps and 0 on the others (the first layer's synapses,
        :func:`dfc_forward` with ``held_input=True``, read ``rg_pre``: their
        dense loops skip the rows where it is 0).
    """
    return NeuronModel("dfc_input", "r : 1  # input rate, set once per step by the circuit\n"
                       "rg : 1  # r on the phase's first and last steps, else 0 (set by the circuit)\n",
                       reference="Meulemans et al. 2021 (DFC), network input",
                       doc=dfc_input.__doc__)


def dfc_controller(loss="mse"):
    """The feedback controller: one unit per output neuron, a leaky PI controller.

    ``r_L`` is a linked variable (the output neuron's rate, one to one).
    Update ``control`` (``('groups', 0)``; circuits run it before the
    layers, so every layer reads this step's control signal)::

        err = (1 - first)*(r_star - r_L)
        u_int = (1 - first)*(u_int + dt/tau_u*(err - alpha*u))
        u = u_int + k_p*err

    Update ``target`` (``('groups', 1)``; after the layers: on the first
    step ``r_L`` is the feed-forward output ``r_L^-``), for ``loss='mse'``
    (``L = |r_L - y|^2/2``)::

        r_ff = first*r_L + (1 - first)*r_ff
        r_star = first*(r_L - lam*(r_L - y)) + (1 - first)*r_star

    and for ``loss='xent'`` (``L = -sum y log softmax(r_L)``, whose gradient
    is ``softmax(r_L) - y``)::

        r_star = first*(r_L - lam*(1/Z - y)) + (1 - first)*r_star

    where ``Z = sum_j exp(r_L,j - r_L)``, so that ``1/Z`` is the unit's
    softmax probability (no overflow: a far larger competitor makes ``Z``
    infinite and the probability 0), summed over the output units by
    :func:`dfc_softmax` synapses that the circuit runs after the output
    layer. ``y`` is the sample's target (set by the circuit). ``lam = 0``
    makes the target the feed-forward output (the sleep phase: the
    controller only counters noise).

    Parameters
    ----------
    loss : {'mse', 'xent'}
        Output loss whose gradient step defines ``r_star``.

    Returns
    -------
    NeuronModel

    Raises
    ------
    ValueError
        For an unknown loss.
    """
    if loss not in DFC_LOSSES:
        raise ValueError(f"loss must be one of {list(DFC_LOSSES)}, got {loss!r}")
    eqs = """
r_L : 1 (linked)   # the output neuron's rate
y : 1        # the sample's target, set once per step by the circuit
r_ff : 1     # feed-forward output of the sample (first step)
r_star : 1   # output target r_ff - lam*dL/dr
err : 1      # control error r_star - r_L
u_int : 1    # integral part of the control signal
u : 1        # control signal, read by the feedback synapses
first : 1 (shared)   # 1 on the sample's first step
"""
    if loss == "xent":
        eqs += "Z : 1        # sum_j exp(r_L_j - r_L): 1/Z is softmax(r_L) (dfc_softmax, summed)\n"
    params = [
        Param("tau_u", 1 * ms, "controller time constant", "positive"),
        Param("alpha", 0.0015, "leak of the integral control", "positive"),
        Param("k_p", 1.5, "proportional control gain", "nonnegative"),
        Param("lam", 0.05, "output target step size lambda", "nonnegative"),
    ]
    control = ("err = (1 - first)*(r_star - r_L)\n"
               "u_int = (1 - first)*(u_int + dt/tau_u*(err - alpha*u))\n"
               "u = u_int + k_p*err")
    grad = "r_L - y" if loss == "mse" else "1.0/Z - y"
    target = ("r_ff = first*r_L + (1 - first)*r_ff\n"
              f"r_star = first*(r_L - lam*({grad})) + (1 - first)*r_star")
    return NeuronModel(f"dfc_controller_{loss}", eqs, params=params,
                       updates=[Update(control, when="groups", order=0, name="control"),
                                Update(target, when="groups", order=1, name="target")],
                       reference="Meulemans et al. 2021 (DFC), PI controller, eq. (3)-(4)",
                       doc=dfc_controller.__doc__)


def dfc_softmax():
    """All-to-all synapses among the controller units: the softmax normaliser.

    Model string::

        Z_post = exp(r_L_pre - r_L_post) : 1 (summed)

    ``1/Z`` is the postsynaptic unit's softmax probability of the output
    rates (:func:`dfc_controller` with ``loss='xent'``). No weights, no
    plasticity.

    Returns
    -------
    SynapseModel
    """
    return SynapseModel("dfc_softmax", "Z_post = exp(r_L_pre - r_L_post) : 1 (summed)\n",
                        reference="Meulemans et al. 2021 (DFC), softmax cross-entropy output",
                        doc=dfc_softmax.__doc__)


def dfc_forward(held_input=False):
    """Plastic forward projection of a DFC network.

    Model string::

        dw/dt = last_post*(dw_acc + eta_post*g_post*r_pre)/dt : 1 (clock-driven)
        ddw_acc/dt = ((1 - last_post)*eta_post*g_post*r_pre - last_post*dw_acc)/dt : 1 (clock-driven)
        v_B_post = w*r_pre : 1 (summed)

    One Euler step adds ``eta g r_pre`` to the accumulated change ``dw_acc``
    and, on the sample's last step, applies it: ``w += dw_acc + eta g r_pre;
    dw_acc = 0``. The weight stays fixed during the feedback phase, as in
    the paper's separation of time scales and the official code (which
    simulates the phase with fixed weights, then applies the time-averaged
    update); ``g = learn*share*(phi(v) - phi(v_B + b))`` and the learning
    rate ``eta`` are the postsynaptic neuron's (:func:`dfc_neuron`),
    ``share`` is ``avg`` (DFC: the update averaged over the phase) or
    ``last`` (DFC-SS: ``dw_acc`` stays 0).

    With ``held_input=True`` (the first layer: its input, the sample's
    features, is constant over the phase)::

        dw/dt = last_post*G_post*rg_pre/dt : 1 (clock-driven)
        v_B0_post = first_post*w*rg_pre : 1 (summed)

    the basal input is summed on the first step only and held by the neuron,
    and the phase's change, ``sum_t eta g_t r^T = G r^T`` (``G`` summed by
    :func:`dfc_neuron` with ``held_input=True``), is applied on the last
    step. ``rg`` (:func:`dfc_input`) is the input on those two steps and 0
    between them, so the dense loops skip every row on the other steps
    (and the rows of zero inputs on all of them): two passes over the
    weights per sample instead of two per step. Same values as the plain
    form (the change to rounding: the sum over steps is taken before the
    product with ``r``).

    Parameters
    ----------
    held_input : bool
        The first layer's form (above) instead of the general one.

    Returns
    -------
    SynapseModel
    """
    if not isinstance(held_input, bool):
        raise TypeError(f"held_input must be True or False, got {held_input!r}")
    if held_input:
        return SynapseModel("dfc_forward_held",
                            "dw/dt = last_post*G_post*rg_pre/dt : 1 (clock-driven)\n"
                            "v_B0_post = first_post*w*rg_pre : 1 (summed)\n",
                            reference="Meulemans et al. 2021 (DFC), forward rule eq. (5)",
                            doc=dfc_forward.__doc__)
    eqs = ("dw/dt = last_post*(dw_acc + eta_post*g_post*r_pre)/dt : 1 (clock-driven)\n"
           "ddw_acc/dt = ((1 - last_post)*eta_post*g_post*r_pre - last_post*dw_acc)/dt"
           " : 1 (clock-driven)\n"
           "v_B_post = w*r_pre : 1 (summed)\n")
    return SynapseModel("dfc_forward", eqs,
                        reference="Meulemans et al. 2021 (DFC), forward rule eq. (5)",
                        doc=dfc_forward.__doc__)


def dfc_feedback():
    """Feedback projection ``Q`` from the controller to a layer's apical compartments.

    Model string::

        dw/dt = fb_post*(-v_A_post*u_pre - beta_fb_post*w)/dt : 1 (clock-driven)
        qu_post = w*u_pre : 1 (summed)

    ``w`` is an entry of ``Q`` (circuits name the projections ``Q{k}``);
    ``fb = learn_fb*eta_fb*avg`` (:func:`dfc_neuron`) is zero unless the
    feedback weights learn (the sleep phase); ``beta_fb`` is the weight
    decay of the paper's rule (a postsynaptic shared parameter).

    Returns
    -------
    SynapseModel
    """
    eqs = ("dw/dt = fb_post*(-v_A_post*u_pre - beta_fb_post*w)/dt : 1 (clock-driven)\n"
           "qu_post = w*u_pre : 1 (summed)\n")
    return SynapseModel("dfc_feedback", eqs,
                        reference="Meulemans et al. 2021 (DFC), feedback rule eq. (13)",
                        doc=dfc_feedback.__doc__)
