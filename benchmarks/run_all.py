"""Run all benchmarks and print their tables (not part of the test suite).

Usage::

    python benchmarks/run_all.py [--quick] [--out FILE]

Runs, each in its own process (one thread each, same machine, same run):

1. ``bench_dense_layer.py``    784->500 dense plastic layer vs NumPy dger/np.outer
2. ``bench_microcircuit.py``   784-500-500-10 microcircuit, rate mode, vs NumPy BLAS (float64, float32),
                               and steady-state epochs online and in mini-batches of 10
3. ``bench_urbanczik_nest.py`` Urbanczik-Senn protocol vs NEST 3.10 (``pip install nest-simulator``)
4. ``bench_sweep.py``          compile-once sweep vs a rebuild per point
5. ``bench_fig2.py``           the Fig. 2 microcircuit (30-50-10) per 100 ms pattern vs NumPy
6. ``bench_dgn.py``            DGN 10 x [784, 10, 10, 1] x 100 branches per training sample vs NumPy
7. ``bench_dfc.py``            DFC [784, 256, 256, 256, 10], 100 steps, per training sample vs NumPy dger
8. ``bench_cells.py``          1000 five-compartment cells (brian_dendrites.cells) vs Dendrify and NEURON

and, with ``--out``, writes everything printed (with the date, machine and
load average) to a file for ``docs/benchmarks.md``.
"""

import argparse
import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["bench_dense_layer.py", "bench_microcircuit.py", "bench_urbanczik_nest.py",
           "bench_sweep.py", "bench_fig2.py", "bench_dgn.py", "bench_dfc.py", "bench_cells.py"]


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run all brian_dendrites benchmarks.")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter runs")
    parser.add_argument("--out", help="also write the output to this file")
    parser.add_argument("--only", nargs="*", help="script names to run (default: all)")
    args = parser.parse_args(argv)
    header = (f"# {datetime.datetime.now():%Y-%m-%d %H:%M}  {platform.node()}  "
              f"{platform.processor() or platform.machine()}  {os.cpu_count()} cores  "
              f"python {platform.python_version()}  load {os.getloadavg()[0]:.1f}")
    lines = [header]
    print(header, flush=True)
    failed = []
    for script in SCRIPTS:
        if args.only and script not in args.only:
            continue
        cmd = [sys.executable, str(HERE / script)] + (["--quick"] if args.quick else [])
        print(f"\n## {script}", flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        out = "\n".join(l for l in proc.stdout.splitlines()
                        if not l.startswith(("INFO", "WARNING", "DEBUG")))
        print(out, flush=True)
        lines += ["", f"## {script}", out]
        if proc.returncode != 0:
            failed.append(script)
            print(proc.stderr[-3000:], file=sys.stderr)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
