"""A layer-5-like pyramidal cell: apical and somatic input coincide, a plateau and a burst.
=========================================================================================

A four-compartment cell built with :mod:`brian_dendrites.cells` in real units
(:func:`brian_dendrites.cells.layer5_cell`)
(soma 25 x 25 um with integrate-and-fire spikes; basal dendrite 150 x 1 um;
apical trunk 250 x 2.5 um; tuft 200 x 1 um with AMPA and NMDA receptors and a
calcium-like dendritic spike of 20 ms; cm 1 uF/cm2, g_L 40 uS/cm2,
Ra 150 ohm cm; couplings from the geometry, center to center).

Three cells of one ``NeuronGroup`` get three protocols:

1. a somatic current step alone (30 pA for 30 ms): the soma depolarises,
   no spikes;
2. a synaptic volley on the tuft alone (4 AMPA+NMDA synapses at 52 ms): an
   EPSP that stays below the dendritic-spike threshold (-50 mV);
3. both together: the somatic depolarisation spreads up the trunk, the tuft
   crosses its threshold, a 20 ms dendritic plateau follows and the soma fires
   a burst (BAC-firing-like: Larkum, Zhu & Sakmann 1999).

The right panel is the cell's f-I curve (somatic current steps, rate over
the step), one cell per current in one group.

Printed: the spike counts of the three protocols (measured 0 / 0 / 6 and
the tuft's dendritic spikes 0 / 0 / 1) and the f-I curve's rheobase.

Run::

    python examples/biophysical_l5_bac_firing.py [--fast] [--out biophysical_l5_bac_firing.png]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from brian2 import (  # noqa: E402
    EventMonitor,
    Network,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    TimedArray,
    ms,
    mV,
    nS,
    pA,
    prefs,
    start_scope,
)

from brian_dendrites.cells import layer5_cell  # noqa: E402


def coincidence(cell, I_step=30 * pA, n_syn=4, duration=150 * ms):
    """Protocols 1-3 (soma alone, tuft alone, both): traces and spike counts."""
    start_scope()
    group = cell.make_group(3, name="l5")
    rows = np.zeros((int(duration / ms), 3))
    rows[50:80, [0, 2]] = 1  # somatic step in cells 0 and 2
    drive = TimedArray(rows * I_step, dt=1 * ms, name="drive")
    group.run_regularly("I_ext_soma = drive(t, i)", when="start", name="l5_drive")
    src = SpikeGeneratorGroup(2 * n_syn, np.arange(2 * n_syn), np.full(2 * n_syn, 52.0) * ms)
    syn = cell.synapse_model("tuft", ("AMPA", "NMDA")).make_synapses(src, group)
    syn.connect(i=np.arange(2 * n_syn), j=np.repeat([1, 2], n_syn))  # tuft input: cells 1, 2
    syn.w_AMPA, syn.w_NMDA = 0.5 * nS, 1 * nS
    mon = StateMonitor(group, ["v_soma", "v_tuft"], record=True)
    spikes, dspikes = SpikeMonitor(group), EventMonitor(group, "dspike_tuft")
    Network(group, src, syn, mon, spikes, dspikes).run(duration, namespace={"drive": drive})
    return mon, np.asarray(spikes.count), np.asarray(dspikes.count), spikes


def f_i_curve(cell, currents, duration=300 * ms):
    """Firing rate (Hz) for constant somatic currents, one cell per current."""
    start_scope()
    group = cell.make_group(len(currents))
    group.I_ext_soma = currents
    spikes = SpikeMonitor(group)
    Network(group, spikes).run(duration)
    return np.asarray(spikes.count) / float(duration)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help="fewer f-I points, shorter steps")
    parser.add_argument("--out", default="biophysical_l5_bac_firing.png")
    args = parser.parse_args(argv)
    prefs.codegen.target = "numpy"

    cell = layer5_cell()
    print(cell)
    mon, count, dcount, spikes = coincidence(cell)
    print(f"somatic spikes: soma alone {count[0]}, tuft alone {count[1]}, both {count[2]}; "
          f"dendritic spikes {dcount[0]} / {dcount[1]} / {dcount[2]}")
    currents = np.linspace(0, 200, 9 if args.fast else 41) * pA
    rates = f_i_curve(cell, currents, (100 if args.fast else 500) * ms)
    firing = currents[rates > 0]
    print(f"f-I: rheobase between {float((firing[0] - currents[1] + currents[0]) / pA):.0f} and "
          f"{float(firing[0] / pA):.0f} pA; {rates[-1]:.0f} Hz at {float(currents[-1] / pA):.0f} pA"
          if len(firing) else "f-I: no spikes")

    fig, axes = plt.subplots(2, 4, figsize=(14, 6), sharex="col",
                             gridspec_kw={"width_ratios": [1, 1, 1, 1.3]})
    titles = ("soma step alone", "tuft synapses alone", "both: plateau and burst")
    t = mon.t / ms
    for k in range(3):
        axes[0, k].plot(t, mon.v_tuft[k] / mV, "C1")
        axes[0, k].axhline(-50, color="0.6", ls=":")
        axes[0, k].set(title=titles[k], ylim=(-75, 25))
        axes[1, k].plot(t, mon.v_soma[k] / mV, "C0")
        for ts in spikes.spike_trains()[k] / ms:
            axes[1, k].plot([ts, ts], [-50, 0], "C0")
        axes[1, k].set(xlabel="time (ms)", ylim=(-75, 5))
    axes[0, 0].set_ylabel("tuft v (mV)")
    axes[1, 0].set_ylabel("soma v (mV)")
    gs = axes[0, 3].get_gridspec()
    for ax in axes[:, 3]:
        ax.remove()
    ax = fig.add_subplot(gs[:, 3])
    ax.plot(currents / pA, rates, "k.-")
    ax.set(xlabel="somatic current (pA)", ylabel="rate (Hz)", title="f-I curve")
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")
    return {"count": count, "dspikes": dcount, "rates": rates}


if __name__ == "__main__":
    main()
