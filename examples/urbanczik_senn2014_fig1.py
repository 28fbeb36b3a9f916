"""Urbanczik & Senn (2014), Fig. 1B: the dendrite learns to predict the soma.
==========================================================================

One two-compartment neuron (:func:`brian_dendrites.models.urbanczik_senn_neuron`,
NEST ``pp_cond_exp_mc_urbanczik`` defaults) receives on its dendrite a frozen
200 ms pattern of 200 Poisson spike trains (10 Hz), repeated. During the
teacher repetitions the soma is driven by excitatory and inhibitory
conductances (deterministic, a sinusoid of period 100 ms on the excitatory
one), which impose a "matching" potential
``U_M = (g_ex E_ex + g_in E_in)/(g_ex + g_in)`` on the soma. The dendritic
synapses follow the Urbanczik–Senn rule
(:func:`brian_dendrites.models.urbanczik_senn_spiking_synapse`, NEST's example
learning rate, initial weights and weight bounds): they change so that the
dendritic prediction of the somatic potential
``V* = (g_L E_L + g_D V)/(g_L + g_D)`` matches what the soma actually does.

The figure shows:

- top left: the first teacher repetition: ``U_M`` and ``V*`` are unrelated
  (``V*`` is the response to the random input pattern with equal weights);
- top right: the last teacher repetition and the first repetition after the
  teacher is switched off: ``V*`` now reproduces ``U_M`` (and so does the
  somatic potential, which the dendrite alone drives);
- bottom: correlation of ``V*`` with ``U_M`` over each repetition, rising from
  about 0.3-0.5 to above 0.9.

Printed: the correlation at the first and last teacher repetition and after
the teacher; measured 0.37 / 0.93 / 0.955 with ``--fast`` (pattern seed 0) and
about 0.4 / 0.96 / 0.95 with the full protocol (docs/benchmarks.md, 1 neuron).

The protocol (NEST's example ``urbanczik_synapse_example.py``, also timed
against NEST by ``benchmarks/bench_urbanczik_nest.py``) is
:mod:`brian_dendrites.experiments.urbanczik_senn2014`: 2 repetitions without
teacher, 100 with, 2 without (20.8 s at dt = 0.1 ms). ``--fast`` uses
1 + 18 + 1 repetitions (4 s).

Run::

    python examples/urbanczik_senn2014_fig1.py [--fast] [--out urbanczik_senn2014_fig1.png]
        [--seed S] [--cache-dir DIR]
"""

import argparse
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from brian_dendrites.experiments.urbanczik_senn2014 import Protocol, run_protocol  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help="1 + 18 + 1 repetitions")
    parser.add_argument("--out", default="urbanczik_senn2014_fig1.png")
    parser.add_argument("--seed", type=int, default=0, help="seed of the frozen input pattern")
    parser.add_argument("--cache-dir", default=None,
                        help="compiled-project cache (default: the package's cache)")
    args = parser.parse_args(argv)

    proto = Protocol.fast() if args.fast else Protocol()
    t0 = time.perf_counter()
    run = run_protocol(proto, 1, pattern_seed=args.seed, seed=1, cache_dir=args.cache_dir)
    out = run.outcome
    print(f"build {run.simulation.build_time:.1f} s, run {run.result.wall_time:.2f} s "
          f"(total {time.perf_counter() - t0:.1f} s)")
    print(f"correlation V* vs U_M: first teacher repetition {out['early']:.2f}, "
          f"last {out['late']:.2f}, after the teacher {out['recall']:.2f}")

    spp = out["u_m"].shape[1]
    t = np.arange(spp) * proto.record_dt_ms
    first, last = proto.n_rep_pre, proto.n_rep_pre + proto.n_rep_teach - 1
    fig = plt.figure(figsize=(11, 7))
    ax1 = fig.add_subplot(2, 2, 1)
    ax1.plot(t, out["u_m"][first], "r", label="$U_M$ (teacher-imposed)")
    ax1.plot(t, out["v_star"][first], "b", label="$V^*$ (dendritic prediction)")
    ax1.set(title=f"early: teacher repetition 1 (r = {out['early']:.2f})",
            xlabel="time in pattern (ms)", ylabel="mV")
    ax1.legend(fontsize=8, loc="lower right")
    ax2 = fig.add_subplot(2, 2, 2, sharey=ax1)
    ax2.plot(t, out["u_m"][last], "r", label="$U_M$")
    ax2.plot(t, out["v_star"][last], "b", label=f"$V^*$, last teacher repetition (r = {out['late']:.2f})")
    if proto.n_rep_post:
        ax2.plot(t, out["v_star"][last + 1], "c--",
                 label=f"$V^*$, teacher off (r = {out['recall']:.2f})")
    ax2.set(title=f"late: teacher repetition {proto.n_rep_teach}", xlabel="time in pattern (ms)")
    ax2.legend(fontsize=8, loc="lower right")
    ax3 = fig.add_subplot(2, 1, 2)
    ax3.plot(np.arange(1, proto.n_rep_teach + 1), out["per_rep"], "k.-")
    ax3.axhline(0.9, color="0.6", ls=":")
    ax3.set(xlabel="teacher repetition", ylabel="corr($V^*$, $U_M$)", ylim=(min(0, out["per_rep"].min()), 1),
            title="learning: correlation of the dendritic prediction with the teacher potential")
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")
    return out


if __name__ == "__main__":
    main()
