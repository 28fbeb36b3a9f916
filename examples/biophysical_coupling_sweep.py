"""Sweep of the apical coupling of a layer-5-like cell: compiled once, 20 runs.
==============================================================================

The cell of :func:`brian_dendrites.cells.layer5_cell` (soma, basal, apical
trunk, tuft with NMDA synapses and a calcium-like dendritic spike) with the
three protocols of ``biophysical_l5_bac_firing.py`` (a somatic step alone, a
tuft volley alone, both together). The soma-trunk coupling conductance
``g_soma_trunk`` (geometric value 26.2 nS, center to center) is a *variable*
of the model: :func:`brian_dendrites.sweep` compiles the network once and runs
it at every point with a new value (run values, no code generation).

The figure shows, against the coupling (0.01x to 3x the geometric value),
the somatic spike count of each protocol and the tuft's dendritic spikes:
neither input alone makes the soma fire or the tuft spike at any coupling;
together they trigger the tuft's plateau at every coupling, but with a weak
coupling it barely reaches the soma (1-2 spikes, measured) and the burst grows
with the coupling to 6 spikes from about 5 nS on. (Explicit Euler at
dt = 0.1 ms needs ``dt < 2 C/g`` in every compartment: above about 5x the
geometric coupling the trunk becomes unstable.)

Printed: the build time (once) and the time per point (each a run of the
compiled binary); measured here (2 busy shared cores, cpp_standalone) 33 s
for the build and 0.085 s per point (binary start, files, 150 ms of 3 cells).

Run::

    python examples/biophysical_coupling_sweep.py [--fast] [--target numpy]
        [--out biophysical_coupling_sweep.png]
"""

import argparse
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from brian2 import (  # noqa: E402
    EventMonitor,
    SpikeGeneratorGroup,
    SpikeMonitor,
    TimedArray,
    ms,
    nS,
    pA,
)

from brian_dendrites import sweep  # noqa: E402
from brian_dendrites.cells import layer5_cell  # noqa: E402
from brian_dendrites.sweep import NetworkSpec  # noqa: E402

DURATION = 150 * ms


def coincidence_network():
    """Three cells: soma step alone, tuft volley alone, both (a sweep factory)."""
    cell = layer5_cell()

    def build():
        group = cell.make_group(3, name="l5")
        rows = np.zeros((int(DURATION / ms), 3))
        rows[50:80, [0, 2]] = 1
        drive = TimedArray(rows * 30 * pA, dt=1 * ms, name="drive")
        group.run_regularly("I_ext_soma = drive(t, i)", when="start", name="l5_drive")
        src = SpikeGeneratorGroup(8, np.arange(8), np.full(8, 52.0) * ms, name="src")
        syn = cell.synapse_model("tuft", ("AMPA", "NMDA")).make_synapses(src, group, name="glu")
        syn.connect(i=np.arange(8), j=np.repeat([1, 2], 4))
        syn.w_AMPA, syn.w_NMDA = 0.5 * nS, 1 * nS
        return {"l5": group, "drive": drive, "src": src, "glu": syn,
                "spikes": SpikeMonitor(group, name="spikes"),
                "dspikes": EventMonitor(group, "dspike_tuft", name="dspikes")}

    return NetworkSpec(build, DURATION, name="l5_coupling")


def counts(result):
    """Somatic spikes per protocol and the tuft's dendritic spikes (coincidence)."""
    spikes = np.bincount(np.asarray(result["spikes.i"], dtype=int), minlength=3)
    dspikes = np.bincount(np.asarray(result["dspikes.i"], dtype=int), minlength=3)
    return {"soma alone": spikes[0], "tuft alone": spikes[1], "both": spikes[2],
            "dspikes soma alone": dspikes[0], "dspikes tuft alone": dspikes[1],
            "dspikes both": dspikes[2]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help="6 points instead of 20")
    parser.add_argument("--target", default="cpp_standalone",
                        choices=["numpy", "cython", "cpp_standalone"])
    parser.add_argument("--out", default="biophysical_coupling_sweep.png")
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args(argv)

    g0 = layer5_cell()["g_soma_trunk"]
    scales = np.geomspace(0.01, 3, 6 if args.fast else 20)
    t0 = time.perf_counter()
    table = sweep(coincidence_network, {"l5.g_soma_trunk": list(scales * g0)}, measure=counts,
                  target=args.target, cache_dir=args.cache_dir, progress=False)
    total = time.perf_counter() - t0
    build = sum(b["build_time"] for b in table.attrs["builds"])
    print(f"{len(table)} points on {args.target}: build {build:.1f} s (once), "
          f"{table['elapsed'].mean():.3f} s per point, total {total:.1f} s")
    print(table[["l5.g_soma_trunk", "soma alone", "tuft alone", "both", "dspikes soma alone",
                 "dspikes tuft alone", "dspikes both"]].to_string(index=False))

    g = table["l5.g_soma_trunk"] / 1e-9
    fig, ax = plt.subplots(figsize=(7, 4))
    for col, style in (("soma alone", "C0o-"), ("tuft alone", "C1s-"), ("both", "C3^-")):
        ax.plot(g, table[col], style, label=f"somatic spikes: {col}")
        ax.plot(g, table[f"dspikes {col}"], style[:2] + ":", label=f"tuft spikes: {col}")
    ax.axvline(float(g0 / nS), color="0.6", ls="--", label="geometric coupling")
    ax.set(xscale="log", xlabel="soma-trunk coupling g_soma_trunk (nS)", ylabel="count",
           title="burst size against the apical coupling (compiled once)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")
    return table


if __name__ == "__main__":
    main()
