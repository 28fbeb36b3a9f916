"""Biophysical multi-compartment cells for populations: compartments in real units.

Compose a cell from a :class:`Soma` and :class:`Dendrite` compartments
(geometry in µm with specific membrane properties, or explicit capacitance
and leak conductance), couple them (a conductance, or derived from the
geometry), give compartments synaptic receptors (:data:`AMPA`,
:data:`NMDA` with the Jahr & Stevens magnesium block, :data:`GABA`, or your
own :class:`Receptor`) and active mechanisms (:class:`DendriticSpike`), and
:class:`Cell` writes ONE Brian2 equation set for a
:class:`~brian2.NeuronGroup` of ``N`` such cells.

A :class:`Cell` *is* a :class:`~brian_dendrites.spec.NeuronModel`:
``print(cell)`` shows everything that runs (equations, parameter values,
events), ``cell.make_group(N)`` builds the group, ``cell.with_params(...)``
changes defaults, and every parameter is a ``(shared, constant)`` (or, with
``shared=False``, per-neuron ``(constant)``) variable, so run values change
it in a compiled binary without a rebuild.

Naming: variables carry the name of their compartment, ``v_soma``,
``v_apical``; ``I_axial_apical`` is the axial current into ``apical``,
``I_syn_apical`` the sum of its receptor and active currents,
``I_ext_apical`` its external input (a plain variable: the target of one
summed pathway, or set from a TimedArray); the coupling conductance between
``a`` and ``b`` is ``g_a_b``; receptor ``R`` on compartment ``c`` has the
conductance ``g_R_c`` and the current ``I_R_c``; receptor kinetics are
cell-wide (``E_R``, ``tau_rise_R``, ``tau_decay_R``).

Equations are composed with Brian2's own substitution
(``Equations(template, v='v_apical', ...)``), never by string formatting.

Geometry conventions
--------------------
A compartment of length ``L`` and diameter ``d`` is a cylinder with lateral
area ``pi d L`` (no end caps, as NEURON): ``C = cm pi d L``,
``g_L = g_L_specific pi d L``. Coupling conductances from geometry:

- ``'half_cylinders'`` (default; center to center): the axial resistance
  from the middle of ``a`` to the middle of ``b``,
  ``1/g = Ra_a (L_a/2)/(pi d_a^2/4) + Ra_b (L_b/2)/(pi d_b^2/4)``. This is
  the circuit NEURON builds for connected sections with one segment each,
  and a chain of ``n`` equal segments is the discrete cable of spacing
  ``L/n``;
- ``'cylinder_<name>'``: the axial resistance of the whole cylinder of the
  named compartment (one of the two), the other being a point, e.g. a
  dendrite attached to a small soma: ``1/g = Ra L/(pi d^2/4)``.

Stiffness: explicit Euler (the default ``method``) is stable for
``dt < 2 C/g`` of every compartment (``g`` its leak plus couplings); short,
thin segments (e.g. 10 µm of a 1 µm dendrite: ``C/g`` ~ 6 µs) need a small
``dt`` or ``method='exponential_euler'`` (passive and AMPA/GABA cells; the
Mg block of NMDA is not linear in ``v`` and needs ``euler``, ``rk2``...).

References
----------
Jahr & Stevens (1990), J. Neurosci. 10(9):3178 (Mg block: 1/(1 + [Mg]/3.57 mM
exp(-0.062 v/mV))). Pagkalos, Chavlis & Poirazi (2023), Nat. Commun. 14:131
(Dendrify: event-driven dendritic spikes in reduced compartmental models).
Koch (1999), Biophysics of Computation, ch. 2 (discrete and continuous cable).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers

from brian2 import (
    DimensionMismatchError,
    Equations,
    Quantity,
    amp,
    cm,
    farad,
    get_dimensions,
    mM,
    ms,
    mV,
    nS,
    ohm,
    pA,
    pF,
    second,
    siemens,
    uF,
    um,
    uS,
    volt,
)

from ._validation import check_choice, check_quantity
from .spec import Event, NeuronModel, Param, SynapseModel, Update, _unit_string, substitute_expression

__all__ = [
    "Receptor",
    "AMPA",
    "NMDA",
    "GABA",
    "DendriticSpike",
    "NMDAPlateau",
    "BranchGate",
    "IntegrateAndFire",
    "PoissonSpikes",
    "Compartment",
    "Soma",
    "Dendrite",
    "cable",
    "Cell",
    "layer5_cell",
]


def _default(value):
    """A dataclass default for a Quantity (unhashable, so given by a factory)."""
    return dataclasses.field(default_factory=lambda: value)


#: Names a receptor may not take (they name the cell's own currents and conductances).
_RESERVED = frozenset({"axial", "syn", "ext", "ds", "L", "Na", "K", "Na_ds", "K_ds", "gate"})

_SPECIFIC_CAPACITANCE = farad / cm**2
_SPECIFIC_CONDUCTANCE = siemens / cm**2
_RESISTIVITY = ohm * cm


# ---------------------------------------------------------------------------
# argument checks (named errors)
# ---------------------------------------------------------------------------
def _quantity(value, name, unit, what, positive=False, minimum=0):
    return check_quantity(value, name, unit, what, minimum=minimum, positive=positive)


def _name(value, argname):
    if not isinstance(value, str) or not value.isidentifier():
        raise ValueError(f"{argname}: expected an identifier (letters, digits, '_'), "
                         f"got {value!r}")
    if "__" in value or value.startswith("_") or value.endswith("_"):
        raise ValueError(f"{argname}: {value!r} may not start or end with '_' or contain '__'")
    return value


def _unknown(kind, name, known):
    close = difflib.get_close_matches(str(name), list(known), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}.{hint} Known: {', '.join(known) or 'none'}"


def _lines(template, comments=(), **names):
    """Brian2 equation lines: ``template`` with ``names`` substituted by ``Equations``.

    Brian2's ``Equations(template, **names)`` does the renaming (and checks
    the template); the lines are then written in the template's order, each
    with its comment (``comments``: one per template line, '' for none).
    """
    eqs = Equations(template, **names)
    lines = [ln for ln in template.strip("\n").splitlines() if ln.strip()]
    comments = tuple(comments) + ("",) * (len(lines) - len(tuple(comments)))
    out = []
    for line, comment in zip(lines, comments):
        head = line.split(":")[0]
        var = head.split("=")[0].strip()
        if var.startswith("d") and var.endswith("/dt"):
            var = var[1:-3]
        var = names.get(var, var)
        eq = eqs[var]
        flags = f" ({', '.join(eq.flags)})" if eq.flags else ""
        # the unit as the template writes it (renaming does not change units)
        unit = line.split(":", 1)[1].split("(")[0].split("#")[0].strip() or _unit_string(eq.dim)
        if var in eqs.diff_eq_names:
            text = f"d{var}/dt = {eq.expr.code} : {unit}{flags}"
        elif var in eqs.subexpr_names:
            text = f"{var} = {eq.expr.code} : {unit}{flags}"
        else:
            text = f"{var} : {unit}{flags}"
        out.append(text + (f"  # {comment}" if comment else ""))
    return out


def _sum(terms, zero):
    """The sum of Brian2 expressions (``zero`` if there are none)."""
    return " + ".join(terms) if terms else zero


# ---------------------------------------------------------------------------
# receptors
# ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Receptor:
    """A synaptic receptor type: reversal potential, rise and decay, optional Mg block.

    A presynaptic event of weight ``w`` gives a conductance (``kind=
    'conductance'``, ``w`` in siemens, current ``g (E - v)``) or a current
    (``kind='current'``, ``w`` in amp) that peaks at ``w``: a difference of
    exponentials normalised to peak 1 (NEURON's ``Exp2Syn``) if
    ``tau_rise > 0``, else an exponential decay from ``w``.

    Parameters
    ----------
    name : str
        Type name used in variable names (``g_AMPA_apical``).
    tau_decay : Quantity (second)
        Decay time constant (> 0).
    tau_rise : Quantity (second)
        Rise time constant (0: instantaneous rise; else ``< tau_decay``).
    E : Quantity (volt)
        Reversal potential (conductance receptors).
    mg_block : bool
        Multiply the current by the magnesium block of NMDA receptors,
        ``B(v) = 1/(1 + [Mg]/K_Mg exp(-k_Mg v))`` (Jahr & Stevens 1990:
        ``K_Mg = 3.57 mM``, ``k_Mg = 0.062/mV``; cell-wide variables ``Mg``,
        ``K_Mg``, ``k_Mg``).
    kind : {'conductance', 'current'}
        Conductance-based (default) or current-based.

    Examples
    --------
    >>> from brian2 import ms, mV
    >>> Receptor('AMPA', tau_decay=2*ms, tau_rise=0.2*ms, E=0*mV).tau_decay
    2. * msecond
    """

    name: str
    tau_decay: Quantity
    tau_rise: Quantity = _default(0 * ms)
    E: Quantity = _default(0 * mV)
    mg_block: bool = False
    kind: str = "conductance"

    def __post_init__(self):
        _name(self.name, "Receptor name")
        where = f"Receptor {self.name!r}"
        if self.name in _RESERVED:
            raise ValueError(f"{where}: the name is used by the cell's own variables "
                             f"(I_{self.name}_<compartment>); reserved: {sorted(_RESERVED)}")
        _quantity(self.tau_decay, f"{where}: tau_decay", second, "a time (e.g. 5*ms)",
                  positive=True)
        _quantity(self.tau_rise, f"{where}: tau_rise", second, "a time (e.g. 0.5*ms)")
        _quantity(self.E, f"{where}: E", mV, "a potential (e.g. 0*mV)", minimum=None)
        if float(self.tau_rise) >= float(self.tau_decay):
            raise ValueError(f"{where}: tau_rise must be smaller than tau_decay, got "
                             f"tau_rise={self.tau_rise!r}, tau_decay={self.tau_decay!r}")
        check_choice(self.kind, f"{where}: kind", ["conductance", "current"])
        if not isinstance(self.mg_block, bool):
            raise TypeError(f"{where}: mg_block must be True or False, got {self.mg_block!r}")
        if self.mg_block and self.kind != "conductance":
            raise ValueError(f"{where}: mg_block needs kind='conductance'")

    @property
    def double(self) -> bool:
        """True for a difference of exponentials (``tau_rise > 0``)."""
        return float(self.tau_rise) > 0

    @property
    def weight_unit(self):
        """Unit of a synaptic weight onto this receptor (siemens or amp)."""
        return siemens if self.kind == "conductance" else amp

    def params(self) -> list:
        """Cell-wide parameters of this receptor type."""
        r = self.name
        out = [Param(f"tau_decay_{r}", self.tau_decay, f"{r}: decay time constant", "positive")]
        if self.double:
            out.append(Param(f"tau_rise_{r}", self.tau_rise,
                             f"{r}: rise time constant (< tau_decay_{r})", "positive"))
        if self.kind == "conductance":
            out.append(Param(f"E_{r}", self.E, f"{r}: reversal potential"))
        return out

    def shared_lines(self) -> list:
        """Cell-wide subexpressions (the peak normalisation of a double exponential)."""
        if not self.double:
            return []
        return _lines(
            "t_peak = tau_rise*tau_decay/(tau_decay - tau_rise)*log(tau_decay/tau_rise) "
            ": second (shared)\n"
            "f_norm = 1/(exp(-t_peak/tau_decay) - exp(-t_peak/tau_rise)) : 1 (shared)",
            (f"{self.name}: time to peak", f"{self.name}: normalisation (peak = weight)"),
            t_peak=f"t_peak_{self.name}", f_norm=f"f_{self.name}",
            tau_rise=f"tau_rise_{self.name}", tau_decay=f"tau_decay_{self.name}")

    def state_names(self, comp) -> tuple:
        """Variables a presynaptic event increments by ``w`` on compartment ``comp``."""
        r = self.name
        if self.double:
            return (f"s_rise_{r}_{comp}", f"s_decay_{r}_{comp}")
        return (f"{'g' if self.kind == 'conductance' else 'I'}_{r}_{comp}",)

    def lines(self, comp) -> list:
        """Equation lines of this receptor on compartment ``comp``."""
        r = self.name
        unit = "siemens" if self.kind == "conductance" else "amp"
        names = dict(v=f"v_{comp}", I=f"I_{r}_{comp}", g=f"g_{r}_{comp}", E=f"E_{r}",
                     B=f"B_{r}_{comp}", s_rise=f"s_rise_{r}_{comp}",
                     s_decay=f"s_decay_{r}_{comp}", tau_rise=f"tau_rise_{r}",
                     tau_decay=f"tau_decay_{r}", f_norm=f"f_{r}")
        x = "g" if self.kind == "conductance" else "I"
        template, comments = [], []
        if self.kind == "conductance":
            if self.mg_block:
                template += ["I = B*g*(E - v) : amp",
                             "B = 1/(1 + Mg/K_Mg*exp(-k_Mg*v)) : 1"]
                comments += [f"{r} current", "Mg block (Jahr & Stevens 1990)"]
            else:
                template += ["I = g*(E - v) : amp"]
                comments += [f"{r} current"]
        if self.double:
            template += [f"{x} = f_norm*(s_decay - s_rise) : {unit}",
                         f"ds_rise/dt = -s_rise/tau_rise : {unit}",
                         f"ds_decay/dt = -s_decay/tau_decay : {unit}"]
            comments += [f"{r} {'conductance' if x == 'g' else 'current'}: difference of "
                         f"exponentials, peak = weight",
                         "event: += w", "event: += w"]
        else:
            template += [f"d{x}/dt = -{x}/tau_decay : {unit}"]
            comments += [f"{r} {'conductance' if x == 'g' else 'current'}, event: += w"]
        return _lines("\n".join(template), comments, **names)


#: AMPA receptor: rise 0.2 ms, decay 2 ms, reversal 0 mV (typical cortical values).
AMPA = Receptor("AMPA", tau_decay=2 * ms, tau_rise=0.2 * ms, E=0 * mV)
#: NMDA receptor with the Jahr & Stevens Mg block: rise 2 ms, decay 60 ms, reversal 0 mV.
NMDA = Receptor("NMDA", tau_decay=60 * ms, tau_rise=2 * ms, E=0 * mV, mg_block=True)
#: GABA-A receptor: rise 0.5 ms, decay 8 ms, reversal -80 mV.
GABA = Receptor("GABA", tau_decay=8 * ms, tau_rise=0.5 * ms, E=-80 * mV)

_RECEPTORS = {"AMPA": AMPA, "NMDA": NMDA, "GABA": GABA}


# ---------------------------------------------------------------------------
# active mechanisms
# ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class DendriticSpike:
    """An event-driven dendritic spike: a sodium-like pulse, then a potassium-like pulse.

    When ``v`` of the compartment exceeds ``threshold`` (and the last
    dendritic spike is at least ``refractory`` ago) the event
    ``dspike_<compartment>`` records its time ``t_ds_<compartment> = t``. For
    the following ``duration`` (the rise) a conductance ``g_Na`` pulls ``v``
    toward ``E_Na``; then for ``fall`` a conductance ``g_K`` pulls it toward
    ``E_K`` (repolarisation). Windows are counted in time steps with Brian2's
    ``timestep()`` (as Brian2's own refractoriness), so the durations stay time
    *variables*: run values change them without a rebuild, and they hold for
    any ``dt``.

    Parameters
    ----------
    threshold : Quantity (volt)
        Voltage threshold of the event.
    g_Na, g_K : Quantity (siemens)
        Conductances of the rise and the fall (>= 0).
    duration, fall : Quantity (second)
        Lengths of the rise and of the fall (> 0).
    refractory : Quantity (second)
        Minimal time between two dendritic spikes (>= ``duration + fall``
        recommended).
    E_Na, E_K : Quantity (volt)
        Reversal potentials of the two phases.

    Examples
    --------
    >>> from brian2 import mV, nS, ms
    >>> DendriticSpike(threshold=-40*mV, g_Na=30*nS, g_K=20*nS).duration
    1. * msecond
    """

    threshold: Quantity = _default(-40 * mV)
    g_Na: Quantity = _default(30 * nS)
    g_K: Quantity = _default(20 * nS)
    duration: Quantity = _default(1 * ms)
    fall: Quantity = _default(2 * ms)
    refractory: Quantity = _default(5 * ms)
    E_Na: Quantity = _default(50 * mV)
    E_K: Quantity = _default(-90 * mV)

    def __post_init__(self):
        for key in ("threshold", "E_Na", "E_K"):
            _quantity(getattr(self, key), f"DendriticSpike: {key}", mV,
                      "a potential (e.g. -40*mV)", minimum=None)
        for key in ("g_Na", "g_K"):
            _quantity(getattr(self, key), f"DendriticSpike: {key}", siemens,
                      "a conductance (e.g. 20*nS)")
        for key in ("duration", "fall"):
            _quantity(getattr(self, key), f"DendriticSpike: {key}", second,
                      "a time (e.g. 1*ms)", positive=True)
        _quantity(self.refractory, "DendriticSpike: refractory", second, "a time (e.g. 5*ms)")

    def params(self, comp, shared) -> list:
        """Parameters of the mechanism on compartment ``comp``."""
        c = comp
        return [
            Param(f"theta_ds_{c}", self.threshold, "dendritic spike threshold", shared=shared),
            Param(f"g_Na_ds_{c}", self.g_Na, "dendritic spike: rise (Na) conductance",
                  "nonnegative", shared=shared),
            Param(f"g_K_ds_{c}", self.g_K, "dendritic spike: fall (K) conductance",
                  "nonnegative", shared=shared),
            Param(f"t_Na_ds_{c}", self.duration, "dendritic spike: duration of the rise",
                  "positive", shared=shared),
            Param(f"t_K_ds_{c}", self.fall, "dendritic spike: duration of the fall",
                  "positive", shared=shared),
            Param(f"t_ref_ds_{c}", self.refractory, "dendritic spike: refractory period",
                  "nonnegative", shared=shared),
            Param(f"E_Na_ds_{c}", self.E_Na, "dendritic spike: rise reversal potential",
                  shared=shared),
            Param(f"E_K_ds_{c}", self.E_K, "dendritic spike: fall reversal potential",
                  shared=shared),
        ]

    def names(self, comp) -> dict:
        """Substitutions for compartment ``comp``."""
        c = comp
        return dict(v=f"v_{c}", I_ds=f"I_ds_{c}", t_ds=f"t_ds_{c}", g_Na=f"g_Na_ds_{c}",
                    g_K=f"g_K_ds_{c}", t_Na=f"t_Na_ds_{c}", t_K=f"t_K_ds_{c}",
                    E_Na=f"E_Na_ds_{c}", E_K=f"E_K_ds_{c}", theta=f"theta_ds_{c}",
                    t_ref=f"t_ref_ds_{c}", n_ds=f"n_ds_{c}")

    def lines(self, comp) -> list:
        """Equation lines on compartment ``comp``."""
        return _lines(
            "I_ds = g_Na*int(n_ds >= 1 and n_ds <= timestep(t_Na, dt))*(E_Na - v)"
            " + g_K*int(n_ds > timestep(t_Na, dt) and n_ds <= timestep(t_Na + t_K, dt))"
            "*(E_K - v) : amp\n"
            "n_ds = timestep(t - t_ds, dt) : integer\n"
            "t_ds : second",
            ("dendritic spike current: rise (Na) then fall (K)",
             "time steps since the last dendritic spike",
             "time of the last dendritic spike (set by the event)"),
            **self.names(comp))

    kind = "dspike"

    @staticmethod
    def current(comp) -> str:
        """Name of the mechanism's current on ``comp``."""
        return f"I_ds_{comp}"

    @staticmethod
    def time_variable(comp) -> str:
        """Name of the variable holding the time of the last event on ``comp``."""
        return f"t_ds_{comp}"

    def event(self, comp) -> Event:
        """The custom event ``dspike_<comp>``."""
        n = self.names(comp)
        cond = substitute_expression("v > theta and timestep(t - t_ds, dt) >= timestep(t_ref, dt)",
                                     **n)
        code = substitute_expression("t_ds = t", **n)
        return Event(cond, code, doc=f"dendritic spike of {comp}")


@dataclasses.dataclass(frozen=True)
class NMDAPlateau:
    """An event-driven NMDA-like plateau: a Mg-blocked conductance open for ``duration``.

    When ``v`` of the compartment exceeds ``threshold`` (and the last
    plateau is at least ``refractory`` ago) the event ``plateau_<c>`` records
    its time ``t_pl_<c> = t``; for the following ``duration`` a conductance
    ``g`` with the Jahr & Stevens Mg block (the cell-wide ``Mg``, ``K_Mg``,
    ``k_Mg``) pulls ``v`` toward ``E``::

        I_pl_<c> = g_pl_<c> B(v_<c>) [0 < steps since t_pl_<c> <= duration] (E_pl_<c> - v_<c>)

    The event-driven counterpart of the plateaus that NMDA receptors
    (:data:`NMDA`) produce from coincident synaptic input; the duration is a
    time variable (counted with ``timestep()``, run values change it).

    Parameters
    ----------
    threshold : Quantity (volt)
    g : Quantity (siemens)
        Plateau conductance (>= 0), before the Mg block.
    duration : Quantity (second)
        Length of the plateau (> 0).
    refractory : Quantity (second)
        Minimal time between two plateau onsets.
    E : Quantity (volt)
        Reversal potential.

    Examples
    --------
    >>> from brian2 import ms
    >>> NMDAPlateau(duration=80*ms).duration
    80. * msecond
    """

    threshold: Quantity = _default(-40 * mV)
    g: Quantity = _default(10 * nS)
    duration: Quantity = _default(50 * ms)
    refractory: Quantity = _default(100 * ms)
    E: Quantity = _default(0 * mV)

    kind = "plateau"

    def __post_init__(self):
        for key in ("threshold", "E"):
            _quantity(getattr(self, key), f"NMDAPlateau: {key}", mV, "a potential (e.g. -40*mV)",
                      minimum=None)
        _quantity(self.g, "NMDAPlateau: g", siemens, "a conductance (e.g. 10*nS)")
        _quantity(self.duration, "NMDAPlateau: duration", second, "a time (e.g. 50*ms)",
                  positive=True)
        _quantity(self.refractory, "NMDAPlateau: refractory", second, "a time (e.g. 100*ms)")

    @staticmethod
    def current(comp) -> str:
        """Name of the plateau current on ``comp``."""
        return f"I_pl_{comp}"

    @staticmethod
    def time_variable(comp) -> str:
        """Name of the variable holding the time of the last plateau onset on ``comp``."""
        return f"t_pl_{comp}"

    def params(self, comp, shared) -> list:
        """Parameters of the mechanism on compartment ``comp``."""
        c = comp
        return [
            Param(f"theta_pl_{c}", self.threshold, "plateau threshold", shared=shared),
            Param(f"g_pl_{c}", self.g, "plateau conductance (before the Mg block)",
                  "nonnegative", shared=shared),
            Param(f"t_dur_pl_{c}", self.duration, "plateau duration", "positive", shared=shared),
            Param(f"t_ref_pl_{c}", self.refractory, "plateau refractory period",
                  "nonnegative", shared=shared),
            Param(f"E_pl_{c}", self.E, "plateau reversal potential", shared=shared),
        ]

    @staticmethod
    def names(comp) -> dict:
        """Substitutions for compartment ``comp``."""
        c = comp
        return dict(v=f"v_{c}", I_pl=f"I_pl_{c}", B_pl=f"B_pl_{c}", n_pl=f"n_pl_{c}",
                    t_pl=f"t_pl_{c}", g_pl=f"g_pl_{c}", t_dur=f"t_dur_pl_{c}",
                    E_pl=f"E_pl_{c}", theta=f"theta_pl_{c}", t_ref=f"t_ref_pl_{c}")

    def lines(self, comp) -> list:
        """Equation lines on compartment ``comp``."""
        return _lines(
            "I_pl = g_pl*B_pl*int(n_pl >= 1 and n_pl <= timestep(t_dur, dt))*(E_pl - v) : amp\n"
            "B_pl = 1/(1 + Mg/K_Mg*exp(-k_Mg*v)) : 1\n"
            "n_pl = timestep(t - t_pl, dt) : integer\n"
            "t_pl : second",
            ("NMDA-like plateau current", "Mg block (Jahr & Stevens 1990)",
             "time steps since the last plateau onset",
             "time of the last plateau onset (set by the event)"),
            **self.names(comp))

    def event(self, comp) -> Event:
        """The custom event ``plateau_<comp>``."""
        n = self.names(comp)
        cond = substitute_expression("v > theta and timestep(t - t_pl, dt) >= timestep(t_ref, dt)",
                                     **n)
        return Event(cond, substitute_expression("t_pl = t", **n),
                     doc=f"NMDA-like plateau of {comp}")


@dataclasses.dataclass(frozen=True)
class IntegrateAndFire:
    """Somatic spikes of an integrate-and-fire neuron: threshold, reset, refractory.

    ``v_soma > V_th`` emits a spike, ``v_soma`` is set to ``V_reset`` and held
    there for ``refractory`` if ``clamp`` (the voltage equation is
    ``(unless refractory)``), else only the threshold is blocked.

    Parameters
    ----------
    threshold, reset : Quantity (volt)
    refractory : Quantity (second)
    clamp : bool

    Examples
    --------
    >>> from brian2 import mV
    >>> IntegrateAndFire(threshold=-50*mV).reset
    -65. * mvolt
    """

    threshold: Quantity = _default(-50 * mV)
    reset: Quantity = _default(-65 * mV)
    refractory: Quantity = _default(2 * ms)
    clamp: bool = True

    def __post_init__(self):
        for key in ("threshold", "reset"):
            _quantity(getattr(self, key), f"IntegrateAndFire: {key}", mV,
                      "a potential (e.g. -50*mV)", minimum=None)
        _quantity(self.refractory, "IntegrateAndFire: refractory", second, "a time (e.g. 2*ms)")
        if not isinstance(self.clamp, bool):
            raise TypeError(f"IntegrateAndFire: clamp must be True or False, got {self.clamp!r}")


@dataclasses.dataclass(frozen=True)
class PoissonSpikes:
    """Somatic Poisson spikes at rate ``phi(v) = phi_max/(1 + k exp(beta (theta - v)))``.

    The spiking of the Urbanczik & Senn (2014) neuron (NEST
    ``pp_cond_exp_mc_urbanczik`` defaults): spike probability ``phi(v) dt`` per
    step, dead time ``refractory``. The cell then computes, once per step
    (start of the step), ``rate = phi(v_soma)``, the dendritic prediction
    ``V_star`` (the somatic potential its neighbours alone would cause,
    ``(g_L E_L + sum_k g_k v_k)/(g_L + sum_k g_k)`` over the couplings into
    the soma), ``phi_V = phi(V_star)`` and ``h_V = h_scale beta/(1 +
    exp(-beta (theta - V_star))/k)``: what the Urbanczik–Senn rule reads
    (:meth:`Cell.urbanczik_senn_synapse`).
    """

    phi_max: Quantity = _default(0.15 / ms)
    k: float = 0.5
    beta: Quantity = _default(1 / (3 * mV))
    theta: Quantity = _default(-55 * mV)
    h_scale: float = 15.0
    refractory: Quantity = _default(3 * ms)

    def __post_init__(self):
        _quantity(self.phi_max, "PoissonSpikes: phi_max", 1 / second, "a rate (e.g. 0.15/ms)")
        _quantity(self.beta, "PoissonSpikes: beta", 1 / mV, "an inverse potential (e.g. 1/(3*mV))",
                  positive=True)
        _quantity(self.theta, "PoissonSpikes: theta", mV, "a potential", minimum=None)
        _quantity(self.refractory, "PoissonSpikes: refractory", second, "a time (e.g. 3*ms)")
        for key in ("k", "h_scale"):
            val = getattr(self, key)
            if isinstance(val, bool) or not isinstance(val, numbers.Real) or val < 0:
                raise ValueError(f"PoissonSpikes: {key} must be a number >= 0, got {val!r}")


@dataclasses.dataclass(frozen=True)
class BranchGate:
    """A half-space gate on a dendrite's external input (Dendritic Gated Networks).

    The compartment gets a second summed input, ``v_gate_<c>`` (the
    projection of side information on the branch's fixed hyperplane,
    dimensionless), a gate computed once per step after the summed inputs
    (``groups`` slot, order -0.5, as :func:`~brian_dendrites.models.gated_branch`)::

        gate_<c> = int(v_gate_<c> > theta_gate_<c>)

    and its external input enters the membrane as ``gate_<c>*I_ext_<c>``.
    :meth:`Cell.gated_branch_synapse` is the matching plastic pathway (the
    gated delta rule).

    Parameters
    ----------
    theta : float
        Gate threshold on ``v_gate``.

    References
    ----------
    Sezener et al. (2021), bioRxiv 2021.03.10.434756 (DGN, eqs. 1-2).
    """

    theta: float = 0.0

    def __post_init__(self):
        if isinstance(self.theta, bool) or not isinstance(self.theta, numbers.Real) \
                or not math.isfinite(self.theta):
            raise TypeError(f"BranchGate: theta must be a finite number (v_gate is "
                            f"dimensionless), got {self.theta!r}")


# ---------------------------------------------------------------------------
# compartments
# ---------------------------------------------------------------------------
class Compartment:
    """A compartment: membrane (geometry or explicit values), receptors, mechanisms.

    Parameters
    ----------
    name : str
        Identifier; variables are named after it (``v_<name>``).
    length, diameter : Quantity (metre), optional
        Cylinder geometry (both > 0); needed for specific values and for
        couplings derived from geometry.
    cm : Quantity (farad/metre**2 or farad)
        Specific capacitance (``1*uF/cm**2``, needs the geometry) or the
        total capacitance (``200*pF``).
    g_L : Quantity (siemens/metre**2 or siemens)
        Specific leak conductance (``40*uS/cm**2``) or total (``10*nS``).
    E_L : Quantity (volt)
        Leak reversal potential.
    Ra : Quantity (ohm*metre)
        Axial resistivity (``150*ohm*cm``), for couplings from geometry.
    receptors : sequence of str or Receptor
        Receptor types on this compartment: ``'AMPA'``, ``'NMDA'``,
        ``'GABA'`` or :class:`Receptor` objects.
    active : sequence of DendriticSpike or NMDAPlateau
        Active mechanisms (at most one of each kind per compartment).
    gate : BranchGate, optional
        Gate the external input ``I_ext_<name>`` by side information.
    v0 : Quantity (volt), optional
        Initial potential (default ``E_L``).

    Raises
    ------
    ValueError
        Zero or negative geometry, capacitance or resistivity; a negative
        conductance; specific values without geometry.
    brian2.DimensionMismatchError
        A value with the wrong units (the message names the argument).
    TypeError
        A plain number where a quantity is needed.
    """

    kind = "Compartment"

    def __init__(self, name, *, length=None, diameter=None, cm=1 * uF / cm**2,
                 g_L=40 * uS / cm**2, E_L=-70 * mV, Ra=150 * ohm * cm, receptors=(),
                 active=(), gate=None, v0=None):
        self.name = _name(name, f"{self.kind} name")
        where = f"{self.kind} {name!r}"
        if (length is None) != (diameter is None):
            raise ValueError(f"{where}: give both length and diameter (or neither)")
        self.length = self.diameter = None
        if length is not None:
            self.length = _quantity(length, f"{where}: length", um, "a length (e.g. 100*um)",
                                    positive=True)
            self.diameter = _quantity(diameter, f"{where}: diameter", um,
                                      "a length (e.g. 2*um)", positive=True)
        self.cm = self._total(cm, "cm", _SPECIFIC_CAPACITANCE, farad, "a capacitance "
                              "(e.g. 1*uF/cm**2 or 100*pF)", positive=True)
        self.g_L = self._total(g_L, "g_L", _SPECIFIC_CONDUCTANCE, siemens, "a conductance "
                               "(e.g. 40*uS/cm**2 or 10*nS)", positive=False)
        self.E_L = _quantity(E_L, f"{where}: E_L", mV, "a potential (e.g. -70*mV)", minimum=None)
        self.Ra = _quantity(Ra, f"{where}: Ra", _RESISTIVITY, "a resistivity (e.g. 150*ohm*cm)",
                            positive=True)
        self.v0 = self.E_L if v0 is None else _quantity(v0, f"{where}: v0", mV, "a potential",
                                                        minimum=None)
        if isinstance(receptors, (str, Receptor)):
            receptors = (receptors,)
        recs = []
        for r in receptors:
            if isinstance(r, str):
                if r not in _RECEPTORS:
                    raise KeyError(f"{where}: receptors: " + _unknown("receptor", r, _RECEPTORS)
                                   + " (or pass a Receptor)")
                r = _RECEPTORS[r]
            if not isinstance(r, Receptor):
                raise TypeError(f"{where}: receptors must be names or Receptor objects, "
                                f"got {r!r}")
            if r.name in [x.name for x in recs]:
                raise ValueError(f"{where}: receptor {r.name!r} given twice")
            recs.append(r)
        self.receptors = tuple(recs)
        if isinstance(active, (DendriticSpike, NMDAPlateau)):
            active = (active,)
        active = tuple(active)
        for a in active:
            if not isinstance(a, (DendriticSpike, NMDAPlateau)):
                raise TypeError(f"{where}: active must hold DendriticSpike or NMDAPlateau "
                                f"objects, got {a!r}")
        kinds = [type(a).__name__ for a in active]
        if len(set(kinds)) < len(kinds):
            raise ValueError(f"{where}: active: at most one mechanism of each kind per "
                             f"compartment, got {kinds}")
        self.active = active
        if gate is not None and not isinstance(gate, BranchGate):
            raise TypeError(f"{where}: gate must be a BranchGate or None, got {gate!r}")
        self.gate = gate

    def _total(self, value, arg, specific, total, what, positive):
        where = f"{self.kind} {self.name!r}: {arg}"
        if not isinstance(value, Quantity):
            raise TypeError(f"{where}: expected {what}, a Brian2 Quantity, got {value!r}")
        if value.dim == get_dimensions(specific):
            if self.length is None:
                raise ValueError(f"{where}: a specific value ({value!r}) needs the geometry "
                                 f"(length and diameter); or give the total value")
            _quantity(value, where, specific, what, positive=positive)
            return value * self.area
        if value.dim == get_dimensions(total):
            return _quantity(value, where, total, what, positive=positive)
        raise DimensionMismatchError(f"{where}: expected {what}, got {value!r}", value.dim)

    @property
    def area(self):
        """Lateral membrane area ``pi d L`` (None without geometry)."""
        if self.length is None:
            return None
        return math.pi * self.diameter * self.length

    def half_resistance(self):
        """Axial resistance of half the cylinder, ``Ra (L/2)/(pi d^2/4)``."""
        if self.length is None:
            raise ValueError(f"{self.kind} {self.name!r} has no geometry (length, diameter): "
                             f"give the coupling conductance explicitly")
        return self.Ra * (self.length / 2) / (math.pi * self.diameter**2 / 4)

    @property
    def C(self):
        """Total capacitance."""
        return self.cm

    def __repr__(self):
        geo = (f"{float(self.length / um):g} um x {float(self.diameter / um):g} um"
               if self.length is not None else "no geometry")
        return (f"{self.kind}({self.name!r}, {geo}, C={float(self.C / pF):.6g} pF, "
                f"g_L={float(self.g_L / siemens) * 1e9:.6g} nS)")


class Soma(Compartment):
    """The somatic compartment: a :class:`Compartment` that may spike.

    Parameters
    ----------
    name : str
        Default ``'soma'``.
    spikes : IntegrateAndFire or PoissonSpikes, optional
        Somatic spike mechanism (default: none, a passive soma).
    **kwargs
        As :class:`Compartment`.
    """

    kind = "Soma"

    def __init__(self, name="soma", *, spikes=None, **kwargs):
        super().__init__(name, **kwargs)
        if spikes is not None and not isinstance(spikes, (IntegrateAndFire, PoissonSpikes)):
            raise TypeError(f"Soma {name!r}: spikes must be IntegrateAndFire, PoissonSpikes or "
                            f"None, got {spikes!r}")
        self.spikes = spikes


class Dendrite(Compartment):
    """A dendritic compartment (see :class:`Compartment` for the parameters)."""

    kind = "Dendrite"

    def __init__(self, name, **kwargs):
        super().__init__(name, **kwargs)


def cable(name, n, length, diameter, **kwargs):
    """A dendrite of ``n`` equal segments (``<name>_0`` to ``<name>_<n-1>``) and their chain.

    Parameters
    ----------
    name : str
        Base name.
    n : int
        Number of segments (>= 1).
    length, diameter : Quantity (metre)
        Total length and diameter of the cylinder.
    **kwargs
        Passed to every :class:`Dendrite` (``cm``, ``g_L``, ``Ra``, ...).

    Returns
    -------
    compartments : list of Dendrite
    connections : list of tuple
        ``(segment k, segment k+1)`` with the half-cylinder coupling.

    Examples
    --------
    >>> from brian2 import um
    >>> comps, links = cable('apical', 3, 300*um, 2*um)
    >>> [c.name for c in comps], links
    (['apical_0', 'apical_1', 'apical_2'], [('apical_0', 'apical_1'), ('apical_1', 'apical_2')])
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"cable {name!r}: n must be a positive integer, got {n!r}")
    length = _quantity(length, f"cable {name!r}: length", um, "a length", positive=True)
    comps = [Dendrite(f"{name}_{k}", length=length / n, diameter=diameter, **kwargs)
             for k in range(n)]
    return comps, [(f"{name}_{k}", f"{name}_{k + 1}") for k in range(n - 1)]


# ---------------------------------------------------------------------------
# the cell
# ---------------------------------------------------------------------------
_MEMBRANE = "dv/dt = (g_L*(E_L - v) + I_axial + I_syn + I_ext)/C : volt"
_MEMBRANE_GATED = "dv/dt = (g_L*(E_L - v) + I_axial + I_syn + gate*I_ext)/C : volt"


class Cell(NeuronModel):
    """A multi-compartment cell as ONE Brian2 equation set (a NeuronModel).

    Parameters
    ----------
    compartments : sequence of Compartment
        At most one :class:`Soma`; names must be unique.
    connections : sequence of tuple
        ``(a, b)`` (half-cylinder coupling from geometry), ``(a, b, g)`` with
        ``g`` a conductance Quantity, ``'half_cylinders'`` or
        ``'cylinder_<a or b>'``, or ``(a, b, g_ab, g_ba)`` for an asymmetric
        coupling (current into ``a`` is ``g_ab (v_b - v_a)``, into ``b``
        ``g_ba (v_a - v_b)``; e.g. the Urbanczik–Senn neuron's ``g_D`` and
        ``g_ps``). Each pair at most once; the cell must be connected.
    name : str
        Model name (default ``'cell'``).
    shared : bool
        Parameters of compartments, couplings and mechanisms are
        ``(shared, constant)`` (True, default) or per-neuron ``(constant)``
        (False: heterogeneous cells in one group). Receptor kinetics are
        always shared.
    method : str
        Brian2 integration method (default ``'euler'``; see the module notes
        on stiffness).
    Mg : Quantity (mmolar)
        Extracellular magnesium (if a receptor has the Mg block).

    Raises
    ------
    KeyError
        A connection names an unknown compartment (with a suggestion).
    ValueError
        Duplicate names, a pair connected twice or to itself, a disconnected
        cell, two somata, a non-positive conductance, geometry missing for a
        derived coupling.
    brian2.DimensionMismatchError
        A coupling that is not a conductance.

    Examples
    --------
    >>> from brian2 import um, nS
    >>> cell = Cell([Soma(length=20*um, diameter=20*um),
    ...              Dendrite('apical', length=200*um, diameter=2*um, receptors=['AMPA'])],
    ...             [('soma', 'apical')])
    >>> cell.compartment_names
    ('soma', 'apical')
    >>> round(float(cell['g_soma_apical'] / nS), 2)
    20.92
    >>> group = cell.make_group(10)
    """

    def __init__(self, compartments, connections=(), *, name="cell", shared=True,
                 method="euler", Mg=1 * mM):
        _name(name, "Cell name")
        if isinstance(compartments, Compartment):
            compartments = [compartments]
        comps = list(compartments)
        if not comps:
            raise ValueError("Cell: compartments must hold at least one Compartment")
        for c in comps:
            if not isinstance(c, Compartment):
                raise TypeError(f"Cell: compartments must be Soma/Dendrite objects, got {c!r}")
        names = [c.name for c in comps]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"Cell: compartment name(s) {dup} used twice")
        somata = [c for c in comps if isinstance(c, Soma)]
        if len(somata) > 1:
            raise ValueError(f"Cell: at most one Soma, got {[c.name for c in somata]}")
        if not isinstance(shared, bool):
            raise TypeError(f"Cell: shared must be True or False, got {shared!r}")
        self.shared = shared
        self.compartments = {c.name: c for c in comps}
        self.soma = somata[0] if somata else None
        self._mg = _quantity(Mg, "Cell: Mg", mM, "a concentration (e.g. 1*mM)")
        self.couplings = self._couplings(connections)
        self._check_connected()
        receptors = {}
        for c in comps:
            for r in c.receptors:
                if r.name in receptors and receptors[r.name] != r:
                    raise ValueError(f"Cell: two different receptors named {r.name!r} "
                                     f"({receptors[r.name]} and {r})")
                receptors[r.name] = r
        self.receptors = receptors
        text, params, updates, events, threshold, reset, refractory = self._compose()
        super().__init__(name, text, params=params, updates=updates, threshold=threshold,
                         reset=reset, refractory=refractory, method=method,
                         reference="brian_dendrites.cells (biophysical compartments)",
                         doc=type(self).__doc__, events=events)

    # -- construction -------------------------------------------------------------
    @property
    def compartment_names(self) -> tuple:
        """Names of the compartments, in the order given."""
        return tuple(self.compartments)

    def _comp(self, name, argname):
        if name not in self.compartments:
            raise KeyError(f"Cell: {argname}: " + _unknown("compartment", name,
                                                          self.compartments))
        return self.compartments[name]

    def _couplings(self, connections) -> dict:
        """(a, b) -> (g_ab, g_ba or None): conductances of the connections."""
        out = {}
        if isinstance(connections, tuple) and connections and isinstance(connections[0], str):
            connections = [connections]
        for k, conn in enumerate(connections):
            arg = f"connections[{k}]"
            if not isinstance(conn, (tuple, list)) or not 2 <= len(conn) <= 4:
                raise TypeError(f"Cell: {arg} must be a tuple (a, b), (a, b, g) or "
                                f"(a, b, g_ab, g_ba), got {conn!r}")
            a, b = conn[0], conn[1]
            ca, cb = self._comp(a, arg), self._comp(b, arg)
            if a == b:
                raise ValueError(f"Cell: {arg} connects {a!r} to itself")
            if (a, b) in out or (b, a) in out:
                raise ValueError(f"Cell: {arg}: compartments {a!r} and {b!r} are connected "
                                 f"twice")
            rule = conn[2] if len(conn) > 2 else "half_cylinders"
            if isinstance(rule, str):
                g = self._derived(ca, cb, rule, arg)
            else:
                g = _quantity(rule, f"Cell: {arg}: g", siemens, "a conductance (e.g. 10*nS)",
                              positive=True)
            taken = {f"g_{p}_{q}" for p, q in out} | {f"g_{q}_{p}" for p, q in out}
            if f"g_{a}_{b}" in taken or f"g_{b}_{a}" in taken:
                raise ValueError(f"Cell: {arg}: the coupling name g_{a}_{b} is ambiguous with "
                                 f"another connection's (compartment names with '_'); rename "
                                 f"a compartment")
            back = None
            if len(conn) == 4:
                back = _quantity(conn[3], f"Cell: {arg}: g_ba", siemens,
                                 "a conductance (e.g. 0*nS)")
            out[(a, b)] = (g, back)
        return out

    @staticmethod
    def _derived(ca, cb, rule, arg):
        if rule == "half_cylinders":
            return 1 / (ca.half_resistance() + cb.half_resistance())
        if rule.startswith("cylinder_"):
            which = rule[len("cylinder_"):]
            if which not in (ca.name, cb.name):
                raise ValueError(f"Cell: {arg}: {rule!r} must name one of the two compartments "
                                 f"({ca.name!r}, {cb.name!r})")
            c = ca if which == ca.name else cb
            return 1 / (2 * c.half_resistance())
        raise ValueError(f"Cell: {arg}: coupling must be a conductance, 'half_cylinders' or "
                         f"'cylinder_<name>', got {rule!r}")

    def _check_connected(self):
        names = list(self.compartments)
        seen, todo = {names[0]}, [names[0]]
        while todo:
            x = todo.pop()
            for a, b in self.couplings:
                for p, q in ((a, b), (b, a)):
                    if p == x and q not in seen:
                        seen.add(q)
                        todo.append(q)
        missing = [n for n in names if n not in seen]
        if missing:
            raise ValueError(f"Cell: compartment(s) {missing} are not connected to "
                             f"{names[0]!r}; add connections")

    def _neighbours(self, name):
        """[(neighbour, coupling parameter name)] of the currents into ``name``."""
        out = []
        for (a, b), (_g, back) in self.couplings.items():
            if a == name:
                out.append((b, f"g_{a}_{b}"))
            elif b == name:
                out.append((a, f"g_{b}_{a}" if back is not None else f"g_{a}_{b}"))
        return out

    def _compose(self):
        sh = self.shared
        lines, params, updates, events = [], [], [], {}
        threshold = reset = None
        refractory = False
        for r in self.receptors.values():
            params += r.params()
        if any(r.mg_block for r in self.receptors.values()) or any(
                isinstance(a, NMDAPlateau) for c in self.compartments.values() for a in c.active):
            params += [Param("Mg", self._mg, "extracellular Mg concentration", "nonnegative",
                             display_unit="mM"),
                       Param("K_Mg", 3.57 * mM, "Mg block: dissociation constant "
                             "(Jahr & Stevens 1990)", "positive", display_unit="mM"),
                       Param("k_Mg", 0.062 / mV, "Mg block: voltage dependence "
                             "(Jahr & Stevens 1990)", "nonnegative", unit="1/volt")]
        shared_lines = [ln for r in self.receptors.values() for ln in r.shared_lines()]
        if shared_lines:
            lines += ["# --- receptor kinetics (cell-wide) ---"] + shared_lines
        for name, c in self.compartments.items():
            geo = (f"cylinder {float(c.length / um):g} um x {float(c.diameter / um):g} um"
                   if c.length is not None else "point compartment")
            lines.append(f"# --- {name} ({c.kind}, {geo}) ---")
            spikes = c.spikes if isinstance(c, Soma) else None
            flags = " (unless refractory)" if (isinstance(spikes, IntegrateAndFire)
                                               and spikes.clamp) else ""
            n = dict(v=f"v_{name}", g_L=f"g_L_{name}", E_L=f"E_L_{name}",
                     I_axial=f"I_axial_{name}", I_syn=f"I_syn_{name}", I_ext=f"I_ext_{name}",
                     C=f"C_{name}")
            membrane = _MEMBRANE_GATED if c.gate is not None else _MEMBRANE
            lines += _lines(membrane + flags, ("membrane potential",), gate=f"gate_{name}", **n)
            axial = [substitute_expression("g*(w - v)", g=g, w=f"v_{nb}", v=f"v_{name}")
                     for nb, g in self._neighbours(name)]
            currents = [f"I_{r.name}_{name}" for r in c.receptors]
            currents += [a.current(name) for a in c.active]
            lines += _lines(f"I_axial = {_sum(axial, '0*amp')} : amp\n"
                            f"I_syn = {_sum(currents, '0*amp')} : amp\n"
                            "I_ext : amp",
                            ("axial current from the neighbours",
                             "synaptic and active currents",
                             "external input (a summed pathway, a TimedArray, or set)"),
                            I_axial=f"I_axial_{name}", I_syn=f"I_syn_{name}",
                            I_ext=f"I_ext_{name}")
            if c.gate is not None:
                lines += self._gate_lines(name)
                params.append(Param(f"theta_gate_{name}", float(c.gate.theta),
                                    f"gate threshold of {name} on v_gate_{name}", shared=sh))
                updates.append(self._gate_update(name))
            for r in c.receptors:
                lines += r.lines(name)
            for a in c.active:
                lines += a.lines(name)
                params += a.params(name, sh)
                events[f"{a.kind}_{name}"] = a.event(name)
            params += [Param(f"C_{name}", c.C, f"capacitance of {name}", "positive", shared=sh),
                       Param(f"g_L_{name}", c.g_L, f"leak conductance of {name}",
                             "nonnegative", shared=sh),
                       Param(f"E_L_{name}", c.E_L, f"leak reversal potential of {name}",
                             shared=sh)]
            if isinstance(spikes, IntegrateAndFire):
                params += [Param("V_th", spikes.threshold, "somatic spike threshold", shared=sh),
                           Param("V_reset", spikes.reset, "somatic reset potential", shared=sh),
                           Param("t_ref", spikes.refractory, "somatic refractory period",
                                 "nonnegative", shared=sh)]
                threshold, reset, refractory = f"v_{name} > V_th", f"v_{name} = V_reset", "t_ref"
            elif isinstance(spikes, PoissonSpikes):
                lines += self._poisson_lines(name)
                params += self._poisson_params(spikes)
                phi = substitute_expression("phi_max/(1 + k*exp(beta*(theta - U)))",
                                            U=f"v_{name}")
                threshold, refractory = f"rand() < {phi}*dt", "t_ref"
                updates.append(self._prediction_update(name))
        for (a, b), (g, back) in self.couplings.items():
            what = "coupling" if back is None else "coupling into"
            params.append(Param(f"g_{a}_{b}", g, f"{what} {a} from {b}", "nonnegative",
                                shared=sh))
            if back is not None:
                params.append(Param(f"g_{b}_{a}", back, f"coupling into {b} from {a}",
                                    "nonnegative", shared=sh))
        if any(c.gate is not None for c in self.compartments.values()):
            lines += ["# --- learning signal of gated branches ---",
                      "err : 1  # the cell's error (e.g. rate - target, scaled), set from outside"]
        return "\n".join(lines), params, updates, events, threshold, reset, refractory

    @staticmethod
    def _gate_lines(name):
        return _lines("v_gate : 1\ngate : 1",
                      ("side information projected on the branch's hyperplane (summed)",
                       "gate [v_gate > theta_gate], set once per step"),
                      v_gate=f"v_gate_{name}", gate=f"gate_{name}")

    @staticmethod
    def _gate_update(name):
        from brian_dendrites.models import branches

        base = next(u for u in branches.gated_branch().updates if u.name == "gate")
        code = substitute_expression(base.code, gate=f"gate_{name}", v_gate=f"v_gate_{name}",
                                     theta_gate=f"theta_gate_{name}")
        return dataclasses.replace(base, code=code, name=f"gate_{name}")

    @staticmethod
    def _poisson_lines(name):
        return _lines("rate : hertz\nV_star : volt\nphi_V : hertz\nh_V : 1/volt",
                      (f"phi(v_{name}), set once per step",
                       f"dendritic prediction of v_{name}, set once per step",
                       "phi(V_star), set once per step",
                       "h(V_star), set once per step"))

    def _poisson_params(self, s):
        sh = self.shared
        return [Param("phi_max", s.phi_max, "maximal firing rate", "nonnegative", shared=sh),
                Param("k", float(s.k), "rate slope factor (NEST rate_slope)", "nonnegative",
                      shared=sh),
                Param("beta", s.beta, "steepness of phi", "positive", unit="1/volt",
                      shared=sh),
                Param("theta", s.theta, "inflection potential of phi", shared=sh),
                Param("h_scale", float(s.h_scale), "scale of h(V_star)", "nonnegative",
                      shared=sh),
                Param("t_ref", s.refractory, "dead time after a spike", "nonnegative",
                      shared=sh)]

    def _prediction_update(self, name):
        nbs = [(nb, g) for nb, g in self._neighbours(name)]
        num = " + ".join([f"g_L_{name}*E_L_{name}"] + [f"{g}*v_{nb}" for nb, g in nbs])
        den = " + ".join([f"g_L_{name}"] + [g for _nb, g in nbs])
        phi = substitute_expression("phi_max/(1 + k*exp(beta*(theta - U)))", U=f"v_{name}")
        return Update(f"rate = {phi}\n"
                      f"V_star = ({num})/({den})\n"
                      "phi_V = phi_max/(1 + k*exp(beta*(theta - V_star)))\n"
                      "h_V = h_scale*beta/(1 + exp(-beta*(theta - V_star))/k)",
                      when="start", order=0, name="prediction")

    # -- the passive circuit (linear algebra) ----------------------------------------
    def passive_system(self):
        """The passive cell as a linear system ``C dv/dt = -G v + b``.

        From the *current* parameter values (``with_params`` changes them):
        leaks and couplings only (receptors closed, no active currents).

        Returns
        -------
        names : tuple of str
            Compartment names (the order of rows and columns).
        G : ndarray, shape (n, n)
            Conductance matrix in siemens (leak on the diagonal, couplings).
        C : ndarray, shape (n,)
            Capacitances in farad.
        b : ndarray, shape (n,)
            Leak currents ``g_L E_L`` in amp.
        """
        import numpy as np

        names = self.compartment_names
        idx = {n: k for k, n in enumerate(names)}
        n = len(names)
        G = np.zeros((n, n))
        C = np.array([float(np.mean(self[f"C_{c}"])) for c in names])
        b = np.zeros(n)
        for c in names:
            k = idx[c]
            g_L = float(np.mean(self[f"g_L_{c}"]))
            G[k, k] += g_L
            b[k] = g_L * float(np.mean(self[f"E_L_{c}"]))
            for nb, g in self._neighbours(c):
                gv = float(np.mean(self[g]))
                G[k, k] += gv
                G[k, idx[nb]] -= gv
        return names, G, C, b

    def steady_state(self, I_ext=None):
        """Passive steady-state potentials (volt) under constant currents.

        Parameters
        ----------
        I_ext : dict, optional
            Compartment name -> current (amp) injected there.

        Returns
        -------
        dict
            Compartment name -> potential (Quantity).
        """
        import numpy as np

        names, G, _C, b = self.passive_system()
        b = b.copy()
        for c, cur in (I_ext or {}).items():
            self._comp(c, "I_ext")
            b[names.index(c)] += float(_quantity(cur, f"I_ext[{c!r}]", amp,
                                                 "a current (e.g. 10*pA)", minimum=None))
        v = np.linalg.solve(G, b)
        return {c: v[k] * volt for k, c in enumerate(names)}

    def input_resistance(self, compartment=None):
        """Passive input resistance (ohm) at ``compartment`` (default: the soma)."""
        import numpy as np

        names, G, _C, _b = self.passive_system()
        c = compartment or (self.soma.name if self.soma else names[0])
        self._comp(c, "compartment")
        k = names.index(c)
        return float(np.linalg.inv(G)[k, k]) * ohm

    def time_constants(self):
        """Passive time constants (second), slowest first: ``1/eig(C^-1 G)``."""
        import numpy as np

        _names, G, C, _b = self.passive_system()
        lam = np.sort(np.real(np.linalg.eigvals(G / C[:, None])))
        return (1 / lam) * second

    # -- groups and synapses --------------------------------------------------------
    def make_group(self, N, name=None, dt=None, order=0, update_orders=None, **values):
        """A :class:`~brian2.NeuronGroup` of ``N`` cells, at rest.

        As :meth:`NeuronModel.make_group`; in addition every ``v_<name>``
        starts at its compartment's ``v0`` (default ``E_L``) and the time of
        the last dendritic spike or plateau (``t_ds_<name>``, ``t_pl_<name>``)
        at -10 000 s (none recently).
        """
        group = super().make_group(N, name=name, dt=dt, order=order,
                                   update_orders=update_orders, **values)
        for cname, c in self.compartments.items():
            setattr(group, f"v_{cname}", c.v0)
            for a in c.active:
                setattr(group, a.time_variable(cname), -1e4 * second)
        return group

    def receptor(self, compartment, receptor):
        """The :class:`Receptor` ``receptor`` of ``compartment`` (named errors)."""
        c = self._comp(compartment, "compartment")
        recs = {r.name: r for r in c.receptors}
        if receptor not in recs:
            raise KeyError(f"Cell: compartment {compartment!r} has no receptor {receptor!r}; "
                           f"its receptors: {', '.join(recs) or 'none'}")
        return recs[receptor]

    def synapse_model(self, compartment, receptor, name=None) -> SynapseModel:
        """Static synapses onto receptor(s) of ``compartment``.

        A presynaptic spike adds the weight (siemens or amp, as the
        receptor) to the receptor's state(s) on the compartment, so its
        conductance (or current) peaks at the weight.

        Parameters
        ----------
        compartment : str
        receptor : str or sequence of str
            Receptor type name (``'AMPA'``): one weight ``w`` per synapse; or
            several (``('AMPA', 'NMDA')``, a glutamatergic synapse): one
            weight ``w_<receptor>`` per receptor and synapse.
        name : str, optional
            Model name (default ``'<receptors>_<compartment>'``).

        Returns
        -------
        SynapseModel

        Examples
        --------
        >>> from brian2 import um
        >>> cell = Cell([Soma(length=20*um, diameter=20*um, receptors=['AMPA', 'NMDA'])])
        >>> print(cell.synapse_model('soma', ('AMPA', 'NMDA')).on_pre)
        s_rise_AMPA_soma_post += w_AMPA
        s_decay_AMPA_soma_post += w_AMPA
        s_rise_NMDA_soma_post += w_NMDA
        s_decay_NMDA_soma_post += w_NMDA
        """
        single = isinstance(receptor, str)
        names = [receptor] if single else list(receptor)
        if not names:
            raise ValueError("Cell.synapse_model: receptor: give at least one receptor name")
        lines, code = [], []
        for rname in names:
            r = self.receptor(compartment, rname)
            w = "w" if single else f"w_{rname}"
            unit = _unit_string(get_dimensions(r.weight_unit))
            what = "conductance" if r.kind == "conductance" else "current"
            lines.append(f"{w} : {unit}  # peak {rname} {what}")
            code += [substitute_expression("x += w", x=f"{s}_post", w=w)
                     for s in r.state_names(compartment)]
        return SynapseModel(name or f"{'_'.join(names)}_{compartment}", "\n".join(lines),
                            on_pre="\n".join(code),
                            reference=f"{', '.join(names)} on {compartment}")

    def gated_branch_synapse(self, compartment) -> SynapseModel:
        """The gated delta rule onto a gated dendrite (DGN rule in continuous time).

        Rate pathway and rule (the presynaptic group has a dimensionless
        rate ``r``, e.g. the layer below's output in [0, 1])::

            I_ext_<c>_post = w r_pre                    (summed; the gate multiplies it)
            dw/dt = -eta gate_<c>_post err_post r_pre

        ``err`` is the cell's learning signal (set from outside, e.g. by a
        circuit, once per step); a closed gate freezes the weights and
        blocks the input, as in Dendritic Gated Networks, whose one-step
        version is :func:`~brian_dendrites.models.dgn_rule`.

        Parameters
        ----------
        compartment : str
            A compartment with a :class:`BranchGate`.

        Returns
        -------
        SynapseModel
        """
        c = self._comp(compartment, "compartment")
        if c.gate is None:
            raise ValueError(f"Cell.gated_branch_synapse: compartment {compartment!r} has no "
                             f"gate: give it gate=BranchGate(...)")
        eqs = _lines("I_post = w*r_pre : amp (summed)\n"
                     "dw/dt = -eta*gate_post*err_post*r_pre : amp (clock-driven)",
                     ("gated by the branch in the cell", "gated delta rule"),
                     I_post=f"I_ext_{compartment}_post", gate_post=f"gate_{compartment}_post")
        return SynapseModel(f"gated_branch_{compartment}", "\n".join(eqs),
                            params=[Param("eta", 1 * pA / ms, "learning rate (0 = plasticity off)",
                                          "nonnegative", unit="amp/second",
                                          display_unit="pA/ms")],
                            reference="Sezener et al. 2021 (DGN), gated delta rule",
                            doc=Cell.gated_branch_synapse.__doc__)

    def urbanczik_senn_synapse(self, compartment, mode="rate", receptor=None) -> SynapseModel:
        """The Urbanczik–Senn rule for synapses on any compartment of this cell.

        Reuses :func:`~brian_dendrites.models.urbanczik_senn_rate_synapse`
        (``mode='rate'``; the presynaptic group has a rate ``r`` in hertz; the
        pathway writes ``I_ext_<compartment>``) or
        :func:`~brian_dendrites.models.urbanczik_senn_spiking_synapse`
        (``mode='spiking'``; a spike adds ``w`` to the current of
        ``receptor``), with names substituted by Brian2. The cell's soma must
        have :class:`PoissonSpikes` (they compute ``rate``, ``phi_V``, ``h_V``).

        Parameters
        ----------
        compartment : str
            Where the synapses are.
        mode : {'rate', 'spiking'}
        receptor : str
            A current receptor with a single exponential on ``compartment``:
            its ``tau_decay`` is the ``tau_syn`` of the rule (rate mode: the
            mean current ``w tau_syn r``).

        Returns
        -------
        SynapseModel
        """
        from brian_dendrites.models import plasticity

        check_choice(mode, "mode", ["rate", "spiking"])
        self._comp(compartment, "compartment")
        if self.soma is None or not isinstance(self.soma.spikes, PoissonSpikes):
            raise ValueError("Cell.urbanczik_senn_synapse: the cell needs a Soma with "
                             "spikes=PoissonSpikes(...) (the rule reads rate, phi_V, h_V)")
        if receptor is None:
            raise ValueError("Cell.urbanczik_senn_synapse: receptor: name the current "
                             "receptor (kind='current', tau_rise=0) on "
                             f"{compartment!r} the synapses drive")
        r = self.receptor(compartment, receptor)
        if r.kind != "current" or r.double:
            raise ValueError(f"Cell.urbanczik_senn_synapse: receptor {receptor!r} must be "
                             f"kind='current' with tau_rise=0 (the rule's exponential current)")
        base = (plasticity.urbanczik_senn_rate_synapse() if mode == "rate"
                else plasticity.urbanczik_senn_spiking_synapse())
        subs = dict(I_rate_post=f"I_ext_{compartment}_post",
                    tau_syn_post=f"tau_decay_{receptor}_post",
                    I_dend_post=f"I_{receptor}_{compartment}_post")
        eqs = _lines(base.equations, (), **subs)
        on_pre = (substitute_expression(base.on_pre, **subs) if base.on_pre else None)
        return SynapseModel(f"{base.name}_{compartment}", "\n".join(eqs),
                            params=list(base.params.values()), on_pre=on_pre,
                            on_post=base.on_post, method=base.method,
                            reference=base.reference, doc=base.doc)


def layer5_cell(name="l5"):
    """A layer-5-like pyramidal cell: soma, basal, apical trunk, tuft with a calcium-like spike.

    The cell of ``examples/biophysical_l5_bac_firing.py`` and
    ``examples/biophysical_coupling_sweep.py``: soma 25 x 25 um
    (integrate-and-fire: threshold -50 mV, reset -58 mV, refractory 2 ms);
    basal dendrite 150 x 1 um (AMPA); apical trunk 250 x 2.5 um (passive);
    tuft 200 x 1 um with AMPA and NMDA receptors and a 20 ms calcium-like
    dendritic spike (threshold -50 mV, 8 nS toward +30 mV, then 6 nS toward
    -80 mV for 5 ms, refractory 40 ms); cm 1 uF/cm2, g_L 40 uS/cm2,
    Ra 150 ohm cm, E_L -70 mV, couplings center to center.

    Parameters
    ----------
    name : str
        Model name.

    Returns
    -------
    Cell

    Examples
    --------
    >>> layer5_cell().compartment_names
    ('soma', 'basal', 'trunk', 'tuft')
    """
    calcium = DendriticSpike(threshold=-50 * mV, g_Na=8 * nS, g_K=6 * nS, duration=20 * ms,
                             fall=5 * ms, refractory=40 * ms, E_Na=30 * mV, E_K=-80 * mV)
    return Cell([Soma(length=25 * um, diameter=25 * um,
                      spikes=IntegrateAndFire(threshold=-50 * mV, reset=-58 * mV,
                                              refractory=2 * ms)),
                 Dendrite("basal", length=150 * um, diameter=1 * um, receptors=["AMPA"]),
                 Dendrite("trunk", length=250 * um, diameter=2.5 * um),
                 Dendrite("tuft", length=200 * um, diameter=1 * um, receptors=["AMPA", "NMDA"],
                          active=calcium)],
                [("soma", "basal"), ("soma", "trunk"), ("trunk", "tuft")], name=name)
