"""A battery every model in the library must pass (like scikit-learn's ``check_estimator``).

:func:`check_neuron_model` builds a small group of a :class:`~brian_dendrites.spec.NeuronModel`
from random initial states and checks that

1. the equations are dimensionally consistent and build on every requested
   Brian2 target;
2. all targets give the same final state (relative 1e-9);
3. every parameter is a variable that a run can change without rebuilding,
   and changing it changes the result identically on every target;
4. runs are deterministic given a seed.
"""

from __future__ import annotations

import numpy as np
from brian2 import Quantity, mV, ms, nS, pA, pF

from .engine import Simulation
from .spec import NeuronModel

__all__ = ["check_neuron_model", "typical_scale"]

_SCALES = [(mV, -70 * mV, 5 * mV), (nS, 0 * nS, 10 * nS), (pA, 0 * pA, 100 * pA),
           (pF, 100 * pF, 100 * pF)]


def typical_scale(dim):
    """(offset, spread) of random test values for a variable of dimension ``dim``."""
    for unit, offset, spread in _SCALES:
        if unit.dim == dim:
            return offset, spread
    return Quantity(0, dim=dim), Quantity(1, dim=dim)


def _state_names(model):
    eqs = model.to_equations()
    return [name for name, eq in eqs.items()
            if eq.type != "subexpression" and "constant" not in eq.flags
            and name not in model.params]


def check_neuron_model(model: NeuronModel, targets=("numpy", "cython", "cpp_standalone"),
                       overrides=None, n=3, duration=5 * ms, seed=0, cache_dir=None,
                       skip=(), stochastic=("sigma",)):
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

    Returns
    -------
    dict
        Per target, the run results (for further checks).
    """
    if not isinstance(model, NeuronModel):
        raise TypeError(f"model must be a NeuronModel, got {type(model).__name__}")
    model = model.with_params(**(overrides or {}))
    rng = np.random.default_rng(seed)
    eqs = model.to_equations()
    init = {}
    for name in _state_names(model):
        offset, spread = typical_scale(eqs[name].dim)
        init[name] = offset + spread * rng.uniform(0, 1, n)

    def build():
        group = model.make_group(n, name="g")
        for name, val in init.items():
            setattr(group, name, val)
        return {"g": group}

    results, sims = {}, {}
    for target in targets:
        sims[target] = Simulation(build, duration, target=target, seed=seed, cache_dir=cache_dir,
                                  name=f"check_{model.name}")
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
        changed = {t: sims[t].run({f"g.{pname}": new}) for t in targets}
        for target in targets[1:] if pname not in stochastic else ():
            for key in compared:
                np.testing.assert_allclose(
                    changed[target][key], changed[ref_target][key], rtol=1e-9, atol=1e-300,
                    err_msg=f"{model.name}: after setting {pname}, {key} differs on {target}")
        assert np.allclose(np.asarray(changed[ref_target][f"g.{pname}"], dtype=float),
                           float(np.asarray(new))), f"{model.name}: {pname} was not set by the run"
    # determinism: the same run twice gives the same numbers
    again = sims[ref_target].run()
    for key in compared:
        np.testing.assert_array_equal(again[key], ref[key],
                                      err_msg=f"{model.name}: {key} not deterministic")
    return results
