"""Models of the two-step steady-state microcircuit (Sacramento et al. 2018, MNIST).

For MNIST the paper did not integrate the somatic dynamics: every sample is
processed by a *bottom-up sweep* (somata at their basal prediction) and a
*top-down sweep* (output nudged toward the target, hidden somata mixed with
their apical input), then the weights take one Euler step of the local
rules. One simulation time step is one sample. The neurons have no
differential equation: each sweep is a named per-step :class:`Update`
(``bottom_up``, ``top_down``) that a circuit installs at per-layer orders with
``make_group(..., update_orders=...)`` (see
:func:`brian_dendrites.circuits.steady_state.steady_state_schedule`).

Defaults of the updates' slots (a single layer on its own): ``bottom_up`` at
``('groups', 0)``, ``top_down`` at ``('groups', 0.5)``.
"""

from brian2 import Equations, ms

from brian_dendrites.spec import NeuronModel, Param, SynapseModel, Update

from .activations import ACTIVATIONS, activation
from .plasticity import static_pathway

#: Defaults of the MNIST run (mixing factors from the default conductances
#: g_L 0.1, g_B 1, g_A 0.8, g_som 0.8 per ms).
STEADY_STATE_DEFAULTS = dict(lam_out=0.8 / 1.9, lam_A=0.8 / 1.9, lam_I=0.0)

PYRAMIDAL_EQUATIONS = """
v_B : 1        # basal input W r_bu of the layer below (summed)
v_A_td : 1     # apical input B r from the layer above, top-down sweep (summed)
v_A_int : 1    # apical input W_PI r from the interneurons, top-down sweep (summed)
v_A = v_A_td + v_A_int : 1   # apical potential
b : 1          # basal bias (learned)
u_bu : 1       # soma after the bottom-up sweep: basal prediction v_B + b
r_bu : 1       # phi(u_bu)
u : 1          # soma after the top-down sweep
r : 1          # phi(u)
err : 1        # learning signal learn*(r - r_bu), read by the basal synapses
u_tgt : 1      # target potential (output layer)
nudge : 1 (shared)   # 1 while the teacher is on (output layer)
learn : 1      # weight of this sample's update (1: plastic, 0: frozen; per batch copy)
"""

INTERNEURON_EQUATIONS = """
v_I : 1        # dendritic input W_IP r_bu from the pyramids of the same layer (summed)
b : 1          # dendritic bias (learned)
u_bu : 1       # soma after the bottom-up sweep: v_I + b
r_bu : 1       # phi(u_bu)
u : 1          # soma after the top-down sweep
r : 1          # phi(u), read by the interneuron-to-apical pathway
err : 1        # learning signal learn*(r_T - r_bu), read by the IP synapses
r_T : 1 (linked)     # partner pyramid's bottom-up rate (layer k + 1)
u_T : 1 (linked)     # partner pyramid's top-down potential (layer k + 1)
learn : 1      # weight of this sample's update (1: plastic, 0: frozen; per batch copy)
"""


def _check_activation(activation_name):
    if activation_name not in ACTIVATIONS:
        raise ValueError(f"activation_name must be one of {sorted(ACTIVATIONS)}, "
                         f"got {activation_name!r}")


def _two_step_neuron(name, equations, params, bottom_up, top_down, reference, doc):
    """A neuron set twice per step by the named updates ``bottom_up`` and ``top_down``."""
    updates = [Update(bottom_up, when="groups", order=0, name="bottom_up"),
               Update(top_down, when="groups", order=0.5, name="top_down")]
    return NeuronModel(name, equations, params=params, updates=updates, reference=reference,
                       doc=doc)


def _phis(activation_name):
    """``phi(u_bu)`` and ``phi(u)`` as Brian2 expressions."""
    _check_activation(activation_name)
    return activation(activation_name, "u_bu"), activation(activation_name, "u")


def steady_state_pyramidal(activation_name="logistic"):
    """Pyramidal neuron of the two-step steady-state approximation.

    No differential equation: the soma is set twice per step (one step = one
    sample) by two named updates::

        bottom_up:  u_bu = v_B + b;  r_bu = phi(u_bu)
        top_down:   u = u_bu + lam_A v_A + nudge lam_out (u_tgt - u_bu)
                    r = phi(u);  err = learn (r - r_bu);  b += dt eta_b err

    For a hidden layer ``lam_out`` is unused (``nudge = 0``); for the output
    layer ``lam_A`` is unused (no apical input). With ``nudge = 1`` the output
    is ``(1 - lam_out) u_bu + lam_out u_tgt``.

    Parameters
    ----------
    activation_name : str
        Key of :data:`brian_dendrites.models.ACTIVATIONS` (paper: logistic).

    Returns
    -------
    NeuronModel
        Updates ``bottom_up`` and ``top_down`` (a circuit sets their slots
        with ``make_group(..., update_orders=...)``).

    Raises
    ------
    ValueError
        For an unknown activation name.

    References
    ----------
    Sacramento et al. (2018), Supplementary Material (MNIST), eq. (7).

    Examples
    --------
    >>> m = steady_state_pyramidal()
    >>> [u.name for u in m.updates]
    ['bottom_up', 'top_down']
    """
    phi_bu, phi = _phis(activation_name)
    params = [Param("lam_A", STEADY_STATE_DEFAULTS["lam_A"],
                    "apical mixing factor g_A/(g_L + g_B + g_A)", "probability"),
              Param("lam_out", STEADY_STATE_DEFAULTS["lam_out"],
                    "output nudging factor g_som/(g_L + g_B + g_som)", "probability"),
              Param("eta_b", 0.1 / ms, "bias learning rate (eta_b*dt per sample)", "nonnegative")]
    return _two_step_neuron(
        "steady_state_pyramidal", PYRAMIDAL_EQUATIONS, params,
        bottom_up=f"u_bu = v_B + b\nr_bu = {phi_bu}",
        top_down=("u = u_bu + lam_A*v_A + nudge*lam_out*(u_tgt - u_bu)\n"
                  f"r = {phi}\nerr = learn*(r - r_bu)\nb += dt*eta_b*err"),
        reference="Sacramento et al. 2018, SM (steady-state approximation), eq. 7",
        doc=steady_state_pyramidal.__doc__)


def steady_state_interneuron(activation_name="logistic"):
    """SST interneuron of the two-step steady-state approximation.

    Set twice per step by two named updates::

        bottom_up:  u_bu = v_I + b;  r_bu = phi(u_bu)
                    err = learn (r_T - r_bu);  b += dt eta_b err
        top_down:   u = (1 - lam_I) u_bu + lam_I u_T;  r = phi(u)

    ``r_T`` and ``u_T`` are linked variables (``linked_var``, one-to-one) of
    the partner pyramid of the layer above (its ``r_bu`` and ``u``): the
    interneuron learns to predict its bottom-up rate (eq. 8) and is nudged
    toward its top-down potential by ``lam_I``.

    Parameters
    ----------
    activation_name : str
        Key of :data:`brian_dendrites.models.ACTIVATIONS`.

    Returns
    -------
    NeuronModel
        Updates ``bottom_up`` and ``top_down``.

    Raises
    ------
    ValueError
        If ``activation_name`` is not a key of ``ACTIVATIONS``.

    References
    ----------
    Sacramento et al. (2018), eq. (8) and Supplementary Material.
    """
    phi_bu, phi = _phis(activation_name)
    params = [Param("lam_I", STEADY_STATE_DEFAULTS["lam_I"],
                    "somatic nudging factor toward the partner pyramid", "probability"),
              Param("eta_b", 0.03 / ms, "bias learning rate (eta_b*dt per sample)", "nonnegative")]
    return _two_step_neuron(
        "steady_state_interneuron", INTERNEURON_EQUATIONS, params,
        bottom_up=f"u_bu = v_I + b\nr_bu = {phi_bu}\nerr = learn*(r_T - r_bu)\nb += dt*eta_b*err",
        top_down=f"u = (1 - lam_I)*u_bu + lam_I*u_T\nr = {phi}",
        reference="Sacramento et al. 2018, eq. 8, SM",
        doc=steady_state_interneuron.__doc__)


def steady_state_rule(target="v_B"):
    """Plastic projection of the steady-state mode: ``dw/dt = eta err_post r_bu_pre``.

    Model string::

        dw/dt = eta*err_post*r_bu_pre : 1 (clock-driven)
        target_post = w*r_bu_pre : 1 (summed)

    With one step per sample, the Euler step is ``w += (eta dt) err r_bu``: the
    per-sample learning rate is ``eta*dt``. ``err_post`` (``err = learn*(r - r_bu)``)
    is a neuron variable computed once per step by the top-down (pyramid) or
    bottom-up (interneuron) sweep.

    Parameters
    ----------
    target : str
        Postsynaptic summed variable (``'v_B'`` for pyramids, ``'v_I'`` for
        interneurons).

    Returns
    -------
    SynapseModel

    Raises
    ------
    ValueError
        If ``target`` is not a variable name.

    References
    ----------
    Sacramento et al. (2018), eqs. 7-8 (steady-state form).
    """
    if not isinstance(target, str) or not target.isidentifier():
        raise ValueError(f"target must be a variable name, got {target!r}")
    eqs = str(Equations("dw/dt = eta*err_post*r_bu_pre : 1 (clock-driven)\n"
                        "I_post = w*r_bu_pre : 1 (summed)", I_post=f"{target}_post"))
    return SynapseModel(
        f"steady_state_{target}", eqs,
        params=[Param("eta", 0.1 / ms, "learning rate (eta*dt per sample)", "nonnegative")],
        reference="Sacramento et al. 2018 eqs. 7-8 (steady-state form)",
        doc=steady_state_rule.__doc__,
    )


def fixed_projection(target="v_A_td", pre_rate="r"):
    """Fixed all-to-all rate projection ``target_post = w r_pre`` (summed).

    The same model as :func:`~brian_dendrites.models.static_pathway` (the
    battery covers it there).

    Parameters
    ----------
    target : str
        Postsynaptic summed variable (``'v_A_td'``, ``'v_A_int'``).
    pre_rate : str
        Presynaptic rate variable (top-down sweep rates ``r``).

    Returns
    -------
    SynapseModel
    """
    return static_pathway(target=target, pre_rate=pre_rate)
