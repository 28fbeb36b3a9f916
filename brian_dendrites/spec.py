"""Model specifications: Brian2 equation strings plus validated parameters.

A :class:`NeuronModel` or :class:`SynapseModel` is the readable text that is
simulated (Brian2 equations with units) together with its documented default
parameters. Every parameter is declared in the generated equations as a
``(constant)`` or ``(shared, constant)`` *variable*, never as a namespace
constant, so that a compiled ``cpp_standalone`` binary can change it through
``run_args`` without being rebuilt.

Per-neuron quantities that synapses read (rates, learning signals) are plain
variables updated once per time step by ``run_regularly`` operations with an
explicit ``when``/``order`` (see :class:`Update`).
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Mapping

import numpy as np
from brian2 import (
    DimensionMismatchError,
    Equations,
    NeuronGroup,
    Quantity,
    Synapses,
    get_dimensions,
    get_logger,
    get_unit,
    have_same_dimensions,
    prefs,
)

from ._brian_compat import word_substitute

__all__ = [
    "Param",
    "Update",
    "Event",
    "NeuronModel",
    "SynapseModel",
    "substitute_expression",
]

logger = get_logger(__name__)

_BOUNDS = (None, "positive", "nonnegative", "probability")
_BOUND_TEXT = {None: "", "positive": "> 0", "nonnegative": ">= 0", "probability": "in [0, 1]"}

#: Display units of ``print(model)`` (the units papers write), matched by dimension.
_DISPLAY_UNITS = ("1", "ms", "1/ms", "mV", "nS", "pF", "pA", "pA*mV", "1/mV", "ms**-0.5",
                  "1/(ms*mV)")


def _unit_string(dim) -> str:
    """Brian2 unit name used in equations for a dimension (``'1'`` if none)."""
    unit = get_unit(dim)
    name = repr(unit) if not unit.is_dimensionless else "1"
    return name


def _default_display_unit(dim, fallback=None) -> str:
    """A readable unit for a dimension (``1/ms`` for rates, ``mV``, ``pA*mV``...)."""
    for text in _DISPLAY_UNITS:
        if get_dimensions(_parse_unit(text)) == dim:
            return text
    return fallback or _unit_string(dim)


def _format_value(value, unit: str) -> str:
    """``value`` in ``unit`` as a Brian2 expression: ``0.1/ms``, ``-70*mV``, ``0.5``."""
    scale = _parse_unit(unit)
    nums = np.asarray(np.asarray(value / scale, dtype=float))
    text = (f"{float(nums):.12g}" if nums.ndim == 0
            else "[" + ", ".join(f"{x:.12g}" for x in nums.ravel()) + "]")
    if unit == "1":
        return text
    if unit.startswith("1/"):
        return f"{text}/{unit[2:]}"
    return f"{text}*{unit}"


def _commented(label: str, code) -> list:
    """Comment lines showing a (possibly multi-line) code block under a label."""
    if code is None or code is False or (isinstance(code, str) and not code.strip()):
        return [f"# {label}: none"]
    lines = str(code).strip("\n").splitlines()
    if len(lines) == 1:
        return [f"# {label}: {lines[0].strip()}"]
    return [f"# {label}:"] + [f"#     {line.strip()}" for line in lines]


def _parse_unit(text: str):
    """Evaluate a unit string such as ``'1/mV'`` with Brian2's unit names."""
    import brian2.units as units

    namespace = {k: getattr(units, k) for k in dir(units) if not k.startswith("_")}
    try:
        return eval(text, {"__builtins__": {}}, namespace)  # noqa: S307 - unit names only
    except Exception as exc:
        raise ValueError(f"cannot parse unit string {text!r}: {exc}") from None


@dataclasses.dataclass(frozen=True)
class Param:
    """A model parameter: a named, documented, unit-checked default value.

    Parameters
    ----------
    name : str
        Identifier used in the equations.
    default : Quantity or float
        Default value; its physical dimensions define the parameter's unit.
    doc : str
        One-line description (what it is, where it comes from).
    bounds : {None, 'positive', 'nonnegative', 'probability'}
        Constraint checked on every new value (time constants and
        capacitances are ``'positive'``, conductances ``'nonnegative'``).
    shared : bool
        Declared ``(shared, constant)`` (one value per group) if True,
        ``(constant)`` (one value per neuron or synapse) otherwise.
    unit : str, optional
        Unit as written in the equations (e.g. ``'1/mV'``); by default the
        base unit Brian2 derives from ``default``.
    display_unit : str, optional
        Unit in which ``print(model)`` shows the value (e.g. ``'1/ms'``,
        ``'pA*mV'``); by default the unit papers use for the dimension
        (``ms``, ``1/ms``, ``mV``, ``nS``, ``pF``, ``pA``), else ``unit``.
        Display only: the equations keep ``unit``.
    """

    name: str
    default: object
    doc: str = ""
    bounds: str | None = None
    shared: bool = True
    unit: str | None = None
    display_unit: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"Param name must be an identifier, got {self.name!r}")
        if self.bounds not in _BOUNDS:
            raise ValueError(
                f"Param {self.name!r}: bounds must be one of {_BOUNDS}, got {self.bounds!r}"
            )
        self.check(self.default)
        for argname in ("unit", "display_unit"):
            text = getattr(self, argname)
            if text is None:
                continue
            if not isinstance(text, str):
                raise TypeError(f"Param {self.name!r}: {argname} must be a unit string such as "
                                f"'1/ms', got {type(text).__name__}")
            if not have_same_dimensions(_parse_unit(text), self.default):
                raise DimensionMismatchError(
                    f"Param {self.name!r}: {argname} {text!r} does not match the default "
                    f"{self.default!r}"
                )

    @property
    def dim(self):
        """Physical dimensions of the parameter."""
        return get_dimensions(self.default)

    @property
    def unit_string(self) -> str:
        """Unit as written in the generated Brian2 equations."""
        return self.unit if self.unit is not None else _unit_string(self.dim)

    @property
    def display_string(self) -> str:
        """Unit in which ``print(model)`` shows values (see ``display_unit``)."""
        if self.display_unit is not None:
            return self.display_unit
        return _default_display_unit(self.dim, fallback=self.unit)

    def format(self, value) -> str:
        """A value of this parameter in its display unit, e.g. ``'0.1/ms'``."""
        return _format_value(value, self.display_string)

    def declaration(self) -> str:
        """Brian2 equation line declaring the parameter as a constant variable."""
        flags = "shared, constant" if self.shared else "constant"
        return f"{self.name} : {self.unit_string} ({flags})"

    def check(self, value, owner: str = "") -> object:
        """Validate a new value for this parameter and return it.

        Raises
        ------
        DimensionMismatchError
            If the value's units differ from the default's.
        ValueError
            If the value is NaN/inf or violates ``bounds``.
        """
        where = f"{owner}: " if owner else ""
        if isinstance(value, str) or not (
            isinstance(value, (numbers.Number, Quantity, np.ndarray))
        ):
            raise TypeError(
                f"{where}parameter {self.name!r} must be a number or a Brian2 "
                f"quantity in {self.unit_string}, got {type(value).__name__}"
            )
        if not have_same_dimensions(value, self.default):
            raise DimensionMismatchError(
                f"{where}parameter {self.name!r} must have units of {self.unit_string}, "
                f"got {value!r}",
                get_dimensions(value),
                self.dim,
            )
        arr = np.asarray(value, dtype=float)
        if self.shared and arr.ndim != 0:
            raise ValueError(
                f"{where}parameter {self.name!r} is shared (one value per group); "
                f"got an array of shape {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{where}parameter {self.name!r} must be finite, got {value!r}")
        if self.bounds == "positive" and np.any(arr <= 0):
            raise ValueError(f"{where}parameter {self.name!r} must be > 0, got {value!r}")
        if self.bounds == "nonnegative" and np.any(arr < 0):
            raise ValueError(f"{where}parameter {self.name!r} must be >= 0, got {value!r}")
        if self.bounds == "probability" and np.any((arr < 0) | (arr > 1)):
            raise ValueError(
                f"{where}parameter {self.name!r} must lie in [0, 1], got {value!r}"
            )
        return value


@dataclasses.dataclass(frozen=True)
class Update:
    """A per-step assignment of neuron (or synapse) variables.

    Installed as ``group.run_regularly(code, when=when, order=order)`` so the
    quantity is computed once per step and then read by synapses as a plain
    variable.

    Parameters
    ----------
    code : str
        Brian2 abstract code (one or more statements).
    when : str
        Schedule slot (``'start'``, ``'groups'``, ``'thresholds'``,
        ``'synapses'``, ``'resets'``, ``'end'``, or ``'before_'``/``'after_'``
        one of them).
    order : float
        Order within the slot; in the ``'groups'`` slot it is relative to the
        order of the group the update is installed on.
    name : str
        Identifier (``''`` for none); a named update's slot can be changed
        per group (``NeuronModel.make_group(..., update_orders=...)``).
    """

    code: str
    when: str = "start"
    order: float = 0
    name: str = ""

    def __post_init__(self):
        if not isinstance(self.code, str) or not self.code.strip():
            raise TypeError(f"Update {self.name!r}: code must be a non-empty string of Brian2 "
                            f"statements, got {self.code!r}")
        slots = list(prefs.core.network.default_schedule)
        allowed = slots + [f"{p}_{w}" for w in slots for p in ("before", "after")]
        if self.when not in allowed:
            raise ValueError(f"Update {self.name!r}: when must be one of {slots} (or "
                             f"'before_'/'after_' one of them), got {self.when!r}")
        if isinstance(self.order, bool) or not isinstance(self.order, numbers.Real) \
                or not np.isfinite(self.order):
            raise ValueError(f"Update {self.name!r}: order must be a finite number, "
                             f"got {self.order!r}")
        if not isinstance(self.name, str) or (self.name and not self.name.isidentifier()):
            raise ValueError(f"Update name must be an identifier or '', got {self.name!r}")


@dataclasses.dataclass(frozen=True)
class Event:
    """A custom neuron event: a condition checked every step, code run when it holds.

    Passed to :class:`~brian2.NeuronGroup` as ``events={name: condition}``
    and installed with ``group.run_on_event(name, code, when=when,
    order=order)``; ``print(model)`` lists it in its events section.
    Refractoriness is written into the condition with a time *variable*
    (``... and t - t_ds >= t_ref_ds``), so run values can change it.

    Parameters
    ----------
    condition : str
        Brian2 boolean expression (e.g. ``'v_apical > theta_ds and
        t - t_ds >= t_ref_ds'``), checked in the ``thresholds`` slot after
        the spike threshold.
    code : str
        Brian2 statements run for the neurons whose condition holds
        (``''``: none; the event is then only recorded, e.g. by an
        ``EventMonitor``).
    when : str
        Schedule slot of the code (default ``'resets'``, as Brian2).
    order : float
        Order of the code within its slot.
    doc : str
        One-line description shown by ``print(model)``.

    Examples
    --------
    >>> Event('v > theta', 't_last = t').condition
    'v > theta'
    """

    condition: str
    code: str = ""
    when: str = "resets"
    order: float = 0
    doc: str = ""

    def __post_init__(self):
        if not isinstance(self.condition, str) or not self.condition.strip():
            raise TypeError(f"Event condition must be a non-empty string of Brian2 code, "
                            f"got {self.condition!r}")
        if not isinstance(self.code, str):
            raise TypeError(f"Event code must be a string of Brian2 statements, "
                            f"got {self.code!r}")
        # reuse Update's checks of the slot and the order
        if self.code.strip():
            Update(self.code, when=self.when, order=self.order)


def _check_events(owner, events) -> dict:
    """``events`` as a dict name -> :class:`Event` (tuples ``(condition, code)`` accepted)."""
    if events is None:
        return {}
    if not isinstance(events, Mapping):
        raise TypeError(f"{owner}: events must be a mapping name -> Event, got "
                        f"{type(events).__name__}")
    out = {}
    for key, ev in events.items():
        if not isinstance(key, str) or not key.isidentifier() or key == "spike":
            raise ValueError(f"{owner}: event names must be identifiers other than 'spike' "
                             f"(the threshold's event), got {key!r}")
        if isinstance(ev, str):
            ev = Event(ev)
        elif isinstance(ev, tuple):
            ev = Event(*ev)
        elif not isinstance(ev, Event):
            raise TypeError(f"{owner}: events[{key!r}] must be an Event, a condition string or "
                            f"a tuple (condition, code), got {type(ev).__name__}")
        out[key] = ev
    return out


def substitute_expression(expr: str, **names: str) -> str:
    """Replace whole identifiers in a Brian2 expression.

    Uses Brian2's own word substitution (the mechanism behind
    ``Equations(eqs, old='new')``), so ``x`` in ``exp(x)`` is replaced but
    ``exp`` is untouched.

    Examples
    --------
    >>> substitute_expression('1/(1 + exp(-x))', x='u')
    '1/(1 + exp(-u))'
    """
    for key, val in names.items():
        if not key.isidentifier():
            raise ValueError(f"substitute_expression: {key!r} is not an identifier")
        if not isinstance(val, str):
            raise TypeError(f"substitute_expression: value for {key!r} must be a string")
    return word_substitute(expr, {k: f"({v})" if not v.isidentifier() else v for k, v in names.items()})


class _Model:
    """Common machinery of neuron and synapse specifications."""

    kind = "model"

    def __init__(self, name, equations, params=(), updates=(), reference="", doc=""):
        if not isinstance(name, str) or not name:
            raise ValueError("name must be a non-empty string")
        if not isinstance(equations, str):
            raise TypeError(f"{name}: equations must be a Brian2 equation string")
        self.name = name
        self.equations = equations.strip("\n")
        params = list(params)
        seen = set()
        for p in params:
            if not isinstance(p, Param):
                raise TypeError(f"{name}: params must be Param objects, got {p!r}")
            if p.name in seen:
                raise ValueError(f"{name}: parameter {p.name!r} declared twice")
            seen.add(p.name)
        self._params = {p.name: p for p in params}
        self._values = {p.name: p.default for p in params}
        self.updates = tuple(updates)
        names = []
        for u in self.updates:
            if not isinstance(u, Update):
                raise TypeError(f"{name}: updates must be Update objects, got {u!r}")
            if u.name in names:
                raise ValueError(f"{name}: update {u.name!r} declared twice")
            names += [u.name] if u.name else []
        self.reference = reference
        self.doc = doc
        # Parse once so that errors in the model text show up at definition time.
        self.to_equations()

    # -- parameters -------------------------------------------------------------
    @property
    def params(self) -> Mapping[str, Param]:
        """Parameter declarations (name -> :class:`Param`)."""
        return dict(self._params)

    @property
    def values(self) -> dict:
        """Current parameter values (name -> value)."""
        return dict(self._values)

    def __getitem__(self, name):
        if name not in self._values:
            raise KeyError(self._unknown(name))
        return self._values[name]

    def _unknown(self, name) -> str:
        import difflib

        close = difflib.get_close_matches(str(name), self._values, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return (
            f"{self.kind} {self.name!r} has no parameter {name!r}.{hint} "
            f"Known parameters: {', '.join(sorted(self._values))}"
        )

    def check_values(self, values: Mapping) -> dict:
        """Validate a mapping of parameter values; return it as a dict."""
        if not isinstance(values, Mapping):
            raise TypeError(f"{self.name}: parameter values must be a mapping")
        out = {}
        for key, val in values.items():
            if key not in self._params:
                raise KeyError(self._unknown(key))
            out[key] = self._params[key].check(val, owner=f"{self.kind} {self.name!r}")
        return out

    def with_params(self, **values):
        """Return a copy with new default parameter values.

        Raises
        ------
        KeyError
            For an unknown parameter name (the message lists the known ones).
        DimensionMismatchError
            For a value with the wrong units.
        ValueError
            For NaN/inf or a value outside the parameter's bounds (e.g. a
            negative time constant).
        """
        checked = self.check_values(values)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._values = {**self._values, **checked}
        return new

    # -- text -------------------------------------------------------------------
    def equations_text(self) -> str:
        """The full Brian2 equations: model text plus parameter declarations."""
        lines = [self.equations]
        if self._params:
            lines.append("# parameters (constant variables: changeable via run_args)")
            lines.extend(p.declaration() for p in self._params.values())
        return "\n".join(lines)

    def to_equations(self, **substitutions) -> Equations:
        """Brian2 :class:`~brian2.Equations` object (optionally with renamings)."""
        try:
            return Equations(self.equations_text(), **substitutions)
        except Exception as exc:  # pragma: no cover - message enrichment only
            raise type(exc)(f"{self.kind} {self.name!r}: {exc}") from exc

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"

    def __str__(self):
        """Everything that runs, as Brian2 text: non-equation lines are comments.

        Sections: the equations (exactly :meth:`equations_text`), parameter
        values in display units with their documentation, per-step updates
        with their schedule slot, events (neurons) or pathways (synapses).
        With the lines starting with ``#`` removed, the print-out is the
        equation string Brian2 compiles.
        """
        head = f"# {type(self).__name__} {self.name!r}"
        if self.reference:
            head += f"  [{self.reference}]"
        body = [head, "# --- equations ---", self.equations_text()]
        if self._params:
            body.append("# --- parameter values (display units) ---")
            width = max(len(k) for k in self._params)
            for key, param in self._params.items():
                scope = "" if param.shared else ", per element"
                bound = _BOUND_TEXT[param.bounds]
                note = f" ({bound}{scope})" if bound or scope else ""
                body.append(f"# {key:<{width}} = {param.format(self._values[key])}"
                            f"{note}  {param.doc}".rstrip())
        if self.updates:
            body.append("# --- per-step updates (run_regularly; a 'groups' order is relative "
                        "to the group's order) ---")
            for k, u in enumerate(self.updates):
                body.extend(_commented(f"{u.name or f'update {k}'} (when={u.when!r}, "
                                       f"order={u.order})", u.code))
        body.extend(self._event_lines())
        return "\n".join(body)

    def _event_lines(self) -> list:
        return []

    def _repr_latex_(self):
        return self.to_equations()._repr_latex_()

    def _check_update_orders(self, update_orders) -> tuple:
        """The updates with the slots of ``update_orders`` (name -> (when, order))."""
        if update_orders is None:
            return self.updates
        if not isinstance(update_orders, Mapping):
            raise TypeError(f"update_orders must be a mapping update name -> (when, order), "
                            f"got {type(update_orders).__name__}")
        named = [u.name for u in self.updates if u.name]
        for key, slot in update_orders.items():
            if key not in named:
                raise KeyError(f"update_orders: {self.kind} {self.name!r} has no update named "
                               f"{key!r}; its named updates: {', '.join(named) or 'none'}")
            if not isinstance(slot, tuple) or len(slot) != 2:
                raise TypeError(f"update_orders[{key!r}] must be a tuple (when, order), "
                                f"e.g. ('groups', 11), got {slot!r}")
        return tuple(dataclasses.replace(u, when=update_orders[u.name][0],
                                         order=update_orders[u.name][1])
                     if u.name in update_orders else u for u in self.updates)

    def _install(self, obj, overrides, updates=None):
        values = {**self._values, **self.check_values(overrides)}
        # remembered so the engine can check bounds of run-time values too
        obj._model_params = dict(self._params)
        for key, val in values.items():
            setattr(obj, key, val)
        for k, u in enumerate(self.updates if updates is None else updates):
            obj.run_regularly(
                u.code,
                when=u.when,
                order=u.order + (obj.order if u.when == "groups" else 0),
                name=f"{obj.name}_{u.name}" if u.name else f"{obj.name}_update_{k}",
            )
        return obj


class NeuronModel(_Model):
    """A neuron (compartment) model: equations, parameters, per-step updates.

    Parameters
    ----------
    name : str
        Model name (used for group names and in error messages).
    equations : str
        Brian2 equations *without* the parameter declarations (added from
        ``params``).
    params : sequence of Param
        Documented parameters with defaults.
    updates : sequence of Update
        Per-step assignments (rates, learning signals), each installed with
        ``run_regularly`` at an explicit ``when``/``order``.
    threshold, reset, refractory : str or Quantity, optional
        Passed to :class:`~brian2.NeuronGroup`.
    method : str
        Integration method (default ``'euler'``: the reference NumPy
        implementations use explicit Euler, so results agree step for step).
    reference : str
        Paper and equation numbers the model implements.
    events : dict, optional
        Custom events, name -> :class:`Event` (or a tuple ``(condition,
        code)``), e.g. dendritic spikes: passed to the group as
        ``NeuronGroup(events=...)`` and ``run_on_event``. Default: none.
    """

    kind = "neuron model"

    def __init__(
        self,
        name,
        equations,
        params=(),
        updates=(),
        threshold=None,
        reset=None,
        refractory=False,
        method="euler",
        reference="",
        doc="",
        events=None,
    ):
        self.threshold = threshold
        self.reset = reset
        self.refractory = refractory
        self.method = method
        self.events = _check_events(f"{self.kind} {name!r}", events)
        super().__init__(name, equations, params, updates, reference, doc)

    def _event_lines(self) -> list:
        refractory = self.refractory
        if isinstance(refractory, Quantity):
            refractory = _format_value(refractory, "ms")
        lines = (["# --- events (NeuronGroup arguments) ---"]
                 + _commented("threshold", self.threshold) + _commented("reset", self.reset)
                 + _commented("refractory", refractory))
        for key, ev in self.events.items():
            doc = f"  ({ev.doc})" if ev.doc else ""
            lines += _commented(f"event {key}{doc}", ev.condition)
            if ev.code.strip():
                lines += _commented(f"on {key} (run_on_event, when={ev.when!r}, "
                                    f"order={ev.order})", ev.code)
        return lines + [f"# method: {self.method}"]

    def make_group(self, N, name=None, dt=None, order=0, update_orders=None,
                   **values) -> NeuronGroup:
        """Create a :class:`~brian2.NeuronGroup` of ``N`` neurons of this model.

        Parameters
        ----------
        N : int
            Number of neurons (>= 1).
        name : str, optional
            Group name (default: the model name, made unique by Brian2).
        dt : Quantity, optional
            Time step of the group's clock (default: ``defaultclock``).
        order : int
            Scheduling order within the ``groups`` slot (default 0).
        update_orders : dict, optional
            Schedule slots of named updates for this group, ``{update name:
            (when, order)}`` with the meaning of :class:`Update` (a
            ``'groups'`` order is relative to ``order``), e.g.
            ``{'bottom_up': ('groups', 11)}``; other updates keep theirs.
        **values
            Parameter values overriding the defaults for this group.

        Raises
        ------
        KeyError
            For an unknown parameter or update name.
        TypeError, ValueError
            For an invalid size, slot or value.
        """
        if isinstance(N, bool) or not isinstance(N, numbers.Integral) or N < 1:
            raise ValueError(f"N must be a positive integer, got {N!r}")
        values = self.check_values(values)
        updates = self._check_update_orders(update_orders)
        group = NeuronGroup(
            int(N),
            self.to_equations(),
            threshold=self.threshold,
            reset=self.reset,
            refractory=self.refractory,
            method=self.method,
            name=name or f"{self.name}*",
            dt=dt,
            order=order,
            events={key: ev.condition for key, ev in self.events.items()} or None,
        )
        for key, ev in self.events.items():
            if ev.code.strip():
                group.run_on_event(key, ev.code, when=ev.when, order=ev.order)
        return self._install(group, values, updates)


class SynapseModel(_Model):
    """A synapse model: plasticity equations, pathway (summed) target, events.

    Parameters
    ----------
    name : str
        Model name.
    equations : str
        Brian2 Synapses model string without parameter declarations; it may
        contain one ``(summed)`` line writing the pathway's postsynaptic
        input variable.
    params : sequence of Param
        Documented parameters with defaults (declared per synapse group).
    on_pre, on_post : str, optional
        Event code.
    method : str
        Integration method for clock-driven variables.
    """

    kind = "synapse model"

    def __init__(
        self,
        name,
        equations,
        params=(),
        on_pre=None,
        on_post=None,
        method="euler",
        reference="",
        doc="",
        updates=(),
    ):
        self.on_pre = on_pre
        self.on_post = on_post
        self.method = method
        super().__init__(name, equations, params, updates, reference, doc)

    def _event_lines(self) -> list:
        return (["# --- pathways (Synapses event code) ---"] + _commented("on_pre", self.on_pre)
                + _commented("on_post", self.on_post) + [f"# method: {self.method}"])

    def make_synapses(self, source, target, name=None, order=1, connect=None, batch_size=1,
                      dtype=None, **values):
        """Create :class:`~brian2.Synapses` from ``source`` to ``target``.

        Parameters
        ----------
        source, target : Group
            Pre- and postsynaptic groups.
        name : str, optional
            Synapses name.
        order : int
            Scheduling order in the ``groups`` slot; the default 1 puts the
            plasticity update *after* the neurons' state update, so it reads
            the per-step variables computed before it (see module docs).
        connect : dict or True, optional
            If given, ``syn.connect(**connect)``. ``True`` connects all to all
            with :func:`brian_dendrites.dense.connect_dense`, which lets the
            engine run the projection with the dense (BLAS-speed) C++ loops.
            If not given, the synapses are returned unconnected and without
            parameter values or updates (Brian2 sets no synaptic variable,
            shared or not, before ``connect``): connect them yourself, then
            call :meth:`install` (a warning says so)::

                syn = model.make_synapses(pre, post, name='s')
                syn.connect(p=0.1)
                model.install(syn, w_max=2.0)
        batch_size : int >= 1
            With ``connect=True``: the groups hold ``batch_size`` sample
            copies and the projection one shared weight matrix (see
            :func:`brian_dendrites.dense.connect_dense`).
        dtype : dtype or dict, optional
            Storage type of the variables, as Brian2's ``Synapses(dtype=...)``
            (e.g. ``{'w': numpy.float32}``: single-precision weights, read
            into double-precision arithmetic); default
            ``prefs.core.default_float_dtype``.
        **values
            Parameter values overriding the defaults.

        Raises
        ------
        ValueError
            If parameter values are given without ``connect`` (pass them to
            :meth:`install` after connecting).
        """
        values = self.check_values(values)
        if connect is not None and connect is not True and not isinstance(connect, Mapping):
            raise TypeError(f"connect must be None, True or a dict of Synapses.connect "
                            f"arguments, got {connect!r}")
        if not connect and values:
            raise ValueError(
                f"{self.kind} {self.name!r}: parameter value(s) for {', '.join(values)} cannot "
                f"be set before the synapses are connected (Brian2 refuses); pass connect=..., "
                f"or call syn.connect(...) and then model.install(syn, {next(iter(values))}=...)")
        syn = Synapses(
            source,
            target,
            model=self.to_equations(),
            on_pre=self.on_pre,
            on_post=self.on_post,
            method=self.method,
            name=name or f"{self.name}*",
            order=order,
            dtype=dtype,
        )
        if batch_size != 1 and connect is not True:
            raise ValueError(f"batch_size={batch_size!r} needs connect=True (a dense projection)")
        if connect is True:
            from .dense import connect_dense

            connect_dense(syn, batch_size=batch_size)
        elif connect:
            syn.connect(**connect)
        if connect:
            return self._install(syn, values)
        if self._params or self.updates:
            logger.warn(
                f"{self.kind} {self.name!r}: Synapses {syn.name!r} made without connect have no "
                f"parameter values or per-step updates yet: call model.install(syn) after "
                f"syn.connect(...)", name_suffix="install_after_connect", once=False)
        return syn

    def install(self, synapses, **values) -> Synapses:
        """Set parameters and per-step updates on connected synapses of this model.

        For synapses made with ``make_synapses(..., connect=None)`` and then
        connected by the caller (``syn.connect(...)``): sets every parameter
        (defaults, overridden by ``values``), installs the model's updates
        and registers the parameter bounds for run-time checks, exactly as
        ``make_synapses(..., connect=...)`` does.

        Parameters
        ----------
        synapses : Synapses
            Made from this model by :meth:`make_synapses` without ``connect``,
            then connected.
        **values
            Parameter values overriding the defaults.

        Returns
        -------
        Synapses
            The same object.

        Raises
        ------
        TypeError
            If ``synapses`` is not a :class:`~brian2.Synapses`.
        ValueError
            If it was not made from this model, is not connected yet, or was
            already installed.
        """
        if not isinstance(synapses, Synapses):
            raise TypeError(f"synapses must be a brian2 Synapses, got {type(synapses).__name__}")
        missing = [k for k in self._params if k not in synapses.variables]
        if missing:
            raise ValueError(f"synapses {synapses.name!r} were not made from {self.kind} "
                             f"{self.name!r}: no variable(s) {', '.join(missing)}")
        if "_model_params" in synapses.__dict__:
            raise ValueError(f"synapses {synapses.name!r} already have their parameters and "
                             f"updates installed")
        # Brian2 flag set by Synapses.connect (also relied on by dense.connect_dense)
        if not getattr(synapses, "_connect_called", True):
            raise ValueError(f"synapses {synapses.name!r} are not connected yet: call "
                             f"synapses.connect(...) before install()")
        return self._install(synapses, values)
