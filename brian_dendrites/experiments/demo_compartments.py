"""The compartments demo: potentials of the library's two- and three-compartment neurons.

What ``examples/demo_compartments.py`` shows and ``brian-dendrites demo``
runs, on built-in defaults and without any data file:

1. a three-compartment pyramidal neuron (Sacramento et al. 2018): a step of
   basal input (``v_B = 4`` from 20 ms), then of apical input (``v_A = 2``
   from 120 ms), then a somatic teacher (``u_tgt = 0.5`` from 200 ms); the
   soma settles at ``u* = (g_B v_B + g_A v_A)/(g_L + g_B + g_A)`` and is then
   nudged toward the target;
2. a two-compartment Urbanczik-Senn neuron (NEST ``pp_cond_exp_mc_urbanczik``
   defaults) driven by 200 Poisson inputs (10 Hz) on the dendrite: somatic
   potential ``U``, dendritic potential ``V``, dendritic prediction ``V*`` and
   spikes.

:func:`pyramid_network` is a small network factory for
:func:`brian_dendrites.sweep` (the steady state of pyramidal neurons under
constant dendritic inputs; the command line's ``sweep`` example).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from brian2 import Hz, NeuronGroup, PoissonGroup, SpikeMonitor, StateMonitor, TimedArray, ms, mV

import brian_dendrites.models as models

from .._validation import check_int, check_seed, check_time
from ..engine import Simulation
from ..sweep import NetworkSpec

__all__ = ["DEMO_DURATION", "demo_network", "compartments_demo", "pyramid_network"]

#: Default simulated time of the demo.
DEMO_DURATION = 300 * ms

#: Input steps of the pyramid: (start in ms, column, value) for v_B, v_A_td, nudge.
_STEPS = ((20, 0, 4.0), (120, 1, 2.0), (200, 2, 1.0))


def demo_network(duration=DEMO_DURATION) -> dict:
    """Named Brian2 objects of the demo (one pyramid, one Urbanczik-Senn neuron, monitors).

    Parameters
    ----------
    duration : Quantity (second)
        Length of the input schedule (1 ms rows).

    Returns
    -------
    dict
        ``pyr``, ``drive``, ``us``, ``inputs``, ``us_syn``, ``mon_p``,
        ``mon_u``, ``spikes``: for :class:`~brian_dendrites.engine.Simulation`.
    """
    n_ms = int(round(float(duration / ms)))
    pyr = models.pyramidal_neuron().make_group(1, name="pyr")
    steps = np.zeros((n_ms, 3))
    for start, col, value in _STEPS:
        steps[start:, col] = value
    drive = TimedArray(steps, dt=1 * ms, name="drive")
    pyr.run_regularly("v_B = drive(t, 0)\nv_A_td = drive(t, 1)\nnudge = drive(t, 2)",
                      when="start", order=-1, name="pyr_drive")
    pyr.u_tgt = 0.5
    us = models.urbanczik_senn_neuron().make_group(1, name="us")
    us.U = -70 * mV
    us.V = -70 * mV
    inputs = PoissonGroup(200, rates=10 * Hz, name="inputs")
    syn = models.urbanczik_senn_spiking_synapse().make_synapses(inputs, us, name="us_syn",
                                                                connect=True)
    syn.w = "rand()*60*pA"
    mon_p = StateMonitor(pyr, ["u", "v_B", "v_A"], record=True, name="mon_p", when="end")
    mon_u = StateMonitor(us, ["U", "V", "V_star"], record=True, name="mon_u", when="end")
    spikes = SpikeMonitor(us, name="spikes")
    return dict(pyr=pyr, drive=drive, us=us, inputs=inputs, us_syn=syn, mon_p=mon_p,
                mon_u=mon_u, spikes=spikes)


def compartments_demo(target="cpp_standalone", seed=1, duration=DEMO_DURATION,
                      cache_dir=None) -> dict:
    """Run the demo once (compiled once by the engine) and return traces and numbers.

    Parameters
    ----------
    target : {'cpp_standalone', 'numpy', 'cython'}
        Brian2 target.
    seed : int
        Seed of the Poisson inputs and the synaptic weights.
    duration : Quantity (second)
        Simulated time (at least 1 ms; the full schedule is 300 ms).
    cache_dir : path, optional
        Where the compiled project is kept.

    Returns
    -------
    dict
        ``traces``: a DataFrame with columns ``t_ms``, ``pyr_u``, ``pyr_v_B``,
        ``pyr_v_A`` (dimensionless), ``us_U_mV``, ``us_V_mV``, ``us_V_star_mV``;
        ``spike_times_ms``: array; ``summary``: a dict with ``u_star``
        (analytic steady state under basal and apical input), ``u_plateau``
        (simulated soma at 199 ms, if simulated), ``n_spikes``,
        ``rate_hz``, ``build_time_s``, ``run_time_s``, ``target``, ``seed``.

    Examples
    --------
    >>> out = compartments_demo(target="numpy", duration=30 * ms)
    >>> sorted(out), len(out["traces"])
    (['spike_times_ms', 'summary', 'traces'], 300)
    """
    duration = check_time(duration, "duration")
    if duration < 1 * ms:
        raise ValueError(f"duration: expected at least 1 ms, got {duration}")
    seed = check_seed(seed, allow_none=False)
    sim = Simulation(lambda: demo_network(duration), duration, target=target, seed=seed,
                     name="demo", cache_dir=cache_dir)
    res = sim.run()
    pyr = models.pyramidal_neuron()
    g_L, g_B, g_A = (float(pyr[k] * ms) for k in ("g_L", "g_B", "g_A"))
    t = res["mon_p.t"] / 1e-3
    traces = pd.DataFrame({
        "t_ms": t, "pyr_u": res["mon_p.u"][0], "pyr_v_B": res["mon_p.v_B"][0],
        "pyr_v_A": res["mon_p.v_A"][0], "us_U_mV": res["mon_u.U"][0] / 1e-3,
        "us_V_mV": res["mon_u.V"][0] / 1e-3, "us_V_star_mV": res["mon_u.V_star"][0] / 1e-3})
    spikes = np.asarray(res["spikes.t"]) / 1e-3
    u_star = (g_B * 4.0 + g_A * 2.0) / (g_L + g_B + g_A)
    plateau = traces["pyr_u"][np.searchsorted(t, 199.0) - 1] if t[-1] >= 199.0 else np.nan
    summary = {"u_star": float(u_star), "u_plateau": float(plateau), "n_spikes": int(len(spikes)),
               "rate_hz": float(len(spikes) / float(duration)),
               "build_time_s": float(sim.build_time), "run_time_s": float(res.wall_time),
               "target": target, "seed": seed, "duration_ms": float(duration / ms)}
    return {"traces": traces, "spike_times_ms": spikes, "summary": summary}


def pyramid_network(n=1, duration_ms=100.0) -> NetworkSpec:
    """A sweep factory: ``n`` pyramidal neurons under constant dendritic input.

    Run parameters (no recompilation): the inputs ``pyr.v_B``, ``pyr.v_A_td``,
    the conductances ``pyr.g_L``, ``pyr.g_B``, ``pyr.g_A`` (1/second), the
    teacher ``pyr.u_tgt`` and ``pyr.nudge``. After ``duration_ms`` the soma
    ``pyr.u`` has settled at
    ``(g_B v_B + g_A v_A + nudge g_som u_tgt)/(g_L + g_B + g_A + nudge g_som)``.

    Parameters
    ----------
    n : int >= 1
        Neurons (a shape parameter: one build per value).
    duration_ms : float
        Simulated time in ms (a shape parameter).

    Returns
    -------
    NetworkSpec

    Examples
    --------
    >>> from brian_dendrites import sweep
    >>> df = sweep(pyramid_network, {"pyr.v_B": [1.0, 2.0]}, read=["pyr.u"], target="numpy",
    ...            progress=False)
    >>> [round(u, 3) for u in df["pyr.u"]]
    [0.526, 1.053]
    """
    n = check_int(n, "n", minimum=1)
    duration = check_time(float(duration_ms) * ms, "duration_ms")

    def build():
        pyr = models.pyramidal_neuron().make_group(n, name="pyr")
        if not isinstance(pyr, NeuronGroup):  # pragma: no cover - make_group returns a group
            raise TypeError("pyramidal_neuron().make_group did not return a NeuronGroup")
        return {"pyr": pyr}

    return NetworkSpec(build=build, duration=duration, name="pyramid_network")
