"""Batteries every model in the library must pass (like scikit-learn's ``check_estimator``).

:func:`check_neuron_model` builds a small group of a :class:`~brian_dendrites.spec.NeuronModel`
(and :func:`check_synapse_model` a small all-to-all projection of a
:class:`~brian_dendrites.spec.SynapseModel` between two groups providing what it reads)
from random initial states and checks that

1. the equations are dimensionally consistent and build on every requested
   Brian2 target;
2. all targets give the same final state (relative 1e-9);
3. every parameter is a variable that a run can change without rebuilding,
   and changing it changes the result, identically on every target;
4. runs are deterministic given a seed.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from brian2 import NeuronGroup, Quantity, get_dimensions, linked_var, ms, mV, nS, pA, pF

from ._brian_compat import DIMENSIONLESS, get_identifiers
from .engine import Simulation
from .spec import NeuronModel, SynapseModel, _parse_unit, _unit_string

__all__ = ["check_neuron_model", "check_synapse_model", "synapse_interface", "typical_scale"]

_SCALES = [(mV, -70 * mV, 5 * mV), (nS, 0 * nS, 10 * nS), (pA, 0 * pA, 100 * pA),
           (pF, 100 * pF, 100 * pF)]

#: Deterministic spike trains of the battery's groups (when the synapse has event code).
_PRE_SPIKES = "(timestep(t, dt) + i) % 3 == 0"
_POST_SPIKES = "(timestep(t, dt) + 2*i) % 4 == 1"


def typical_scale(dim):
    """(offset, spread) of random test values for a variable of dimension ``dim``."""
    for unit, offset, spread in _SCALES:
        if unit.dim == dim:
            return offset, spread
    return Quantity(0, dim=dim), Quantity(1, dim=dim)


def _random(dim, size, rng):
    offset, spread = typical_scale(dim)
    return offset + spread * (rng.uniform(0, 1) if size is None else rng.uniform(0, 1, size))


def _state_names(model):
    """Variables a run evolves: not subexpressions, parameters, constants or links."""
    eqs = model.to_equations()
    return [name for name, eq in eqs.items()
            if eq.type != "subexpression" and not {"constant", "linked", "summed"} & set(eq.flags)
            and name not in model.params]


def _check_common(targets, n_values, duration):
    if isinstance(targets, str) or not targets or \
            any(t not in ("numpy", "cython", "cpp_standalone") for t in targets):
        raise ValueError(f"targets must be a non-empty sequence of 'numpy', 'cython', "
                         f"'cpp_standalone', got {targets!r}")
    for argname, n in n_values.items():
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{argname} must be a positive integer, got {n!r}")
    if not isinstance(duration, Quantity) or get_dimensions(duration) != ms.dim:
        raise ValueError(f"duration must be a time (e.g. 2*ms), got {duration!r}")


def _run_battery(model, build, owner, targets, seed, cache_dir, duration, skip, stochastic,
                 inert):
    """Build on every target, compare, change every parameter, check determinism."""
    results, sims = {}, {}
    label = "check_syn_" if isinstance(model, SynapseModel) else "check_"
    for target in targets:
        sims[target] = Simulation(build, duration, target=target, seed=seed, cache_dir=cache_dir,
                                  name=f"{label}{model.name}")
        results[target] = sims[target].run()
    ref_target = targets[0]
    ref = results[ref_target]
    compared = [k for k in ref if ref[k].dtype.kind == "f" and k.split(".")[1] not in skip]
    for target in targets[1:]:
        for key in compared:
            np.testing.assert_allclose(
                results[target][key], ref[key], rtol=1e-9, atol=1e-300,
                err_msg=f"{model.name}: {key} differs between {ref_target} and {target}")
    # parameters are run-time variables: change each one, no rebuild, same on all targets
    for pname, param in model.params.items():
        value = model[pname]
        new = value * 1.5 if np.any(np.asarray(value) != 0) else typical_scale(param.dim)[1] * 0.5
        if param.bounds == "probability":
            new = 0.5
        changed = {t: sims[t].run({f"{owner}.{pname}": new}) for t in targets}
        for target in targets[1:] if pname not in stochastic else ():
            for key in compared:
                np.testing.assert_allclose(
                    changed[target][key], changed[ref_target][key], rtol=1e-9, atol=1e-300,
                    err_msg=f"{model.name}: after setting {pname}, {key} differs on {target}")
        assert np.allclose(np.asarray(changed[ref_target][f"{owner}.{pname}"], dtype=float),
                           float(np.asarray(new))), f"{model.name}: {pname} was not set by the run"
        assert pname in inert or any(
            not np.array_equal(changed[ref_target][key], ref[key]) for key in compared
            if key != f"{owner}.{pname}"), f"{model.name}: {pname} has no effect on the run"
    # determinism: the same run twice gives the same numbers
    again = sims[ref_target].run()
    for key in compared:
        np.testing.assert_array_equal(again[key], ref[key],
                                      err_msg=f"{model.name}: {key} not deterministic")
    return results


def _assign(obj, values):
    """Set the variables of a Brian2 group from a dict; return the group."""
    for name, val in values.items():
        setattr(obj, name, val)
    return obj


def check_neuron_model(model: NeuronModel, targets=("numpy", "cython", "cpp_standalone"),
                       overrides=None, n=3, duration=5 * ms, seed=0, cache_dir=None,
                       skip=(), stochastic=("sigma",), inert=()):
    """Run the model battery; raise AssertionError with a precise message on failure.

    Parameters
    ----------
    model : NeuronModel
    targets : sequence of str
        Brian2 targets to compare (the first one is the reference).
    overrides : dict, optional
        Parameter values making the model deterministic (e.g. ``phi_max=0``
        for a Poisson neuron, since targets use different random generators).
    n : int
        Group size.
    duration : Quantity
        Simulated time per run.
    seed : int
        Seed of the random initial state.
    cache_dir : path, optional
        Standalone build cache.
    skip : sequence of str
        Variables not compared (e.g. spike bookkeeping).
    stochastic : sequence of str
        Parameters that switch on noise: after changing them only the
        per-target determinism is checked, since targets may draw random
        numbers in a different order (numpy and cpp_standalone agree with
        the same seed; cython buffers them differently).
    inert : sequence of str
        Parameters allowed to leave the run unchanged (e.g. a dead time when
        ``overrides`` switch spiking off); every other parameter must change
        the result.

    Returns
    -------
    dict
        Per target, the run results (for further checks).

    Notes
    -----
    A model with linked variables (``x : 1 (linked)``) is linked to a
    partner group ``partner`` of the same size holding random values of them.
    """
    if not isinstance(model, NeuronModel):
        raise TypeError(f"model must be a NeuronModel, got {type(model).__name__}")
    _check_common(targets, {"n": n}, duration)
    model = model.with_params(**(overrides or {}))
    rng = np.random.default_rng(seed)
    eqs = model.to_equations()
    init = {name: _random(eqs[name].dim, None if "shared" in eqs[name].flags else n, rng)
            for name in _state_names(model)}
    # linked variables read a partner group of the same size holding random values
    linked = [name for name, eq in eqs.items() if "linked" in eq.flags]
    partner_init = {name: _random(eqs[name].dim, n, rng) for name in linked}

    def build():
        objs = {}
        group = model.make_group(n, name="g")
        if linked:
            partner = NeuronGroup(n, "\n".join(f"{name} : {_unit_string(eqs[name].dim)}"
                                               for name in linked), name="partner")
            for name, val in partner_init.items():
                setattr(partner, name, val)
                setattr(group, name, linked_var(partner, name))
            objs["partner"] = partner
        objs["g"] = _assign(group, init)
        return objs

    return _run_battery(model, build, "g", tuple(targets), seed, cache_dir, duration, skip,
                        stochastic, tuple(inert))


def synapse_interface(model: SynapseModel, units: Mapping | None = None,
                      pre_model: NeuronModel | None = None,
                      post_model: NeuronModel | None = None) -> dict:
    """The pre- and postsynaptic variables a synapse model reads or writes, with dimensions.

    Found from the ``_pre``/``_post`` identifiers of the model's equations,
    event code and updates. Dimensions come from, in this order: ``units``;
    the model's own ``(summed)`` line; the equations of ``pre_model`` /
    ``post_model``; else dimensionless.

    Parameters
    ----------
    model : SynapseModel
    units : dict, optional
        Identifier as written in the model (``'r_pre'``, ``'rate_post'``) ->
        unit (Quantity or unit string such as ``'Hz'``).
    pre_model, post_model : NeuronModel, optional
        Models of the groups the synapse connects in practice.

    Returns
    -------
    dict
        ``{'pre': {name: dim}, 'post': {name: dim}}``.

    Examples
    --------
    >>> from brian_dendrites.models import static_pathway
    >>> sorted(synapse_interface(static_pathway('v_B', 'r'))['post'])
    ['v_B']
    """
    if not isinstance(model, SynapseModel):
        raise TypeError(f"model must be a SynapseModel, got {type(model).__name__}")
    for argname, m in (("pre_model", pre_model), ("post_model", post_model)):
        if m is not None and not isinstance(m, NeuronModel):
            raise TypeError(f"{argname} must be a NeuronModel, got {type(m).__name__}")
    units = dict(units or {})
    if not all(isinstance(k, str) for k in units):
        raise TypeError("units: keys must be identifiers such as 'r_pre'")
    eqs = model.to_equations()
    ids = set()
    for eq in eqs.values():
        ids.add(eq.varname)
        if eq.expr is not None:
            ids |= get_identifiers(eq.expr.code)
    for code in [model.on_pre, model.on_post] + [u.code for u in model.updates]:
        for text in (code.values() if isinstance(code, Mapping) else [code or ""]):
            ids |= get_identifiers(text)
    sides = {"pre": (pre_model, {}), "post": (post_model, {})}
    for ident in sorted(ids):
        if ident in eqs and "summed" not in eqs[ident].flags:
            continue  # a variable of the synapses themselves
        for side, (partner, found) in sides.items():
            if not ident.endswith(f"_{side}"):
                continue
            name = ident[: -len(side) - 1]
            partner_eqs = partner.to_equations() if partner is not None else {}
            if ident in units:
                unit = units[ident]
                dim = get_dimensions(_parse_unit(unit) if isinstance(unit, str) else unit)
            elif ident in eqs:
                dim = eqs[ident].dim
            elif name in partner_eqs:
                dim = partner_eqs[name].dim
            else:
                dim = DIMENSIONLESS
            found[name] = dim
    unused = set(units) - {f"{n}_{side}" for side, (_, f) in sides.items() for n in f}
    if unused:
        raise ValueError(f"units: {sorted(unused)} are not pre/post identifiers of "
                         f"{model.name!r}")
    return {side: found for side, (_, found) in sides.items()}


def check_synapse_model(model: SynapseModel, targets=("numpy", "cpp_standalone"),
                        overrides=None, units=None, pre_model=None, post_model=None,
                        n_pre=3, n_post=2, duration=2 * ms, seed=0, cache_dir=None, skip=(),
                        stochastic=(), inert=()):
    """Run the synapse-model battery; raise AssertionError with a precise message on failure.

    Builds a presynaptic group ``pre`` and a postsynaptic group ``post``
    holding exactly the variables the model reads or writes
    (:func:`synapse_interface`), with random values; if the model has
    ``on_pre``/``on_post`` code the groups spike on a fixed deterministic
    pattern. The model connects them all to all (``make_synapses(...,
    connect=True)``, so ``cpp_standalone`` runs the dense code path) with
    random synaptic states. Then the checks of :func:`check_neuron_model`
    (same results on every target, every parameter changeable by a run,
    deterministic) apply to all variables of ``pre``, ``post`` and ``syn``.

    Parameters
    ----------
    model : SynapseModel
    targets : sequence of str
        Brian2 targets to compare (the first one is the reference). Cython is
        optional (its first compile takes ~20 s per code object).
    overrides : dict, optional
        Parameter values for the test.
    units, pre_model, post_model
        Units of the pre/post variables the model reads (see
        :func:`synapse_interface`); dimensionless by default.
    n_pre, n_post : int
        Group sizes.
    duration : Quantity (second)
        Simulated time per run.
    seed : int
        Seed of the random initial state and of the runs.
    cache_dir : path, optional
        Standalone build cache.
    skip : sequence of str
        Variables not compared.
    stochastic : sequence of str
        Parameters that switch on noise (only determinism is checked after
        changing them).
    inert : sequence of str
        Parameters allowed to leave the run unchanged.

    Returns
    -------
    dict
        Per target, the run results.

    Raises
    ------
    TypeError, ValueError
        For invalid arguments.
    AssertionError
        If a check fails (the message names the model, variable and target).
    """
    if not isinstance(model, SynapseModel):
        raise TypeError(f"model must be a SynapseModel, got {type(model).__name__}")
    _check_common(targets, {"n_pre": n_pre, "n_post": n_post}, duration)
    model = model.with_params(**(overrides or {}))
    interface = synapse_interface(model, units, pre_model, post_model)
    rng = np.random.default_rng(seed)
    sizes = {"pre": n_pre, "post": n_post}
    init = {side: {name: _random(dim, sizes[side], rng) for name, dim in interface[side].items()}
            for side in sizes}
    eqs = model.to_equations()
    syn_init = {name: _random(eqs[name].dim, n_pre * n_post, rng)
                for name in _state_names(model) if "shared" not in eqs[name].flags}
    spikes = {"pre": _PRE_SPIKES if model.on_pre else None,
              "post": _POST_SPIKES if model.on_post else None}

    def build():
        objs = {}
        for side, variables in interface.items():
            text = "\n".join(f"{name} : {_unit_string(dim)}" for name, dim in variables.items())
            group = NeuronGroup(sizes[side], text or "unused : 1", threshold=spikes[side],
                                name=side)
            objs[side] = _assign(group, init[side])
        syn = model.make_synapses(objs["pre"], objs["post"], name="syn", connect=True)
        objs["syn"] = _assign(syn, syn_init)
        return objs

    return _run_battery(model, build, "syn", tuple(targets), seed, cache_dir, duration, skip,
                        stochastic, tuple(inert))
