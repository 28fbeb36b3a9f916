"""Demo: compartment voltages of the brian_dendrites model library.
================================================================

Shows, on built-in defaults and without any data file:

1. A three-compartment pyramidal neuron (Sacramento et al. 2018): a step of
   basal input, then of apical input, then a somatic teacher; the soma
   settles at ``u* = (g_B v_B + g_A v_A)/(g_L + g_B + g_A)`` (dashed line) and
   is then nudged toward the target.
2. A two-compartment Urbanczik–Senn neuron (NEST ``pp_cond_exp_mc_urbanczik``
   defaults) driven by 200 Poisson inputs on the dendrite: somatic potential
   ``U``, dendritic potential ``V``, dendritic prediction ``V*`` and spikes.

Everything is compiled once by the engine (``cpp_standalone`` by default) and
the plot is written to ``demo_compartments.png`` (``--out`` to change it).

Run: ``python examples/demo_compartments.py [--target numpy] [--out FILE]``
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from brian2 import ms  # noqa: E402

import brian_dendrites.models as models  # noqa: E402
from brian_dendrites.engine import Simulation  # noqa: E402
from brian_dendrites.experiments.demo_compartments import demo_network  # noqa: E402

DURATION = 300 * ms


def build():
    """The demo network (:func:`brian_dendrites.experiments.demo_compartments.demo_network`)."""
    return demo_network(DURATION)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="cpp_standalone",
                        choices=["numpy", "cython", "cpp_standalone"])
    parser.add_argument("--out", default="demo_compartments.png")
    args = parser.parse_args(argv)

    sim = Simulation(build, DURATION, target=args.target, seed=1, name="demo")
    res = sim.run()
    pyr = models.pyramidal_neuron()
    g_L, g_B, g_A = (float(pyr[k]) for k in ("g_L", "g_B", "g_A"))

    t = res["mon_p.t"] / 1e-3
    fig, axes = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    ax = axes[0]
    ax.plot(t, res["mon_p.u"][0], label="soma u")
    ax.plot(t, res["mon_p.v_B"][0], label="basal v_B")
    ax.plot(t, res["mon_p.v_A"][0], label="apical v_A")
    fixed = (g_B * 4.0 + g_A * 2.0) / (g_L + g_B + g_A)
    ax.hlines(fixed, 120, 200, colors="k", linestyles="--", label="analytic u*")
    ax.axhline(0.5, color="grey", lw=0.5, ls=":", label="teacher u_tgt")
    ax.set_ylabel("potential (a.u.)")
    ax.set_title("3-compartment pyramidal neuron (Sacramento et al. 2018)")
    ax.legend(loc="upper left", fontsize=8)
    ax = axes[1]
    ax.plot(t, res["mon_u.U"][0] / 1e-3, label="soma U")
    ax.plot(t, res["mon_u.V"][0] / 1e-3, label="dendrite V", alpha=0.7)
    ax.plot(t, res["mon_u.V_star"][0] / 1e-3, label="prediction V*", alpha=0.7)
    st = res["spikes.t"] / 1e-3
    ax.plot(st, np.full_like(st, -45), "|k", ms=8, label=f"spikes ({len(st)})")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("mV")
    ax.set_title("Urbanczik-Senn 2-compartment neuron, 200 Poisson inputs")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"target {args.target}: build {sim.build_time:.1f} s, run {res.wall_time:.3f} s; "
          f"steady soma u = {res['mon_p.u'][0][1990]:.4f} (analytic {fixed:.4f}); "
          f"{len(st)} spikes; plot written to {args.out}")
    return res


if __name__ == "__main__":
    main()
