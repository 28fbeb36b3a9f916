"""The ``brian-dendrites`` command line (also ``python -m brian_dendrites``).

Subcommands (each has ``--help``):

``demo``
    Compartment potentials of the library's pyramidal and Urbanczik-Senn
    neurons on built-in defaults
    (:func:`brian_dendrites.experiments.demo_compartments.compartments_demo`).
``train THEORY --task TASK``
    Train a theory's learner (``microcircuit``, ``dgn``, ``dfc``, ``dfc_ss``;
    :data:`THEORIES`) on a task of :func:`brian_dendrites.tasks.get_task`.
``compare --rules a,b,c --task TASK``
    :func:`brian_dendrites.lab.compare`: loss and update angles of learning
    rules along their trajectories.
``sweep GRID.toml``
    A parameter grid from a TOML file through :func:`brian_dendrites.sweep`.
``bench``
    The benchmarks (``benchmarks/run_all.py --quick``) of a source checkout,
    or those installed with the package.

Every command writes into ``--out`` (default ``brian_dendrites_out/<command>``):
tables as CSV, settings and final numbers as JSON, figures as PNG.
On bad input (an unknown theory, task or rule, a missing data file, a
malformed grid, bad numbers) it prints one line ``brian-dendrites: error:
...`` to stderr and exits with status 2 (1 for a failed run); ``--debug``
shows the traceback instead.

The grid file of ``sweep`` (TOML)::

    # a network factory "module:function" returning a NetworkSpec (or (build, duration))
    factory = "brian_dendrites.experiments.demo_compartments:pyramid_network"
    read = ["pyr.u"]            # variables to read after each run
    measure = "mean"            # or "final"
    target = "numpy"            # or "cpp_standalone", "cython"
    n_jobs = 1                  # local worker processes

    [params]                    # every combination is one point
    n = [1]                     # shape parameters: arguments of the factory
    "pyr.v_B" = [1.0, 2.0]      # run parameters 'group.var': no recompilation
    "pyr.g_A" = ["0.8/ms", "1.6/ms"]   # Quantities as "value unit" strings

TOML is read with :mod:`tomllib` (Python >= 3.11) or the ``tomli`` package
(Python 3.10: ``pip install tomli``).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main", "build_parser", "THEORIES", "CLIError", "parse_quantity"]

PROG = "brian-dendrites"

#: Theory -> (regressor class name, classifier class name, fixed learner arguments).
THEORIES = {
    "microcircuit": ("DendriticMicrocircuitRegressor", "SteadyStateMicrocircuitClassifier", {}),
    "dgn": ("DendriticGatedRegressor", "DendriticGatedClassifier", {}),
    "dfc": ("DeepFeedbackControlRegressor", "DeepFeedbackControlClassifier", {"variant": "dfc"}),
    "dfc_ss": ("DeepFeedbackControlRegressor", "DeepFeedbackControlClassifier",
               {"variant": "dfc_ss"}),
}

TARGETS = ("cpp_standalone", "numpy", "cython")


class CLIError(Exception):
    """A bad command line or input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``brian-dendrites: error: ...``) and exit status 2."""

    def error(self, message):
        raise CLIError(f"{message} (see {self.prog} --help)")


# ------------------------------------------------------------------ helpers
def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _out_dir(args, command) -> Path:
    out = Path(args.out if args.out else Path("brian_dendrites_out") / command).expanduser()
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out: {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _write_json(path: Path, data):
    path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value):
    import numpy as np

    if hasattr(value, "dim"):  # a Brian2 Quantity: its text with the unit
        return str(value)
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


_UNIT_NODES = (ast.Expression, ast.BinOp, ast.Name, ast.Load, ast.Constant, ast.Mult, ast.Div,
               ast.Pow, ast.UnaryOp, ast.USub)


def parse_quantity(text):
    """A number, or a Brian2 Quantity written as ``"value unit"`` (``"0.8/ms"``, ``"5 mV"``).

    Only numbers, Brian2 unit names and ``*``, ``/``, ``**`` are accepted.

    Parameters
    ----------
    text : str or number

    Returns
    -------
    float or Quantity

    Raises
    ------
    ValueError
        If the text is not a number followed by a unit expression.

    Examples
    --------
    >>> parse_quantity("2.5")
    2.5
    >>> print(parse_quantity("0.8/ms"))
    0.8 kHz
    >>> parse_quantity("3 parsecs")
    Traceback (most recent call last):
    ...
    ValueError: '3 parsecs': unknown unit 'parsecs'
    """
    if not isinstance(text, str):
        return text
    s = text.strip()
    try:
        return float(s)
    except ValueError:
        pass
    m = re.fullmatch(r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*(.+)", s)
    if not m:
        raise ValueError(f"{text!r}: expected a number or 'value unit' (e.g. '0.8/ms', '5 mV')")
    number, unit = m.groups()
    if unit.startswith("/"):
        unit = "1" + unit
    try:
        tree = ast.parse(unit.replace("^", "**"), mode="eval")
    except SyntaxError:
        raise ValueError(f"{text!r}: cannot read the unit {unit!r}") from None
    import brian2

    names = {}
    for node in ast.walk(tree):
        if not isinstance(node, _UNIT_NODES):
            raise ValueError(f"{text!r}: only unit names, numbers, '*', '/' and '**' are allowed")
        if isinstance(node, ast.Name):
            value = getattr(brian2, node.id, None)  # Brian2's public unit names
            if not isinstance(value, brian2.Quantity):
                raise ValueError(f"{text!r}: unknown unit {node.id!r}")
            names[node.id] = value
    return float(number) * eval(compile(tree, "<unit>", "eval"), {"__builtins__": {}}, names)  # noqa: S307


def _parse_params(items) -> dict:
    """``KEY=VALUE`` pairs: numbers, booleans, tuples (Python literals) or Quantities."""
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise CLIError(f"--param: expected KEY=VALUE with a parameter name, got {item!r}")
        try:
            out[key] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            try:
                out[key] = parse_quantity(value)
            except ValueError:
                out[key] = value.strip()  # a plain string (e.g. activation=tanh)
    return out


def _ints(text, name):
    if text is None:
        return None
    try:
        values = tuple(int(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        raise CLIError(f"{name}: expected comma-separated integers, got {text!r}") from None
    if any(v < 1 for v in values):
        raise CLIError(f"{name}: sizes must be >= 1, got {text!r}")
    return values


def _int_at_least(minimum):
    """An argparse type: an integer >= ``minimum``."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value

    return parse


_positive_int, _nonnegative_int = _int_at_least(1), _int_at_least(0)


def _task(args, fast):
    from .tasks import TASKS, get_task

    kw = {}
    if getattr(args, "path", None) is not None:
        kw["path"] = args.path
    if args.task not in TASKS and args.task.replace("-", "_") not in TASKS:
        get_task(args.task)  # raises the KeyError with suggestions
    name = args.task.strip().lower().replace("-", "_")
    sizes = {"n_train": args.n_train, "n_test": args.n_test}
    if fast:
        defaults = {"teacher_student": (200, 100), "mnist": (200, 100),
                    "permuted_mnist": (100, 50), "cerebellum": (200, 100)}[name]
        sizes = {"n_train": args.n_train or defaults[0], "n_test": args.n_test or defaults[1]}
        if name == "teacher_student":
            kw["layers"] = (15, 10, 5)
    kw.update({k: v for k, v in sizes.items() if v is not None})
    return get_task(name, **kw)


# ------------------------------------------------------------------ commands
def cmd_demo(args) -> int:
    """Run the compartments demo; write traces, numbers and the figure."""
    from brian2 import ms

    from .experiments.demo_compartments import compartments_demo

    if not args.duration > 0:
        raise CLIError(f"--duration: expected a positive number of ms, got {args.duration}")
    out = _out_dir(args, "demo")
    print(f"running the compartments demo on {args.target} ({args.duration:g} ms)...",
          flush=True)
    res = compartments_demo(target=args.target, seed=args.seed, duration=args.duration * ms,
                            cache_dir=args.cache_dir)
    traces, s = res["traces"], res["summary"]
    traces.to_csv(out / "traces.csv", index=False)
    _write_json(out / "summary.json", {**s, "spike_times_ms": res["spike_times_ms"]})
    plt = _figure()
    fig, axes = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    ax = axes[0]
    for col, label in (("pyr_u", "soma u"), ("pyr_v_B", "basal v_B"), ("pyr_v_A", "apical v_A")):
        ax.plot(traces["t_ms"], traces[col], label=label)
    ax.hlines(s["u_star"], 120, 200, colors="k", linestyles="--", label="analytic u*")
    ax.set_ylabel("potential (a.u.)")
    ax.set_title("3-compartment pyramidal neuron (Sacramento et al. 2018)")
    ax.legend(loc="upper left", fontsize=8)
    ax = axes[1]
    for col, label in (("us_U_mV", "soma U"), ("us_V_mV", "dendrite V"),
                       ("us_V_star_mV", "prediction V*")):
        ax.plot(traces["t_ms"], traces[col], label=label)
    st = res["spike_times_ms"]
    ax.plot(st, [-45.0] * len(st), "|k", ms=8, label=f"spikes ({len(st)})")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("mV")
    ax.set_title("Urbanczik-Senn 2-compartment neuron, 200 Poisson inputs")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "demo_compartments.png", dpi=100)
    plt.close(fig)
    print(f"build {s['build_time_s']:.1f} s, run {s['run_time_s']:.2f} s; soma plateau "
          f"{s['u_plateau']:.4f} (analytic u* {s['u_star']:.4f}); {s['n_spikes']} spikes; "
          f"results in {out}")
    return 0


def _learner(theory, task, args):
    import brian_dendrites as bd

    reg_name, clf_name, fixed = THEORIES[theory]
    cls = getattr(bd, clf_name if task.kind == "classification" else reg_name)
    hidden = _ints(args.hidden, "--hidden")
    if hidden is None:
        hidden = tuple(task.layers[1:-1]) or (10,)
    kw = dict(fixed, target=args.target, seed=args.seed, progress=args.progress,
              cache_dir=args.cache_dir)
    if "layers" in cls._param_names():
        kw["layers"] = [task.X_train.shape[1], *hidden, task.n_outputs]
    else:
        kw["hidden_layers"] = tuple(hidden)
    if args.fast:
        from brian2 import ms

        fast = {"DeepFeedbackControlRegressor": {"n_steps": 30, "chunk": 50},
                "DeepFeedbackControlClassifier": {"n_steps": 30, "chunk": 50},
                "DendriticMicrocircuitRegressor": {"t_pattern": 20 * ms, "chunk": 50},
                "DendriticGatedRegressor": {"n_branches": 10, "chunk": 100, "eta": 1e-2},
                "DendriticGatedClassifier": {"n_branches": 10, "chunk": 100},
                "SteadyStateMicrocircuitClassifier": {"chunk": 100}}
        kw.update(fast.get(cls.__name__, {}))
    if "task_train" in task.info:  # continual learning: the tasks one after another
        kw["shuffle"] = False
    kw.update(_parse_params(args.param))
    unknown = sorted(set(kw) - set(cls._param_names()))
    if unknown:
        raise CLIError(f"--param: {cls.__name__} has no parameter(s) {unknown}; valid: "
                       f"{cls._param_names()}")
    return cls(**kw)


def cmd_train(args) -> int:
    """Train a theory's learner on a task; write history, settings and the learning curve.

    Permuted MNIST is presented task after task (no shuffling across tasks)
    and scored per task (``test_score_task_k``).
    """
    import difflib

    import numpy as np

    if args.theory not in THEORIES:
        close = difflib.get_close_matches(args.theory, list(THEORIES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise CLIError(f"train: unknown theory {args.theory!r}{hint}; known: "
                       f"{', '.join(THEORIES)}")
    epochs = args.epochs if args.epochs is not None else (1 if args.fast else 5)
    task = _task(args, args.fast)
    learner = _learner(args.theory, task, args)
    out = _out_dir(args, "train")
    val = (task.X_test, task.y_test) if len(task.X_test) else None
    print(f"training {type(learner).__name__} ({args.theory}) on {task.name}: "
          f"{len(task.X_train)} samples, {epochs} epoch(s), target {args.target}...", flush=True)
    t0 = time.perf_counter()
    learner.fit(task.X_train, task.y_train, epochs=epochs, validation_data=val)
    elapsed = time.perf_counter() - t0
    history = learner.history_
    history.to_csv(out / "history.csv", index=False)
    scores = {"train_score": float(learner.score(task.X_train, task.y_train))}
    if val is not None:
        scores["test_score"] = float(learner.score(*val))
        for k in np.unique(task.info.get("task_test", [])):  # permuted MNIST: per task
            rows = task.info["task_test"] == k
            scores[f"test_score_task_{k}"] = float(learner.score(task.X_test[rows],
                                                                 task.y_test[rows]))
    params = {k: v if isinstance(v, (str, int, float, bool, type(None), list, tuple))
              else _json_default(v)
              for k, v in learner.get_params().items()}
    _write_json(out / "settings.json", {
        "command": "train", "theory": args.theory, "learner": type(learner).__name__,
        "task": task.name, "kind": task.kind, "n_train": len(task.X_train),
        "n_test": len(task.X_test), "epochs": epochs, "seed": args.seed, "params": params,
        "score": "accuracy" if task.kind == "classification" else "R2", **scores,
        "time_s": elapsed})
    plt = _figure()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    axes[0].plot(history["epoch"], history["train_loss"], "o-", label="train")
    if "val_loss" in history:
        axes[0].plot(history["epoch"], history["val_loss"], "s-", label="test")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss")
    axes[0].legend()
    if "val_score" in history:
        axes[1].plot(history["epoch"], history["val_score"], "s-", color="C1")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("test " + ("accuracy" if task.kind == "classification" else "R²"))
    fig.suptitle(f"{args.theory} on {task.name}")
    fig.tight_layout()
    fig.savefig(out / "learning_curve.png", dpi=100)
    plt.close(fig)
    text = ", ".join(f"{k} {v:.4g}" for k, v in scores.items())
    print(f"done in {elapsed:.1f} s: {text}; results in {out}")
    return 0


def cmd_compare(args) -> int:
    """Run :func:`brian_dendrites.lab.compare`; write the table, settings and angle figure."""
    from .lab import compare
    from .lab.rules import RULE_ALIASES, RULES, get_rule

    names = [r.strip() for r in args.rules.split(",") if r.strip()]
    if not names:
        raise CLIError("--rules: expected comma-separated rule names, e.g. backprop,fa,np")
    rules = []
    brian2_rules = {"dfc", "dfc_ss", "microcircuit", "dgn"}
    for name in names:
        get_rule(name)  # unknown names: KeyError with suggestions
        key = RULE_ALIASES.get(name.lower(), name.lower())
        kw = {"target": args.target, "cache_dir": args.cache_dir} if key in brian2_rules else {}
        if args.lr is not None and key in RULES and key not in brian2_rules:
            kw["lr"] = args.lr
        rules.append((key, kw))
    task = _task(args, args.fast)
    out = _out_dir(args, "compare")
    steps = args.steps if args.steps is not None else (50 if args.fast else 1000)
    every = args.measure_every or max(1, steps // 10)
    print(f"comparing {', '.join(k for k, _ in rules)} on {task.name}: {args.seeds} seed(s), "
          f"{steps} steps...", flush=True)
    df = compare(rules, task, seeds=args.seeds, steps=steps, measure_every=every,
                 n_probe=args.n_probe, executor=args.jobs if args.jobs > 1 else None,
                 progress=args.progress)
    df.to_csv(out / "compare.csv", index=False)
    _write_json(out / "settings.json", {
        "command": "compare", "rules": [k for k, _ in rules], "task": task.name,
        "seeds": args.seeds, "steps": steps, "measure_every": every, "n_probe": args.n_probe,
        "layers": list(df.attrs.get("layers", task.layers)),
        "final": {rule: {"loss": float(g["loss"].iloc[-1]),
                         "angle_deg": float(g["angle_deg"].iloc[-1])}
                  for rule, g in df[df["layer"] == "all"].groupby("rule")}})
    plt = _figure()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    mean = df[df["layer"] == "all"].groupby(["rule", "step"])[["loss", "angle_deg"]].mean()
    for rule, g in mean.groupby(level="rule"):
        steps_ = g.index.get_level_values("step")
        axes[0].plot(steps_, g["loss"], "o-", label=rule)
        axes[1].plot(steps_, g["angle_deg"], "o-", label=rule)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("training samples")
    axes[0].set_ylabel("test loss")
    axes[1].axhline(90, color="grey", lw=0.5, ls=":")
    axes[1].set_xlabel("training samples")
    axes[1].set_ylabel("angle to the backprop gradient (deg)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "angles.png", dpi=100)
    plt.close(fig)
    print(f"results in {out} (compare.csv, angles.png)")
    return 0


def _load_toml(path: Path) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise CLIError("sweep: reading TOML needs Python >= 3.11 (tomllib) or the tomli "
                           "package on Python 3.10 (pip install tomli)") from None
    if not path.is_file():
        raise FileNotFoundError(f"GRID: grid file not found: {path}")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise CLIError(f"GRID: {path} is not valid TOML ({exc})") from None


_GRID_KEYS = {"factory", "params", "read", "measure", "target", "n_jobs", "cache_dir"}


def _grid(path: Path):
    import importlib

    grid = _load_toml(path)
    unknown = sorted(set(grid) - _GRID_KEYS)
    if unknown:
        raise CLIError(f"GRID: unknown keys {unknown} in {path}; allowed: {sorted(_GRID_KEYS)}")
    factory_name = grid.get("factory")
    if not isinstance(factory_name, str) or ":" not in factory_name:
        raise CLIError(f"GRID: 'factory' must be \"module:function\" (a network factory), got "
                       f"{factory_name!r}")
    module, _, func = factory_name.partition(":")
    try:
        factory = getattr(importlib.import_module(module), func)
    except ImportError as exc:
        raise CLIError(f"GRID: cannot import {module!r} ({exc})") from None
    except AttributeError:
        raise CLIError(f"GRID: {module!r} has no function {func!r}") from None
    params = grid.get("params")
    if not isinstance(params, dict) or not params:
        raise CLIError("GRID: a [params] table with at least one parameter is required")
    values = {}
    for key, vals in params.items():
        vals = vals if isinstance(vals, list) else [vals]
        if not vals:
            raise CLIError(f"GRID: params.{key} is an empty list")
        try:
            values[key] = [parse_quantity(v) for v in vals]
        except ValueError as exc:
            raise CLIError(f"GRID: params.{key}: {exc}") from None
    read = grid.get("read")
    if read is not None and not (isinstance(read, list) and all(isinstance(r, str) for r in read)):
        raise CLIError(f"GRID: 'read' must be a list of 'group.var' names, got {read!r}")
    return factory, values, grid


def cmd_sweep(args) -> int:
    """Run a TOML grid through :func:`brian_dendrites.sweep`; write the table and a figure."""
    from .sweep import sweep

    factory, params, grid = _grid(Path(args.grid).expanduser())
    target = args.target or grid.get("target", "cpp_standalone")
    n_jobs = args.jobs if args.jobs is not None else grid.get("n_jobs", 1)
    out = _out_dir(args, "sweep")
    print(f"sweeping {len(params)} parameter(s) with {grid['factory']} on {target}...",
          flush=True)
    df = sweep(factory, params, read=grid.get("read"), measure=grid.get("measure", "mean"),
               target=target, n_jobs=n_jobs, cache_dir=args.cache_dir or grid.get("cache_dir"),
               progress=args.progress)
    df.to_csv(out / "sweep.csv", index=False)
    failed = int(df["error"].notna().sum())
    _write_json(out / "settings.json", {
        "command": "sweep", "grid": str(Path(args.grid).resolve()), "factory": grid["factory"],
        "params": {k: [str(v) for v in vs] for k, vs in params.items()}, "read": grid.get("read"),
        "target": target, "n_points": len(df), "failed_points": failed,
        "total_time_s": df.attrs.get("total_time")})
    measured = [c for c in df.columns if c not in df.attrs.get("params", [])
                and c not in ("error", "elapsed", "binary_time", "worker")
                and df[c].dtype.kind in "fi"]
    pcols = df.attrs.get("params", list(params))
    if measured and pcols:
        plt = _figure()
        fig, ax = plt.subplots(figsize=(6, 4))
        x = pcols[0]
        for col in measured[:4]:
            ax.plot(df[x], df[col], "o", label=col)
        ax.set_xlabel(x)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "sweep.png", dpi=100)
        plt.close(fig)
    print(f"{len(df)} points ({failed} failed); results in {out}")
    return 1 if failed else 0


def _benchmark_locations() -> list:
    """Where the benchmark scripts may be: a source checkout's ``benchmarks/``, then the install's.

    ``pip install`` puts the scripts into ``<prefix>/share/brian_dendrites/benchmarks``
    (``data_files`` in setup.cfg); ``<prefix>`` is the environment's data path.
    """
    import sysconfig

    places = [Path(__file__).resolve().parent.parent / "benchmarks"]
    for prefix in (sysconfig.get_paths().get("data"), sys.prefix):
        if prefix:
            places.append(Path(prefix) / "share" / "brian_dendrites" / "benchmarks")
    return places


def _benchmarks_dir():
    """The first folder of `_benchmark_locations` holding ``run_all.py``, or None."""
    for place in _benchmark_locations():
        if (place / "run_all.py").is_file():
            return place
    return None


def cmd_bench(args) -> int:
    """Run the benchmarks (``benchmarks/run_all.py --quick``) of a checkout or of the install."""
    folder = _benchmarks_dir()
    if folder is None:
        raise CLIError("bench: benchmarks/run_all.py is not present (looked in "
                       + ", ".join(str(p) for p in _benchmark_locations())
                       + "); reinstall brian_dendrites with pip or run from a source checkout")
    scripts = sorted(p.name for p in folder.glob("bench_*.py"))
    for name in args.only or ():
        if name not in scripts:
            raise CLIError(f"--only: no benchmark {name!r}; available: {', '.join(scripts)}")
    cmd = [sys.executable, str(folder / "run_all.py")] + ([] if args.full else ["--quick"])
    if args.only:
        cmd += ["--only", *args.only]
    if args.out:
        out = Path(args.out).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        cmd += ["--out", str(out / "benchmarks.txt")]
    print("running " + " ".join(cmd[1:]), flush=True)
    return subprocess.run(cmd, check=False).returncode


# ------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``brian-dendrites`` (subcommands and their options)."""
    parser = _Parser(prog=PROG, description="Learning in dendrites with Brian2: run the demo, "
                     "train a theory, compare learning rules, sweep parameters, benchmark.",
                     epilog="Each command writes CSV/JSON tables and PNG figures into --out. "
                     "Run 'brian-dendrites COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error instead of one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def common(p, progress=True):
        p.add_argument("--out", help="output folder (default brian_dendrites_out/COMMAND)")
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the traceback of an error")
        p.add_argument("--cache-dir", dest="cache_dir",
                       help="where compiled standalone projects are kept")
        if progress:
            p.add_argument("--no-progress", dest="progress", action="store_false",
                           help="no progress bars")

    def task_options(p):
        p.add_argument("--task", required=True, help="teacher_student, mnist, permuted_mnist, "
                       "cerebellum (brian_dendrites.tasks.TASKS)")
        p.add_argument("--path", help="MNIST data: a csv/csv.gz file or the IDX files' folder")
        p.add_argument("--n-train", dest="n_train", type=_positive_int,
                       help="training samples")
        p.add_argument("--n-test", dest="n_test", type=_nonnegative_int, help="test samples")
        p.add_argument("--fast", action="store_true",
                       help="a small, quick setting (fewer samples, smaller networks)")

    p = sub.add_parser("demo", help="compartment potentials of the model library (no data)",
                       description="Run the compartments demo: a 3-compartment pyramidal neuron "
                       "(basal, apical, teacher steps) and a 2-compartment Urbanczik-Senn neuron "
                       "with Poisson input. Writes traces.csv, summary.json and "
                       "demo_compartments.png.")
    p.add_argument("--target", choices=TARGETS, default="cpp_standalone",
                   help="Brian2 target (numpy: no compiler needed)")
    p.add_argument("--duration", type=float, default=300.0, help="simulated ms (default 300)")
    p.add_argument("--seed", type=int, default=1)
    common(p, progress=False)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("train", help="train a theory's learner on a task",
                       description="Train a learner (microcircuit, dgn, dfc, dfc_ss) on a task. "
                       "Regression tasks use the regressor, classification tasks the "
                       "classifier (microcircuit: the steady-state MNIST microcircuit). Writes "
                       "history.csv, settings.json (with the final scores) and "
                       "learning_curve.png.",
                       epilog="Example: brian-dendrites train dgn --task teacher_student --fast "
                       "--target numpy --out run1")
    p.add_argument("theory", help=f"one of {', '.join(THEORIES)}")
    task_options(p)
    p.add_argument("--epochs", type=_positive_int, help="passes over the data (default 5; "
                   "--fast: 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hidden", help="hidden layer sizes, e.g. 20,20 (default: the task's)")
    p.add_argument("--target", choices=TARGETS, default="cpp_standalone")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="a learner parameter, e.g. --param eta=0.01 --param 't_pattern=20 ms' "
                   "(repeatable)")
    common(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("compare", help="compare learning rules (brian_dendrites.lab.compare)",
                       description="Train learning rules from the same weights and measure "
                       "their loss and the angle of their updates to the backprop gradient "
                       "(DFC: also to Gauss-Newton). Rules: backprop (bp), feedback_alignment "
                       "(fa), node_perturbation (np), weight_perturbation (wp), dfc, dfc_ss, "
                       "microcircuit, dgn. Writes compare.csv, settings.json and angles.png.",
                       epilog="Example: brian-dendrites compare --rules bp,fa,np --task "
                       "teacher_student --seeds 3 --out cmp")
    p.add_argument("--rules", required=True, help="comma-separated rule names")
    task_options(p)
    p.add_argument("--seeds", type=_positive_int, default=5)
    p.add_argument("--steps", type=_nonnegative_int,
                   help="training samples per rule (default 1000; --fast: 50)")
    p.add_argument("--measure-every", dest="measure_every", type=_positive_int,
                   help="steps between measurements (default steps/10)")
    p.add_argument("--n-probe", dest="n_probe", type=_positive_int, default=20,
                   help="probe samples of the angle measurements")
    p.add_argument("--lr", type=float, help="learning rate of the NumPy rules (default: each "
                   "rule's own; the perturbation rules diverge at backprop's rates)")
    p.add_argument("--target", choices=TARGETS, default="cpp_standalone",
                   help="Brian2 target of the dfc/microcircuit/dgn rules")
    p.add_argument("--jobs", type=_positive_int, default=1, help="worker processes (seeds)")
    common(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sweep", help="run a TOML parameter grid (brian_dendrites.sweep)",
                       description="Run every point of a parameter grid from a TOML file "
                       "through brian_dendrites.sweep (one build per shape, one run per "
                       "point). Writes sweep.csv, settings.json and sweep.png.",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog=_plain(__doc__[__doc__.index("The grid file"):]))
    p.add_argument("grid", metavar="GRID.toml", help="the grid file")
    p.add_argument("--target", choices=TARGETS, help="override the grid's target")
    p.add_argument("--jobs", type=_positive_int, help="override the grid's n_jobs")
    common(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("bench", help="run the benchmarks (benchmarks/run_all.py)",
                       description="Run benchmarks/run_all.py --quick of a source checkout, "
                       "or the copy installed with the package in "
                       "<prefix>/share/brian_dendrites/benchmarks (each benchmark times a "
                       "library function against its NumPy yardstick). Fails with one line "
                       "when neither is present.")
    p.add_argument("--only", nargs="+", metavar="SCRIPT", help="benchmark scripts to run, e.g. "
                   "bench_dense_layer.py")
    p.add_argument("--full", action="store_true", help="full runs instead of --quick")
    common(p, progress=False)
    p.set_defaults(func=cmd_bench)
    return parser


def _plain(text):
    """Turn reStructuredText roles and literals into plain terminal text."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "").replace("::\n", ":\n")


def _version():
    from . import __version__

    return __version__


def _message(exc) -> str:
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    text = " ".join(str(text).split())
    return text or type(exc).__name__


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0 success, 1 a failed run, 2 bad input).

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        debug = debug or getattr(args, "debug", False)
        if args.command is None:
            parser.print_help()
            return 2
        with _quiet_brian(debug):
            return int(args.func(args) or 0)
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        if isinstance(exc, CLIError):
            status = 2
        elif isinstance(exc, (ValueError, KeyError, TypeError, FileNotFoundError)) or \
                type(exc).__name__ == "DimensionMismatchError":
            status = 2
        else:
            status = 1
        print(f"{PROG}: error: {_message(exc)}", file=sys.stderr)
        return status


@contextlib.contextmanager
def _quiet_brian(debug):
    """Brian2's INFO lines off the console unless ``--debug``."""
    if debug or os.environ.get("BRIAN_DENDRITES_VERBOSE"):
        yield
        return
    try:
        from brian2 import prefs

        old = prefs["logging.console_log_level"]
        prefs["logging.console_log_level"] = "WARNING"
    except Exception:  # noqa: BLE001 - logging preferences are a nicety
        yield
        return
    try:
        yield
    finally:
        prefs["logging.console_log_level"] = old


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
