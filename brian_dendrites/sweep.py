"""Parameter sweeps: compile once per network shape, run every point.

:func:`sweep` turns a grid (or a list) of parameter points into a tidy
:class:`pandas.DataFrame`. Parameters come in two kinds, told apart by their
names:

- **shape parameters** (plain identifiers such as ``'N'``) are passed to the
  network factory; they change the generated code, so every distinct
  combination is one :class:`~brian_dendrites.engine.Simulation` (one
  compiled binary on ``cpp_standalone``);
- **run parameters** (``'group.var'`` or ``'timedarray.values'``) are passed
  to :meth:`Simulation.run <brian_dendrites.engine.Simulation.run>` as run
  values: no code generation, no compilation, one execution of the binary.

Points run serially, in local worker processes (``n_jobs``) or on a
:class:`dask.distributed.Client`. Every worker process keeps one
``Simulation`` per shape and reuses it for all the points it receives; runs
never share a results directory and never run in threads of one process.
A point that fails (bad value, failed run, failing ``measure``) is reported
in the ``error`` column; the other points are unaffected. Ctrl-C stops a
sweep within about a second and raises :class:`SweepInterrupted`, which
carries the table of the points finished so far; local worker processes end
with the sweep, and also when its process is killed.
"""

from __future__ import annotations

import collections
import collections.abc
import concurrent.futures
import dataclasses
import difflib
import hashlib
import inspect
import itertools
import multiprocessing
import numbers
import os
import pickle
import signal
import threading
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["NetworkSpec", "SweepInterrupted", "sweep", "expand_grid"]

#: Columns every sweep table has besides the parameters and measurements.
RESERVED_COLUMNS = ("error", "elapsed", "binary_time", "worker")

#: ``error`` of the points an interrupted sweep did not finish.
INTERRUPTED = "interrupted"

#: Simulations kept per worker process (most recently used shapes).
_MAX_CACHED_SIMULATIONS = 16

# Per-process cache of Simulations: key -> Simulation (used by pool and dask workers).
_WORKER_SIMULATIONS: "collections.OrderedDict" = collections.OrderedDict()
# Brian2's device and runtime state are global: a dask worker with several
# threads must not build, or run on a runtime target, in two threads at once.
# (A standalone run is a subprocess in its own directory and may overlap.)
_LOCK = threading.RLock()


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
    """What a network factory returns for one shape.

    Parameters
    ----------
    build : callable
        ``build() -> dict`` of named Brian2 objects, as for
        :class:`~brian_dendrites.engine.Simulation`.
    duration : Quantity (second)
        Simulated time of every run.
    dt : Quantity (second), optional
        Time step (default: the ``Simulation`` default, 0.1 ms).
    seed : int, optional
        Random seed. On ``cpp_standalone`` it is compiled in: to sweep seeds,
        make the seed a shape parameter of the factory.
    name : str, optional
        Label of the compiled project (default: the factory's name).

    A factory may also return the tuple ``(build, duration)``.
    """

    build: Callable
    duration: object
    dt: object = None
    seed: int | None = None
    name: str | None = None


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a :func:`sweep`; ``partial`` is the table so far.

    A subclass of :class:`KeyboardInterrupt`: uncaught, it stops a script as
    Ctrl-C always does. In an interactive session the last one is
    ``sys.last_value``.

    Parameters
    ----------
    partial : pandas.DataFrame
        The table :func:`sweep` would have returned, one row per point in
        input order: finished points with their results (including their own
        errors), the others with ``error == 'interrupted'`` and NaN results;
        ``partial.attrs['interrupted']`` is True. ``partial`` (or its
        unfinished rows) can be passed back to :func:`sweep` as ``params``.

    Examples
    --------
    >>> import pandas as pd
    >>> exc = SweepInterrupted(pd.DataFrame({'g.x': [1.0, 2.0], 'error': [None, 'interrupted']}))
    >>> isinstance(exc, KeyboardInterrupt), len(exc.partial)
    (True, 2)
    >>> str(exc).split(';')[0]
    'sweep interrupted: 1 of 2 points finished'
    """

    def __init__(self, partial):
        self.partial = partial
        done = int((partial["error"] != INTERRUPTED).sum())
        super().__init__(
            f"sweep interrupted: {done} of {len(partial)} points finished; the table is in "
            f"exc.partial (unfinished points have error {INTERRUPTED!r}; pass "
            f"exc.partial[exc.partial['error'] == {INTERRUPTED!r}] to sweep() to run them)"
        )


# ----------------------------------------------------------------- inputs
def _is_run_key(key: str) -> bool:
    return "." in key


def expand_grid(params) -> list:
    """Turn ``params`` into a list of point dicts (all with the same keys).

    Parameters
    ----------
    params : dict of str -> list, or list of dict, or pandas.DataFrame
        A dict of lists is expanded to its Cartesian product (the last key
        varies fastest); a list of dicts (or the rows of a DataFrame) is taken
        as the points themselves. A table returned by :func:`sweep` (or rows
        of it) gives back its points: only its parameter columns
        (``df.attrs['params']``) are used, and the columns listed in
        ``df.attrs['units']`` become Quantities in those units again.

    Returns
    -------
    list of dict

    Examples
    --------
    >>> expand_grid({'N': [1, 2], 'g.tau': [1.0, 2.0, 3.0]})[:2]
    [{'N': 1, 'g.tau': 1.0}, {'N': 1, 'g.tau': 2.0}]
    >>> len(expand_grid([{'g.tau': 1.0}, {'g.tau': 2.0}]))
    2
    """
    if isinstance(params, pd.DataFrame):
        params = _points_from_table(params)
    if isinstance(params, Mapping):
        if not params:
            raise ValueError("params is empty: give at least one parameter with a list of values")
        keys = list(params)
        columns = []
        for key in keys:
            _check_key(key, "params")
            vals = params[key]
            # (no np.ndim(vals): a list of arrays of different lengths is fine, its
            # wrong-size values fail per point)
            if isinstance(vals, (str, bytes, Mapping)) or not isinstance(vals, (Sequence, np.ndarray)) \
                    or (isinstance(vals, np.ndarray) and vals.ndim == 0):
                raise TypeError(
                    f"params[{key!r}] must be a list of values (one per point), got "
                    f"{type(vals).__name__} {vals!r}; wrap a single value in a list: [{vals!r}]"
                )
            vals = list(vals)
            if not vals:
                raise ValueError(f"params[{key!r}] is an empty list: give at least one value")
            columns.append(vals)
        return [dict(zip(keys, combo)) for combo in itertools.product(*columns)]
    if isinstance(params, (list, tuple)):
        if not params:
            raise ValueError("params is an empty list: give at least one point")
        points = []
        keys = None
        for i, point in enumerate(params):
            if not isinstance(point, Mapping):
                raise TypeError(f"params[{i}] must be a dict of parameter values, got {type(point).__name__}")
            if not point:
                raise ValueError(f"params[{i}] is an empty dict")
            for key in point:
                _check_key(key, f"params[{i}]")
            if keys is None:
                keys = list(point)
            elif set(point) != set(keys):
                missing = sorted(set(keys) - set(point))
                extra = sorted(set(point) - set(keys))
                raise ValueError(
                    f"params[{i}] has different keys from params[0]: missing {missing}, extra {extra}; "
                    "every point must set the same parameters"
                )
            points.append({k: point[k] for k in keys})
        return points
    raise TypeError(
        "params must be a dict of lists (a grid), a list of dicts (points) or a pandas "
        f"DataFrame, got {type(params).__name__}"
    )


def _points_from_table(table: pd.DataFrame) -> list:
    """The points of a DataFrame; a sweep's own table gives back its parameters."""
    if "params" in table.attrs:
        columns = [c for c in table.attrs["params"] if c in table.columns]
        if not columns:
            raise ValueError(
                f"params: the DataFrame has none of its parameter columns "
                f"(df.attrs['params'] = {table.attrs['params']!r}); its columns: {list(table.columns)}"
            )
    else:
        own = [c for c in RESERVED_COLUMNS if c in table.columns]
        if own:
            raise ValueError(
                f"params: the DataFrame has a sweep's result columns {own} but no df.attrs['params'] "
                "(lost, e.g. through a CSV file), so its parameter columns are unknown: select them, "
                "e.g. params=df[['N', 'pyr.g_A']], and set df.attrs['units'] for values in SI units"
            )
        columns = list(table.columns)
    points = table[columns].to_dict("records")
    units = table.attrs.get("units") or {}
    for key in columns:
        if key not in units:
            continue
        from brian2 import Quantity

        dim = _parse_unit(units[key])
        if dim is None:
            raise ValueError(f"params: df.attrs['units'][{key!r}] = {units[key]!r} is not a unit "
                             "(write e.g. 'Hz', 'V', 'second' or '1')")
        for i, point in enumerate(points):
            try:
                point[key] = Quantity(np.asarray(point[key], dtype=float), dim=dim)
            except (TypeError, ValueError):
                raise ValueError(f"params: row {i} of column {key!r} is not a number in "
                                 f"{units[key]}: {point[key]!r}") from None
    return points


#: Labels of the SI base units in a Dimension's text ('m^-2 kg^-1 s^3 A^2').
_BASE_LABELS = ("m", "kg", "s", "A", "K", "mol", "cd")


def _parse_unit(text):
    """The Dimension of a unit name that :func:`_unit_name` writes, or None."""
    from brian2 import DEFAULT_UNITS, get_or_create_dimension

    from ._brian_compat import DIMENSIONLESS

    text = str(text).strip()
    if text == "1":
        return DIMENSIONLESS
    for unit in DEFAULT_UNITS.values():
        if float(unit) == 1.0 and text in (str(unit), repr(unit)):
            return unit.dim
    exponents = {}
    for part in text.split():
        label, _, exp = part.partition("^")
        if label not in _BASE_LABELS or label in exponents:
            return None
        try:
            exponents[label] = float(exp or 1)
        except ValueError:
            return None
    return get_or_create_dimension(**exponents) if exponents else None


def _unit_name(dim) -> str:
    """Name of the unscaled unit of ``dim`` ('Hz', 'V', '1'), readable by :func:`_parse_unit`."""
    from ._brian_compat import get_unit_for_display

    name = get_unit_for_display(dim)
    return name if _parse_unit(name) == dim else str(dim)


def _check_key(key, where):
    if not isinstance(key, str):
        raise TypeError(f"{where}: parameter names must be strings, got {key!r}")
    if _is_run_key(key):
        owner, _, var = key.partition(".")
        if not owner.isidentifier() or not var.isidentifier():
            raise ValueError(
                f"{where}: run parameter {key!r} must look like 'group.var' or 'timedarray.values'"
            )
    elif not key.isidentifier():
        raise ValueError(
            f"{where}: {key!r} is neither a shape parameter (an identifier passed to the network "
            "factory) nor a run parameter ('group.var')"
        )


def _check_factory_accepts(factory, shape_keys):
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins, some callables: let the call fail per shape
        return
    params = sig.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        accepted = None
    else:
        accepted = [p.name for p in params
                    if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    if accepted is not None:
        for key in shape_keys:
            if key not in accepted:
                close = difflib.get_close_matches(key, accepted, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise TypeError(
                    f"params: shape parameter {key!r} is not an argument of network_factory "
                    f"{getattr(factory, '__name__', factory)!r} "
                    f"(it accepts: {', '.join(accepted) or 'nothing'}).{hint} "
                    "Run parameters are written 'group.var'."
                )
    required = [p.name for p in params
                if p.default is inspect.Parameter.empty
                and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    missing = [name for name in required if name not in shape_keys]
    if missing:
        raise TypeError(
            f"network_factory requires {missing} but params does not set them: add them to params "
            "(as shape parameters) or give them defaults"
        )


def _shape_token(shape: dict) -> tuple:
    items = tuple(shape.items())
    try:
        hash(items)
    except TypeError:
        bad = [k for k, v in items if not isinstance(v, collections.abc.Hashable)]
        raise TypeError(
            f"params: values of shape parameters must be hashable (numbers, strings, tuples); "
            f"{bad} are not"
        ) from None
    return items


def _factory_token(factory) -> str:
    """Identity of a factory that survives pickling (code included when pickled by value)."""
    try:
        import cloudpickle

        blob = cloudpickle.dumps(factory)
    except Exception:
        try:
            blob = pickle.dumps(factory)
        except Exception:
            blob = f"{getattr(factory, '__module__', '')}.{getattr(factory, '__qualname__', repr(factory))}".encode()
    return hashlib.sha256(blob).hexdigest()[:16]


# ------------------------------------------------------- worker side
def _spec_from(factory, shape) -> NetworkSpec:
    out = factory(**shape)
    if isinstance(out, NetworkSpec):
        return out
    if isinstance(out, tuple) and len(out) == 2:
        return NetworkSpec(build=out[0], duration=out[1])
    raise TypeError(
        f"network_factory must return a NetworkSpec or a tuple (build, duration), "
        f"got {type(out).__name__}"
    )


def _sim_name(factory, spec) -> str:
    name = spec.name or getattr(factory, "__name__", "sweep")
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name).strip("_")
    return name or "sweep"


def _resolve_cache_dir(cache_dir):
    if cache_dir != "worker":
        return cache_dir
    try:
        from distributed import get_worker

        return str(Path(get_worker().local_directory) / "brian_dendrites")
    except (ImportError, ValueError):
        return None  # not on a dask worker: the engine's default cache


def _worker_label():
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def _get_simulation(job: dict, cache: dict | None = None):
    """The Simulation of one shape in this process: cached, else built.

    Returns ``(simulation, build_record or None)``.
    """
    with _LOCK:
        return _get_simulation_locked(job, cache)


def _get_simulation_locked(job, cache):
    cache = _WORKER_SIMULATIONS if cache is None else cache
    key = (job["factory_token"], job["shape_token"], job["target"], str(job["cache_dir"]))
    if key in cache:
        if isinstance(cache, collections.OrderedDict):
            cache.move_to_end(key)
        return cache[key], None
    from .engine import Simulation

    t0 = time.perf_counter()
    spec = _spec_from(job["factory"], job["shape"])
    kwargs = {}
    if spec.dt is not None:
        kwargs["dt"] = spec.dt
    sim = Simulation(
        spec.build,
        spec.duration,
        target=job["target"],
        seed=spec.seed,
        cache_dir=_resolve_cache_dir(job["cache_dir"]),
        name=_sim_name(job["factory"], spec),
        **kwargs,
    )
    cache[key] = sim
    if isinstance(cache, collections.OrderedDict):
        while len(cache) > _MAX_CACHED_SIMULATIONS:
            cache.popitem(last=False)
    record = dict(
        shape=dict(job["shape"]),
        build_time=time.perf_counter() - t0,
        project_dir=str(sim.project_dir) if sim.project_dir is not None else None,
        worker=_worker_label(),
    )
    return sim, record


def _describe(job: dict, cache: dict | None = None) -> dict:
    """Build (or reuse) one shape and report its variables (runs on a worker)."""
    try:
        sim, record = _get_simulation(job, cache)
    except Exception as exc:  # reported per shape; its points fail, others go on
        return dict(error=_format_error(exc))
    return dict(error=None, variables=sim.variables, settable=sim.settable_variables, build=record)


def _format_error(exc) -> str:
    return f"{type(exc).__name__}: {exc}"


def _run_point(job: dict, values: dict, cache: dict | None = None) -> dict:
    """Run one point (on a worker); never raises, errors go into the row."""
    row = {"error": None, "elapsed": np.nan, "binary_time": np.nan, "worker": _worker_label()}
    build = None
    try:
        sim, build = _get_simulation(job, cache)
        t0 = time.perf_counter()
        if sim.target == "cpp_standalone":
            result = sim.run(values, read=job["read"])
        else:
            with _LOCK:
                result = sim.run(values, read=job["read"])
                if _stopped_by_brian2():
                    raise _RunStopped()
        measured = _apply_measure(job["measure"], result)
        row["elapsed"] = time.perf_counter() - t0
        row["binary_time"] = result.wall_time
        row["measured"] = measured
    except _RunStopped:
        row["error"] = INTERRUPTED
        row["stopped"] = True
    except Exception as exc:
        row["error"] = _format_error(exc)
    row["build"] = build
    return row


class _RunStopped(Exception):
    """brian2's SIGINT handler ended a runtime run early: its results are incomplete."""


def _stopped_by_brian2() -> bool:
    """Whether Ctrl-C cut the last runtime ``Network.run`` short.

    brian2's SIGINT handler does not raise during ``Network.run``: it ends
    the run after the current time step (``Network._globally_stopped``,
    reset when a run starts), and the run returns as if complete.
    """
    from brian2 import Network

    return bool(getattr(Network, "_globally_stopped", False))


def _apply_measure(measure, result) -> dict:
    if measure == "mean":
        return {key: (float(np.mean(arr)) if np.size(arr) else np.nan) for key, arr in result.items()}
    if measure == "final":
        return {key: (arr.item() if np.size(arr) == 1 else np.array(arr)) for key, arr in result.items()}
    out = measure(result)
    if not isinstance(out, Mapping):
        raise TypeError(f"measure must return a dict column -> value, got {type(out).__name__}")
    bad = [k for k in out if not isinstance(k, str)]
    if bad:
        raise TypeError(f"measure returned non-string column names {bad}")
    return dict(out)


def _ensure_brian2():
    """Import brian2 in the calling (main) thread of a worker; return its version."""
    import brian2

    return brian2.__version__


# ------------------------------------------- lifetime of worker processes
#: Seconds between a pool worker's checks that the sweep's process is alive.
_PARENT_POLL = 0.2
#: Seconds pool workers get to end after SIGTERM before they and their
#: children (standalone binaries, make, compilers) get SIGKILL.
_TERMINATE_GRACE = 1.0
_SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)
#: True while a pool worker runs a task (SIGTERM then unwinds it: finally blocks run).
_IN_TASK = False


class _WorkerTerminated(BaseException):
    """SIGTERM in a pool worker's task (not an Exception: no row catches it)."""


def _init_worker(parent_pid):
    """Pool worker set-up: ignore Ctrl-C, end on SIGTERM or when the sweep's process dies."""
    import brian2  # noqa: F401  (first: importing brian2 installs its own SIGINT handler)

    # Ctrl-C reaches the whole process group; the main process ends the workers
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="sweep-parent-watch",
                     daemon=True).start()


def _on_sigterm(signum, frame):
    _signal_pids(_descendants([os.getpid()]), _SIGKILL)  # a running binary, make, compilers
    if _IN_TASK:
        raise _WorkerTerminated()
    os._exit(128 + signum)


def _watch_parent(parent_pid):
    """End this worker (and its children) once the sweep's process is gone, even after SIGKILL."""
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_POLL)
    _signal_pids(_descendants([os.getpid()]), _SIGKILL)
    os.kill(os.getpid(), signal.SIGTERM)  # unwinds the task in the main thread
    time.sleep(2 * _TERMINATE_GRACE)
    os._exit(1)


def _pool_task(fn, *args):
    """Run ``fn(*args)`` in a pool worker; SIGTERM ends the process after ``finally`` blocks."""
    global _IN_TASK
    _IN_TASK = True
    try:
        return fn(*args)
    except _WorkerTerminated:
        os._exit(128 + signal.SIGTERM)
    finally:
        _IN_TASK = False


def _children_map() -> dict:
    """``parent pid -> [child pids]`` of all processes (Linux /proc, else psutil, else empty)."""
    children = collections.defaultdict(list)
    if os.path.isdir("/proc/self"):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            # after the command name (which may hold spaces and parentheses): state, ppid, ...
            fields = stat[stat.rfind(b")") + 2:].split()
            children[int(fields[1])].append(int(entry.name))
        return children
    try:
        import psutil
    except ImportError:
        return children
    for proc in psutil.process_iter(["ppid"]):
        children[proc.info["ppid"]].append(proc.pid)
    return children


def _descendants(pids) -> list:
    children = _children_map()
    out: list = []
    todo = list(pids)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in out:
                out.append(child)
                todo.append(child)
    return out


def _alive(pid) -> bool:
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            return False
        return stat[stat.rfind(b")") + 2:][:1] != b"Z"  # a zombie has ended
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _signal_pids(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _end_processes(pids, grace=_TERMINATE_GRACE):
    """SIGTERM ``pids`` (pool workers end their children and exit), then SIGKILL what is left."""
    tree = _descendants(pids)
    _signal_pids(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    _signal_pids([pid for pid in [*pids, *tree, *_descendants(pids)] if _alive(pid)], _SIGKILL)


def _pool_processes(pool) -> list:
    """The worker processes of a ProcessPoolExecutor.

    Private API (``pool._processes``): the executor has no public way to end
    its workers before Python 3.14 (``terminate_workers``), nor to find their
    children.
    """
    return list((getattr(pool, "_processes", None) or {}).values())


# ---------------------------------------------------------- executors
class _Serial:
    """Runs tasks in this process, immediately (one Simulation per shape per call)."""

    def __init__(self):
        self.cache: dict = {}

    def map_unordered(self, fn, items):
        for i, args in items:
            out = fn(*args, cache=self.cache)
            if out.pop("stopped", False):  # Ctrl-C during a runtime run (see _stopped_by_brian2)
                raise KeyboardInterrupt
            yield i, out

    def close(self, abort=False):
        self.cache.clear()


class _Pool:
    """Local worker processes (spawn), each with its own Simulation cache.

    Workers ignore SIGINT (the main process ends them on Ctrl-C), end their
    children and exit on SIGTERM, and exit within ``_PARENT_POLL`` seconds
    when the main process is gone (also after SIGKILL).
    """

    def __init__(self, n_jobs):
        ctx = multiprocessing.get_context("spawn")
        self.pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=n_jobs, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(),))

    def map_unordered(self, fn, items):
        futures = {self.pool.submit(_pool_task, fn, *args): i for i, args in items}
        for fut in concurrent.futures.as_completed(futures):
            i = futures[fut]
            try:
                yield i, fut.result()
            except Exception as exc:  # worker died (e.g. BrokenProcessPool)
                yield i, _infrastructure_error(fn, exc)

    def close(self, abort=False):
        """Wait for the workers to exit, or (``abort``) end them and their children now."""
        if not abort:
            self.pool.shutdown(wait=True, cancel_futures=True)
            return
        pids = [proc.pid for proc in _pool_processes(self.pool)]
        self.pool.shutdown(wait=False, cancel_futures=True)
        _end_processes(pids)


class _Dask:
    """A dask.distributed Client: one task per point, results as they finish."""

    def __init__(self, client):
        self.client = client
        self.pending: list = []
        try:
            client.run(_ensure_brian2)
        except Exception as exc:
            raise RuntimeError(
                "could not import brian2 on the dask workers (needed in each worker's main thread, "
                f"e.g. start workers with --preload brian2): {_format_error(exc)}"
            ) from exc

    def map_unordered(self, fn, items):
        from distributed import as_completed

        futures = {}
        for i, args in items:
            fut = self.client.submit(fn, *args, pure=False)
            futures[fut] = i
        self.pending = list(futures)
        for fut in as_completed(list(futures)):
            i = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:  # worker lost, KilledWorker, ...
                result = _infrastructure_error(fn, exc)
            fut.release()
            yield i, result

    def close(self, abort=False):
        # interrupted (Ctrl-C, an error in the main process): drop queued points
        unfinished = [f for f in self.pending if not f.done()]
        if unfinished:
            self.client.cancel(unfinished)
        self.pending = []


def _infrastructure_error(fn, exc):
    msg = _format_error(exc)
    if fn is _describe:
        return dict(error=msg)
    return {"error": msg, "elapsed": np.nan, "binary_time": np.nan, "worker": None, "build": None}


# --------------------------------------------------------------- table
def _check_names(described, run_keys, read) -> list:
    """Raise for run parameters or ``read`` names a built shape lacks; return the build records."""
    builds = []
    for st, info in described.items():
        if info.get("error"):
            continue
        if info.get("build"):
            builds.append(info["build"])
        where = f" (shape {dict(st)})" if st else ""
        for key in run_keys:
            if key not in info["settable"]:
                if key in info["variables"]:
                    raise ValueError(f"params: {key!r} is read-only{where}; it cannot be set per run")
                close = difflib.get_close_matches(key, info["settable"], n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise KeyError(f"params: the network has no variable {key!r}{where}.{hint}")
        for key in read or ():
            if key not in info["variables"]:
                close = difflib.get_close_matches(key, info["variables"], n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise KeyError(f"read: the network has no variable {key!r}{where}.{hint}")
    return builds


def _parameter_cells(points, keys, rows):
    """Parameter values for the table (Quantities as SI floats) and each column's unit.

    One unit per column: that of the values whose points ran (the network
    checked their units), else the most common one. A value in another unit
    (its point failed: wrong units) is shown as NaN.
    """
    from brian2 import Quantity

    from ._brian_compat import DIMENSIONLESS

    ran = [row is not None and row.get("error") is None for row in rows]
    cells = [dict(point) for point in points]
    units = {}
    for key in keys:
        if not any(isinstance(point[key], Quantity) for point in points):
            continue
        dims = [p[key].dim if isinstance(p[key], Quantity) else DIMENSIONLESS for p in points]
        checked = [d for d, ok in zip(dims, ran) if ok]
        dim = checked[0] if checked else collections.Counter(dims).most_common(1)[0][0]
        units[key] = _unit_name(dim)
        for cell, d in zip(cells, dims):
            val = cell[key]
            if d != dim:
                cell[key] = np.nan
            elif isinstance(val, Quantity):
                cell[key] = float(val) if np.ndim(val) == 0 else np.asarray(val, dtype=float)
    return cells, units


def _table(points, keys, rows, builds, measure, read) -> pd.DataFrame:
    """The sweep's DataFrame: one row per point in input order (None rows: unfinished)."""
    cells, units = _parameter_cells(points, keys, rows)
    # the measured columns a string measure gives, even if every point fails
    measured_cols = dict.fromkeys(
        [f"{k} ({measure})" if k in keys else k for k in read] if isinstance(measure, str) else [])
    records = []
    for rec, row in zip(cells, rows):
        if row is None:
            row = {"error": INTERRUPTED, "elapsed": np.nan, "binary_time": np.nan, "worker": None}
        measured = row.pop("measured", None) or {}
        if row.get("build"):
            builds.append(row["build"])
        row.pop("build", None)
        row.pop("stopped", None)
        if isinstance(measure, str):  # a variable both set and read: keep both columns
            measured = {(f"{k} ({measure})" if k in rec else k): v for k, v in measured.items()}
        clash = [k for k in measured if k in rec or k in RESERVED_COLUMNS]
        if clash and row["error"] is None:
            row["error"] = f"ValueError: measure returned column names used by parameters or the sweep: {clash}"
            measured = {}
        for k in measured:
            measured_cols.setdefault(k, None)
        rec.update(measured)
        rec.update(row)
        records.append(rec)
    columns = keys + list(measured_cols) + list(RESERVED_COLUMNS)
    df = pd.DataFrame.from_records(records, columns=columns)
    df.attrs["params"] = list(keys)
    df.attrs["units"] = units
    df.attrs["builds"] = builds
    return df


# --------------------------------------------------------------- sweep
def sweep(
    network_factory: Callable,
    params,
    *,
    measure="mean",
    read=None,
    target: str = "cpp_standalone",
    cache_dir=None,
    n_jobs: int = 1,
    client=None,
    progress: bool = True,
) -> pd.DataFrame:
    r"""Run a network at many parameter points; compile once per shape.

    Parameters
    ----------
    network_factory : callable
        ``network_factory(**shape_params)`` returns a :class:`NetworkSpec`
        or a tuple ``(build, duration)``. It is called once per shape in
        every process that runs points of that shape. For ``n_jobs > 1`` it
        must be picklable (a top-level function of an importable module);
        for ``client`` anything cloudpickle handles.
    params : dict of str -> list, list of dict, or pandas.DataFrame
        The points (see :func:`expand_grid`). Keys without a dot are *shape*
        parameters (arguments of ``network_factory``: one build per distinct
        combination); keys ``'group.var'`` / ``'timedarray.values'`` are
        *run* values (Quantities, numbers or arrays, as for
        :meth:`Simulation.run <brian_dendrites.engine.Simulation.run>`).
        A table returned by ``sweep`` (or some of its rows) runs its points
        again: its parameter columns are used, with their units.
    measure : {'mean', 'final'} or callable
        How a run becomes result columns: ``'mean'`` (default) gives the mean
        of each ``read`` variable's final values (SI units), ``'final'`` the
        values themselves (a float for one element, else an array); a
        variable that is also a run parameter gets the column
        ``'group.var (mean)'`` / ``'group.var (final)'``. A
        callable ``measure(result) -> dict`` any columns computed from the
        :class:`~brian_dendrites.engine.RunResult` (it runs on the worker).
    read : list of str, optional
        Variables to read after each run. Required with the string measures;
        with a callable ``measure`` the default reads everything.
    target : {'cpp_standalone', 'numpy', 'cython'}
        Brian2 target of every Simulation.
    cache_dir : path or 'worker', optional
        Where standalone binaries are compiled and reused (default: the
        engine's :func:`~brian_dendrites.engine.default_cache_dir` of each
        process's machine). ``'worker'`` uses each dask worker's own local
        directory.
    n_jobs : int
        Local worker processes (``-1``: one per CPU); ``1`` runs in this
        process. Points never run in threads. The workers end with the
        sweep: on Ctrl-C, on an error, and within a second when this process
        is killed (SIGTERM, SIGKILL); each ends its running binary first.
    client : dask.distributed.Client, optional
        Run the points on this cluster instead (exclusive with ``n_jobs``).
        brian2 is imported on every worker's main thread before any task.
    progress : bool
        Show a tqdm progress bar over points.

    Returns
    -------
    pandas.DataFrame
        One row per point, in input order: the parameters (Quantities as
        floats in SI units), the measured columns, ``error`` (None, or
        ``'ExceptionType: message'`` for a failed point, whose measured
        columns are NaN), ``elapsed`` (seconds for the run and the measure,
        on the worker), ``binary_time`` (seconds the run itself took) and
        ``worker``. With ``measure='mean'``/``'final'`` the measured columns
        exist even when every point fails. ``df.attrs['builds']`` lists every
        Simulation built (shape, build_time, project_dir, worker);
        ``df.attrs['units']`` maps Quantity-valued columns to their SI unit
        (one per column: a value in other units, whose point fails, is NaN);
        ``df.attrs['params']`` names the parameter columns;
        ``df.attrs['interrupted']`` is False.

    Raises
    ------
    SweepInterrupted
        Ctrl-C (SIGINT, a ``KeyboardInterrupt``) during the sweep. Queued
        points are dropped, local workers and their binaries are ended (dask
        tasks cancelled) within about a second, and the exception's
        ``partial`` is the table so far: finished points with their results,
        the others with ``error == 'interrupted'``.
    TypeError, ValueError
        Malformed ``params``, non-callable or non-picklable factory/measure,
        shape parameters the factory does not take, bad ``n_jobs``/``read``.
    KeyError
        A run parameter or ``read`` name that the network does not have
        (checked once per shape, before any point runs).

    Examples
    --------
    >>> from brian2 import NeuronGroup, ms
    >>> def factory(N=2):
    ...     def build():
    ...         g = NeuronGroup(N, 'dv/dt = (1 - v)/tau : 1\ntau : second (shared, constant)',
    ...                         name='g')
    ...         g.tau = 10*ms
    ...         return {'g': g}
    ...     return build, 10*ms
    >>> df = sweep(factory, {'g.tau': [5*ms, 10*ms]}, read=['g.v'], target='numpy',
    ...            progress=False)
    >>> list(df.columns[:3]), bool(df['error'].isna().all())
    (['g.tau', 'g.v', 'error'], True)
    >>> bool(df['g.v'][0] > df['g.v'][1])
    True
    """
    from .engine import TARGETS

    t_start = time.perf_counter()
    if not callable(network_factory):
        raise TypeError(f"network_factory must be callable, got {type(network_factory).__name__}")
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    if not (measure in ("mean", "final") or callable(measure)):
        raise ValueError(f"measure must be 'mean', 'final' or a callable, got {measure!r}")
    if read is not None:
        read = [read] if isinstance(read, str) else list(read)
        if not read or not all(isinstance(k, str) for k in read):
            raise ValueError(f"read must be a non-empty list of variable names like 'group.var', got {read!r}")
    elif not callable(measure):
        raise ValueError(
            f"measure={measure!r} needs read=[...] (the variables to average or return), "
            "or pass a callable measure(result) -> dict"
        )
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer or -1 (one per CPU), got {n_jobs!r}")
    n_jobs = (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)
    if client is not None and n_jobs != 1:
        raise ValueError("give either client (dask) or n_jobs (local processes), not both")
    if client is not None and not (hasattr(client, "submit") and hasattr(client, "run")):
        raise TypeError(f"client must be a dask.distributed.Client, got {type(client).__name__}")
    if cache_dir is not None and cache_dir != "worker":
        cache_dir = str(Path(cache_dir).expanduser().resolve())

    points = expand_grid(params)
    keys = list(points[0])
    shape_keys = [k for k in keys if not _is_run_key(k)]
    run_keys = [k for k in keys if _is_run_key(k)]
    _check_factory_accepts(network_factory, shape_keys)
    if n_jobs > 1:
        for argname, obj in (("network_factory", network_factory), ("measure", measure)):
            try:
                pickle.dumps(obj)
            except Exception as exc:
                raise TypeError(
                    f"{argname} must be picklable for n_jobs > 1 (a top-level function of an "
                    f"importable module, not a lambda or a nested function): {exc}"
                ) from None

    # Group points by shape; shapes in order of first appearance.
    token = _factory_token(network_factory)
    shapes: dict = {}
    point_shape = []
    for point in points:
        shape = {k: point[k] for k in shape_keys}
        st = _shape_token(shape)
        shapes.setdefault(st, shape)
        point_shape.append(st)
    jobs = {
        st: dict(factory=network_factory, factory_token=token, shape=shape, shape_token=st,
                 target=target, cache_dir=cache_dir, measure=measure, read=read)
        for st, shape in shapes.items()
    }

    if client is not None:
        executor = _Dask(client)
    elif n_jobs > 1:
        executor = _Pool(min(n_jobs, len(points)))
    else:
        executor = _Serial()

    from tqdm.auto import tqdm

    rows: list = [None] * len(points)  # None: not finished
    builds: list = []
    try:
        # 1. one build per shape (in parallel across shapes), then check names once per shape
        described = dict(executor.map_unordered(
            _describe, [(st, (job,)) for st, job in jobs.items()]))
        builds += _check_names(described, run_keys, read)

        # 2. every point: one run of its shape's Simulation
        todo = []
        for i, (point, st) in enumerate(zip(points, point_shape)):
            err = described[st].get("error")
            if err:
                rows[i] = {"error": f"build failed: {err}", "elapsed": np.nan,
                           "binary_time": np.nan, "worker": None, "build": None}
            else:
                todo.append((i, (jobs[st], {k: point[k] for k in run_keys})))
        with tqdm(total=len(points), initial=len(points) - len(todo), disable=not progress,
                  desc="sweep", unit="pt") as bar:
            for i, row in executor.map_unordered(_run_point, todo):
                rows[i] = row
                bar.update(1)
    except KeyboardInterrupt:
        executor.close(abort=True)
        interrupted = True
    except BaseException:
        executor.close(abort=True)
        raise
    else:
        executor.close()
        interrupted = False

    # 3. the table
    df = _table(points, keys, rows, builds, measure, read)
    df.attrs["interrupted"] = interrupted
    df.attrs["total_time"] = time.perf_counter() - t_start
    if interrupted:
        raise SweepInterrupted(df)
    return df
