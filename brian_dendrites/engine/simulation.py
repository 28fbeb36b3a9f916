"""The engine: the one place that talks to Brian2 devices.

:class:`Simulation` compiles a network once and runs it many times with new
parameters, inputs, weights and initial state:

- on ``cpp_standalone`` the network is generated and compiled once per
  *generated code* (a cache directory keyed by a hash of the generated
  sources, reused across Python sessions); every :meth:`Simulation.run`
  executes the binary directly with Brian2's ``run_args`` command-line
  protocol (``group.var=value`` / ``group.var=file``), in its own temporary
  results directory, and reads the result files back. After building, the
  engine resets Brian2 to its runtime device, so several compiled networks
  can live in one Python process and runs can execute in parallel
  processes. A project is compiled in a staging directory with at most one
  compiler per core and renamed into the cache only when complete, with the
  checksum of its binary (checked before every reuse).
- on the runtime targets (``numpy``, ``cython``) the same calls build the
  objects once, ``store()`` their initial state and ``restore()`` it before
  every run, so both paths behave identically (used for debugging and for
  cross-target tests).

Everything a run may change is validated in Python before the run: unknown
names, wrong units, NaN/inf and wrong sizes raise errors (the standalone
binary itself silently ignores a wrong-size array for a synapse variable).

Child processes (the binary, ``make`` and its compilers) run in their own
process group and are killed when a run or build is interrupted
(``KeyboardInterrupt``, or ``SIGTERM``, which the engine turns into
``SystemExit`` while it waits for them if no other handler is installed); on
Linux they also die with the Python process if it is killed outright.
Folders left by killed processes are removed by the next build in the same
cache (and by :func:`prune_cache`).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
from brian2 import (
    BrianPreference,
    DimensionMismatchError,
    Group,
    Network,
    Quantity,
    SpikeMonitor,
    StateMonitor,
    TimedArray,
    defaultclock,
    get_device,
    get_dimensions,
    get_logger,
    have_same_dimensions,
    ms,
    prefs,
    second,
    set_device,
)
from brian2 import seed as brian_seed

from .._brian_compat import (
    PCH_HEADER,
    RESULTS_WANTED_ENV,
    ArrayVariable,
    DynamicArrayVariable,
    FileLock,
    array_filename,
    compile_project,
    declare_vector_math,
    device_run_environment,
    filter_result_writes,
    hoist_run_clock,
    make_command,
    mark_independent_loop,
    reset_device,
    skip_given_static_arrays,
    use_precompiled_header,
)

logger = get_logger(__name__)

__all__ = ["TARGETS", "FLOAT_DTYPES", "Simulation", "RunResult", "default_cache_dir",
           "standalone_command", "cache_info", "prune_cache", "check_float_dtype"]

#: Explicit network name: an automatic one ('network*') would become 'network_2'
#: while other networks are alive, changing the generated code and its hash.
_NETWORK_NAME = "brian_dendrites_network"

#: Brian2 code-generation targets the engine supports.
TARGETS = ("numpy", "cython", "cpp_standalone")

#: Floating-point types a network can be built with (Brian2's
#: ``prefs.core.default_float_dtype``).
FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))

#: Marker of a complete project: the size and sha256 of its binary.
_CHECKSUM_FILE = "brian_dendrites_build.json"
#: Staging directories are ``.build_<pid>_<name>_<random>`` (a project name
#: cannot start with a dot); run directories inside a project are
#: ``run_<pid>_<random>``. The pid tells whether their process is gone.
_STAGING_PREFIX = ".build_"
_RUN_PREFIX = "run_"
#: The command-line argument of a per-run seed (read by the generated code
#: and removed before Brian2 parses ``group.var=value`` arguments).
_SEED_ARG = "--seed="


def _valid_cache_dir(value) -> bool:
    return value is None or (isinstance(value, (str, os.PathLike)) and str(value) != "")


def check_float_dtype(dtype, name="dtype") -> np.dtype:
    """The floating-point type of a network: ``float64`` or ``float32``.

    Parameters
    ----------
    dtype : numpy.float64, numpy.float32, str, numpy.dtype or None
        Anything :class:`numpy.dtype` understands (``np.float32``,
        ``'float32'``, ``'f4'``); ``None``: Brian2's current
        ``prefs.core.default_float_dtype`` (float64 unless changed).
    name : str
        The argument's name, for messages.

    Returns
    -------
    numpy.dtype

    Raises
    ------
    TypeError
        If ``dtype`` is not a data type.
    ValueError
        If it is a data type other than float64 and float32.

    Examples
    --------
    >>> check_float_dtype('float32')
    dtype('float32')
    >>> check_float_dtype('int32')
    Traceback (most recent call last):
        ...
    ValueError: dtype: expected numpy.float64 or numpy.float32 (Brian2's float types), got int32
    """
    if dtype is None:
        return np.dtype(prefs.core.default_float_dtype)
    if isinstance(dtype, bool):
        raise TypeError(f"{name}: expected a floating-point type such as numpy.float32, got {dtype!r}")
    try:
        out = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}: expected a floating-point type such as numpy.float32, got "
                        f"{dtype!r} ({type(dtype).__name__})") from None
    if out not in FLOAT_DTYPES:
        raise ValueError(f"{name}: expected numpy.float64 or numpy.float32 (Brian2's float "
                         f"types), got {out}")
    return out


@contextlib.contextmanager
def _with_float_dtype(dtype):
    """Build (or run) Brian2 objects with ``prefs.core.default_float_dtype = dtype``.

    The preference decides the type of every floating-point state variable
    created, and of the generated code; it is restored on exit.
    """
    old = prefs.core.default_float_dtype
    prefs.core.default_float_dtype = np.dtype(dtype).type
    try:
        yield
    finally:
        prefs.core.default_float_dtype = old


@contextlib.contextmanager
def _with_threads(threads):
    """Generate code with ``prefs.devices.cpp_standalone.openmp_threads`` (0 for one thread)."""
    old = prefs.devices.cpp_standalone.openmp_threads
    prefs.devices.cpp_standalone.openmp_threads = 0 if threads == 1 else int(threads)
    try:
        yield
    finally:
        prefs.devices.cpp_standalone.openmp_threads = old


if "brian_dendrites" not in prefs.pref_register:  # a module reload must not register twice
    prefs.register_preferences(
        "brian_dendrites",
        "Preferences of the brian_dendrites package",
        cache_dir=BrianPreference(
            default=None,
            validator=_valid_cache_dir,
            docs="""
            Directory holding compiled standalone projects (one per generated
            code). ``None`` (default): ``$BRIAN_DENDRITES_CACHE`` if set, else
            ``~/.cache/brian_dendrites``.
            """,
        ),
        precompiled_header=BrianPreference(
            default=True,
            docs="""
            Whether a standalone project parses the headers that all its code
            objects share once (a precompiled header) instead of once per code
            object: the same binary, about 2.5x faster to compile with GCC.
            Set to ``False`` if a compiler mishandles precompiled headers.
            """,
        ),
    )


def default_cache_dir() -> Path:
    """Directory holding compiled standalone projects (one per generated code).

    The Brian preference ``prefs.brian_dendrites.cache_dir`` if set (also
    from a ``brian_preferences`` file), else ``$BRIAN_DENDRITES_CACHE`` if
    set, else ``~/.cache/brian_dendrites``. ``~`` is expanded and a relative
    path is made absolute (against the current working directory).

    Returns
    -------
    Path

    Examples
    --------
    >>> from brian2 import prefs
    >>> old = prefs.brian_dendrites.cache_dir
    >>> prefs.brian_dendrites.cache_dir = '/tmp/my_cache'
    >>> str(default_cache_dir())
    '/tmp/my_cache'
    >>> prefs.brian_dendrites.cache_dir = old
    """
    pref = prefs["brian_dendrites.cache_dir"]
    if pref is None:
        pref = os.environ.get("BRIAN_DENDRITES_CACHE") or Path.home() / ".cache" / "brian_dendrites"
    return _absolute(pref)


def _absolute(path) -> Path:
    return Path(path).expanduser().resolve()


def _binary_name() -> str:
    return "main.exe" if os.name == "nt" else "main"


def standalone_command(project_dir, run_args=()) -> tuple:
    """Command line and environment for running a compiled standalone binary.

    Built from Brian's own preferences, as Brian's ``CPPStandaloneDevice.run``
    does: ``devices.cpp_standalone.run_cmd_unix`` (a string or a list, run in
    the project directory; ``'./main'`` by default) or, on Windows, the
    binary itself (or ``devices.cpp_standalone.run_cmd_windows`` where a
    Brian2 version defines it); then the run arguments. The environment is
    this process's plus ``devices.cpp_standalone.run_environment_variables``
    plus the device's own additions (``DYLD_LIBRARY_PATH`` on macOS).

    Parameters
    ----------
    project_dir : path
        The compiled project (holding the binary ``main``).
    run_args : sequence of str
        Arguments after the command (``--results_dir DIR``, ``group.var=value``).

    Returns
    -------
    cmd : list of str
    env : dict of str -> str

    Examples
    --------
    >>> from brian2 import prefs
    >>> cmd, env = standalone_command('/tmp/project', ['--results_dir', 'out/'])
    >>> cmd == [prefs.devices.cpp_standalone.run_cmd_unix, '--results_dir', 'out/']
    True
    """
    if isinstance(run_args, (str, bytes)):
        raise TypeError(f"run_args must be a sequence of strings, got {run_args!r}")
    run_args = [str(a) for a in run_args]
    if os.name == "nt":
        run_cmd = prefs.get("devices.cpp_standalone.run_cmd_windows", None)
        if run_cmd is None:
            run_cmd = [str(Path(project_dir) / _binary_name())]
    else:
        run_cmd = prefs["devices.cpp_standalone.run_cmd_unix"]
    cmd = [run_cmd] if isinstance(run_cmd, str) else [str(c) for c in run_cmd]
    env = dict(os.environ)
    for key, value in {**prefs["devices.cpp_standalone.run_environment_variables"],
                       **device_run_environment()}.items():
        env[str(key)] = str(value)
    return cmd + run_args, env


@dataclass
class _VarInfo:
    """What the engine knows about one settable/readable array variable."""

    key: str  # "owner.var"
    dim: object
    dtype: np.dtype
    size: object  # int, or tuple for 2-D monitor arrays
    dynamic: bool
    read_only: bool
    filename: str = ""  # standalone result file name
    scalar: bool = False
    constant: bool = False


class RunResult(Mapping):
    """Final values of a run: ``'owner.var'`` -> array (SI values, no units).

    Monitor arrays appear under their monitor's name, e.g. ``'mon.t'`` and
    ``'mon.v'`` (shape ``(n_recorded, n_steps)`` as in Brian2's ``mon.v``).
    Use :meth:`quantity` for values with units.
    """

    def __init__(self, values: dict, dims: dict, wall_time: float, peak_memory: int | None = None):
        self._values = values
        self._dims = dims
        #: Wall-clock seconds the run took (for standalone: the binary only).
        self.wall_time = wall_time
        #: Peak resident memory of the standalone binary in bytes, as the
        #: binary read it from ``/proc/self/status`` (``VmHWM``) before it
        #: exited; ``None`` on runtime targets and where ``/proc`` is missing.
        #: (``getrusage`` of a child started by a large Python process
        #: reports the parent's size at ``fork``, not the binary's.)
        self.peak_memory = peak_memory

    def __getitem__(self, key):
        try:
            return self._values[key]
        except KeyError:
            raise KeyError(
                f"run result has no {key!r}; available: {', '.join(sorted(self._values))}"
            ) from None

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def quantity(self, key) -> Quantity:
        """Value of ``key`` with its Brian2 units."""
        return Quantity(self[key], dim=self._dims[key])


def _as_objects(built) -> dict:
    if isinstance(built, Mapping):
        objs = dict(built)
    elif hasattr(built, "objects") and isinstance(built.objects, Mapping):  # a Circuit
        objs = dict(built.objects)
    else:
        raise TypeError(
            "build must return a mapping name -> Brian2 object (or an object with an "
            f"'objects' mapping), got {type(built).__name__}"
        )
    if not objs:
        raise ValueError("build returned no objects")
    return objs


class Simulation:
    r"""Compile a network once, then run it many times through ``run_args``.

    Parameters
    ----------
    build : callable
        ``build() -> dict`` of Brian2 objects (groups, synapses, monitors,
        ``TimedArray`` inputs), each with a fixed ``name``. It is called once
        inside the chosen device; it must be pure (no global state).
    duration : Quantity
        Simulated time of every run (fixed at build time on
        ``cpp_standalone``).
    target : {'numpy', 'cython', 'cpp_standalone'}
        Brian2 code-generation target.
    dt : Quantity
        Simulation time step (``defaultclock.dt`` for this network).
    seed : int, optional
        Random seed (``0 <= seed < 2**32``), the default of every run: on
        runtime targets it is applied before every run; on ``cpp_standalone``
        it is compiled in (also seeding random initial values). Every
        :meth:`run` without its own ``seed`` therefore draws the same random
        numbers; give each run its own ``seed`` for independent noise.
    cache_dir : path, optional
        Where standalone projects are compiled and kept
        (:func:`default_cache_dir` by default; ``~`` and relative paths are
        resolved when the simulation is created).
    name : str
        Label used in cache directory names and messages.
    dense : bool
        On ``cpp_standalone``, run all-to-all projections made with
        :func:`~brian_dendrites.dense.connect_dense` (``make_synapses(...,
        connect=True)``) with the dense code path (same results, BLAS speed);
        anything else keeps Brian2's stock code. The names of the switched
        synapses are in :attr:`dense_synapses`.
    dtype : {numpy.float64, numpy.float32}, optional
        Floating-point type of every state variable, weight and monitor
        array, and of the generated code: Brian2's
        ``prefs.core.default_float_dtype``, set for this network's build
        and runs only (``None``: the preference's current value, float64
        unless changed). float32 halves the memory traffic of large
        plastic projections (the 784-500-500-10 microcircuit ran 4x faster
        than in float64, benchmarks/bench_microcircuit.py); results follow
        the same equations rounded to float32 (on the microcircuit, 1e-6
        from float64 after 200 steps). The two are separate binaries in
        the cache. Run values are converted to this type (a value outside
        float32's range is an error); ``TimedArray`` inputs and clocks stay
        float64 (Brian2 stores them so).
    threads : int
        OpenMP threads of the compiled binary (``cpp_standalone`` only;
        Brian2's ``devices.cpp_standalone.openmp_threads``, set for this
        build). 1 (default): no OpenMP. With more, Brian2's templates split
        their element loops over threads, and the dense templates split
        every weight update over presynaptic rows and every summed input
        onto postsynaptic targets over target elements, each element
        receiving its terms in the same order as with one thread, so the
        dense projections are bit-identical to one thread. Elsewhere
        results agree to rounding (GCC compiles Brian2's own code with
        ``-ffast-math`` and may round an element differently in the OpenMP
        build) and random numbers differ (Brian2 gives each thread its own
        generator). Each thread count is its own binary in the cache. Every
        parallel loop costs a fork/join per time step: on small networks,
        and where two cores share the memory bandwidth, two threads were
        slower than one (docs/benchmarks.md, benchmark 1).

    Examples
    --------
    >>> from brian2 import NeuronGroup, ms
    >>> def build():
    ...     g = NeuronGroup(2, 'dv/dt = (I - v)/tau : 1\nI : 1 (constant)\n'
    ...                        'tau : second (shared, constant)', name='g')
    ...     g.tau = 10*ms
    ...     return {'g': g}
    >>> sim = Simulation(build, duration=50*ms, target='numpy')
    >>> res = sim.run({'g.I': [1.0, 2.0]})
    >>> bool(abs(res['g.v'][1] - 2*(1 - 2.718281828**-5)) < 1e-2)
    True
    """

    def __init__(
        self,
        build: Callable[[], Mapping],
        duration,
        target: str = "cpp_standalone",
        dt=0.1 * ms,
        seed: int | None = None,
        cache_dir=None,
        name: str = "sim",
        dense: bool = True,
        dtype=None,
        threads: int = 1,
    ):
        if not callable(build):
            raise TypeError(f"build must be callable, got {type(build).__name__}")
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        for argname, val in (("duration", duration), ("dt", dt)):
            if not isinstance(val, Quantity) or not have_same_dimensions(val, second):
                raise DimensionMismatchError(
                    f"{argname} must be a time (e.g. 100*ms), got {val!r}",
                    get_dimensions(val), second.dim,
                )
            if not np.isfinite(float(val)) or float(val) <= 0:
                raise ValueError(f"{argname} must be a positive, finite time, got {val!r}")
        if float(duration) < float(dt):
            raise ValueError(f"duration ({duration}) must be at least one time step dt ({dt})")
        _check_seed(seed, "seed")
        if not isinstance(name, str) or not name.replace("_", "").isalnum():
            raise ValueError(f"name must be alphanumeric (underscores allowed), got {name!r}")
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
            raise ValueError(f"threads must be a positive integer (OpenMP threads), got {threads!r}")
        if threads > 1 and target != "cpp_standalone":
            raise ValueError(f"threads={threads} needs target='cpp_standalone' (Brian2 runs the "
                             f"{target!r} target in one thread), got target={target!r}")
        self.target = target
        self.duration = duration
        self.dt = dt
        self.seed = seed
        #: OpenMP threads of the binary (1: no OpenMP).
        self.threads = int(threads)
        self.name = name
        self.dense = bool(dense)
        #: The floating-point type of the network (a ``numpy.dtype``).
        self.dtype = check_float_dtype(dtype)
        self.dense_synapses: list = []
        self.n_steps = int(round(float(duration) / float(dt)))
        if not _valid_cache_dir(cache_dir):
            raise TypeError(f"cache_dir must be a path or None, got {cache_dir!r}")
        self.cache_dir = _absolute(cache_dir) if cache_dir is not None else default_cache_dir()
        self.build_time = 0.0
        self.project_dir: Path | None = None
        self._vars: dict[str, _VarInfo] = {}
        self._timed: dict[str, tuple] = {}  # name -> (shape, dtype, dim)
        self._params: dict = {}  # 'group.param' -> spec.Param (bounds checked per run)
        self._build_fn = build
        if target == "cpp_standalone":
            self._build_standalone(build)
        else:
            self._build_runtime(build)

    # ------------------------------------------------------------------ build
    def _collect(self, objects):
        """Record every array variable of the groups and monitors."""
        for obj in objects.values():
            if isinstance(obj, TimedArray):
                self._timed[obj.name] = (obj.values.shape, obj.values.dtype,
                                         get_dimensions(obj.values) if isinstance(obj.values, Quantity) else obj.dim)
                continue
            if not isinstance(obj, (Group, StateMonitor, SpikeMonitor)):
                continue
            for pname, param in getattr(obj, "_model_params", {}).items():
                self._params[f"{obj.name}.{pname}"] = param
            for vname, var in obj.variables.items():
                if not isinstance(var, ArrayVariable) or vname.startswith("_"):
                    continue
                if var.owner is None or var.owner.name != obj.name:
                    continue
                key = f"{obj.name}.{vname}"
                size = var.size
                self._vars[key] = _VarInfo(
                    key=key,
                    dim=var.dim,
                    dtype=np.dtype(var.dtype),
                    size=size,
                    dynamic=isinstance(var, DynamicArrayVariable),
                    read_only=bool(var.read_only) or isinstance(obj, (StateMonitor, SpikeMonitor)),
                    scalar=bool(var.scalar),
                    constant=bool(var.constant),
                )

    def _build_runtime(self, build):
        t0 = time.perf_counter()
        with self._runtime_context():
            objs = _as_objects(build())
            self._objects = objs
            self._net = Network([o for o in objs.values() if not isinstance(o, TimedArray)],
                                name=_NETWORK_NAME)
            from ..dense import batched_objects

            batched = batched_objects(self._net)
            if batched:
                for obj in self._net.objects:  # refused, not forgotten: no Brian2 warning
                    obj._network = "refused"
                raise ValueError(
                    f"target={self.target!r}: the network is batched (batch_size > 1: "
                    f"{', '.join(batched[:4])}{'...' if len(batched) > 4 else ''}); only "
                    "target='cpp_standalone' with dense=True computes batched projections")
            self._net.store("initial")
            self._timed_initial = {
                k: np.array(o.values, copy=True)
                for k, o in objs.items()
                if isinstance(o, TimedArray)
            }
            self._collect(objs)
        self.build_time = time.perf_counter() - t0

    @contextlib.contextmanager
    def _runtime_context(self):
        old_target = prefs.codegen.target
        old_dt = defaultclock.dt
        prefs.codegen.target = self.target
        defaultclock.dt = self.dt
        try:
            with _with_float_dtype(self.dtype):
                yield
        finally:
            prefs.codegen.target = old_target
            defaultclock.dt = old_dt

    def _build_standalone(self, build):
        t0 = time.perf_counter()
        with _terminate_as_exit(), _with_float_dtype(self.dtype), _with_threads(self.threads):
            self._generate_and_install(build)
        if not _binary_ok(self.project_dir):
            raise RuntimeError(f"compilation failed in {self.project_dir}")
        self._calibrate_sizes()
        self.build_time = time.perf_counter() - t0

    def _generate_and_install(self, build):
        """Generate the project, then reuse or compile it in the cache."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(self.cache_dir)
        staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{os.getpid()}_{self.name}_",
                                        dir=self.cache_dir))
        old_dt = defaultclock.dt
        try:
            set_device("cpp_standalone", directory=str(staging), build_on_run=False)
            device = get_device()
            device.reinit()
            device.activate(directory=str(staging), build_on_run=False)
            # Brian2 makes object names unique against every object still alive:
            # leftovers of an earlier build would rename code objects (suffix _1)
            # and change the generated code's hash, forcing a needless recompile.
            import gc

            gc.collect()
            defaultclock.dt = self.dt
            if self.seed is not None:
                brian_seed(int(self.seed))
            # a per-run seed, if given, reseeds right before the network runs
            # (where the runtime targets call seed(); initial values keep the
            # construction seed)
            device.insert_code("before_network_run", _seed_code())
            if _DIE_WITH_PARENT_HEADERS:
                device.insert_code("before_start", _DIE_WITH_PARENT)
            device.insert_code("after_end", _PEAK_MEMORY_CODE)
            objs = _as_objects(build())
            net = Network([o for o in objs.values() if not isinstance(o, TimedArray)],
                          name=_NETWORK_NAME)
            from ..dense import apply_dense, batched_objects

            if self.dense:
                self.dense_synapses = apply_dense(net)
            elif batched_objects(net):
                raise ValueError("dense=False: the network is batched (batch_size > 1); only "
                                 "the dense code path computes batched projections")
            net.run(self.duration, namespace=_namespace(objs))
            old_headers = prefs["codegen.cpp.headers"]
            prefs["codegen.cpp.headers"] = list(old_headers) + _DIE_WITH_PARENT_HEADERS
            try:
                device.build(directory=str(staging), compile=False, run=False, with_output=False)
            finally:
                prefs["codegen.cpp.headers"] = old_headers
            _hoist_run_clock(staging)
            _filter_result_writes(staging)
            _skip_given_static_arrays(staging)
            _mark_independent_loops(staging)
            self._collect(objs)
            for info in self._vars.values():
                owner = objs[info.key.split(".", 1)[0]]
                var = owner.variables[info.key.split(".", 1)[1]]
                info.filename = array_filename(device, var)
            # float32 code differs anyway (its arrays are 'float'); naming the
            # type makes the difference explicit, and float64 keeps its old key
            digest = _hash_project(staging, "" if self.dtype == np.float64 else
                                   f"dtype={self.dtype.name}", _clock_aliases(objs.values(), device))
            final = self.cache_dir / f"{self.name}_{digest[:16]}"
            with FileLock(str(final) + ".lock"):
                if _binary_ok(final, checksum=True):
                    logger.debug(f"reusing compiled standalone project {final}")
                    _touch(final)
                else:
                    if final.exists():
                        logger.warn(f"cached project {final} is incomplete or its binary does "
                                    "not match its checksum: compiling it again",
                                    name_suffix="corrupt")
                        shutil.rmtree(final)
                    _compile(device, staging)
                    _write_checksum(staging)
                    os.replace(staging, final)  # a project counts as built only when complete
                    logger.info(f"compiled standalone project {final}")
            self.project_dir = final
        finally:
            defaultclock.dt = old_dt
            shutil.rmtree(staging, ignore_errors=True)
            device = get_device()
            device.reinit()
            reset_device("runtime")

    def _calibrate_sizes(self):
        """Learn the sizes of synapse arrays, which exist only inside the binary.

        Synapses are created when the binary runs, so their number is unknown
        at build time; one run without arguments reveals it. Every later
        ``run`` checks array sizes against it (the binary itself would
        silently ignore a wrong-size file for a dynamic array).
        """
        dynamic = [k for k, v in self._vars.items()
                   if v.dynamic and not v.read_only and not isinstance(v.size, tuple)]
        if not dynamic:
            return
        res = self._run_standalone({}, dynamic)
        for key in dynamic:
            self._vars[key].size = int(res[key].size)

    # ------------------------------------------------------------ run inputs
    @property
    def variables(self) -> list:
        """Names of all variables (``'owner.var'``) a run reads or may set."""
        return sorted(self._vars) + sorted(f"{k}.values" for k in self._timed)

    @property
    def state_variables(self) -> list:
        """Settable variables that change during a run (not parameters).

        Passing ``{k: result[k] for k in sim.state_variables}`` to the next
        :meth:`run` continues a simulation where the last one ended (weights,
        traces, potentials): chained runs equal one long run.
        """
        return sorted(k for k, v in self._vars.items()
                      if not v.read_only and not v.constant and not k.endswith(".lastspike"))

    def _unknown(self, key):
        import difflib

        names = self.variables
        close = difflib.get_close_matches(str(key), names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return f"unknown variable {key!r}.{hint} Settable: {', '.join(n for n in names if n in self._settable())}"

    @property
    def settable_variables(self) -> list:
        """Names a run may set: parameters, state, weights, ``timedarray.values``."""
        return sorted(self._settable())

    def _settable(self):
        out = {k for k, v in self._vars.items() if not v.read_only}
        out |= {f"{k}.values" for k in self._timed}
        return out

    def check_values(self, values: Mapping) -> dict:
        """Validate values for a run; return ``key -> numpy array`` (SI units).

        Keys are ``'group.var'`` or ``'timedarray.values'``. A scalar applies
        to every element; an array must have exactly the variable's size.
        """
        if values is None:
            return {}
        if not isinstance(values, Mapping):
            raise TypeError(f"values must be a mapping 'group.var' -> value, got {type(values).__name__}")
        out = {}
        for key, val in values.items():
            if not isinstance(key, str):
                raise TypeError(f"values: keys must be strings like 'group.var', got {key!r}")
            if key.endswith(".values") and key[: -len(".values")] in self._timed:
                shape, dtype, dim = self._timed[key[: -len(".values")]]
                expected_size = shape
            elif key in self._vars:
                info = self._vars[key]
                if info.read_only:
                    raise ValueError(f"values: {key!r} is read-only (a monitor or internal variable)")
                dim, dtype = info.dim, info.dtype
                expected_size = None if info.scalar else info.size
            else:
                raise KeyError(self._unknown(key))
            if not have_same_dimensions(val, Quantity(1, dim=dim)):
                raise DimensionMismatchError(
                    f"values[{key!r}] has wrong units: expected {Quantity(1, dim=dim).dim!r}, got {val!r}",
                    get_dimensions(val), dim,
                )
            if type(val) is np.ndarray and val.dtype == dtype:
                arr = val  # already the variable's type (e.g. float32 weights): no copies
            else:
                arr = np.asarray(val, dtype=float)
            if arr.size == 0:
                raise ValueError(f"values[{key!r}] is empty")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"values[{key!r}] contains NaN or infinite values")
            if arr.ndim != 0 and arr.size != 1:
                if isinstance(expected_size, tuple):
                    if arr.shape != expected_size:
                        raise ValueError(
                            f"values[{key!r}] must have shape {expected_size}, got {arr.shape}"
                        )
                elif expected_size is None:
                    raise ValueError(f"values[{key!r}] is a shared variable: give one value, got shape {arr.shape}")
                elif arr.ndim != 1 or arr.size != expected_size:
                    raise ValueError(
                        f"values[{key!r}] must be a scalar or have {expected_size} elements "
                        f"(one per element of {key.split('.')[0]}), got shape {arr.shape}"
                    )
            param = self._params.get(key)
            if param is not None:
                param.check(Quantity(arr, dim=dim), owner=f"values[{key!r}]")
            with np.errstate(over="ignore"):
                converted = arr.astype(dtype, copy=False)
            if converted is not arr and converted.dtype.kind == "f" and not np.all(np.isfinite(converted)):
                raise ValueError(f"values[{key!r}] is outside the range of {converted.dtype} "
                                 f"(largest magnitude {np.finfo(converted.dtype).max:.3g}), "
                                 "the network's float type")
            out[key] = converted
        return out

    # ------------------------------------------------------------------ runs
    def run(self, values: Mapping | None = None, read=None, seed=None) -> RunResult:
        """Run the network once from its initial state with new values.

        Parameters
        ----------
        values : mapping, optional
            ``'group.var'`` (parameters, weights, initial state) or
            ``'timedarray.values'`` -> value (Quantity, array or number).
        read : iterable of str, optional
            Which variables to return (default: all).
        seed : int, optional
            Seed of this run's random numbers (noise, Poisson spikes),
            ``0 <= seed < 2**32``: the same seed gives bit-identical results,
            and ``numpy`` and ``cpp_standalone`` draw the same numbers for it.
            Applied right before the network runs (random initial values
            keep the construction seed). ``None`` (default): the
            construction ``seed``, i.e. the same numbers in every run (or
            fresh ones if that is ``None`` too).

        Returns
        -------
        RunResult
        """
        _check_seed(seed, "seed")
        checked = self.check_values(values)
        keys = self._read_keys(read)
        if self.target == "cpp_standalone":
            if not _binary_ok(self.project_dir):
                logger.warn(f"the compiled project {self.project_dir} is gone: building it again",
                            name_suffix="rebuild")
                self._build_standalone(self._build_fn)
            return self._run_standalone(checked, keys, seed)
        return self._run_runtime(checked, keys, seed)

    def _read_keys(self, read):
        if read is None:
            return sorted(self._vars)
        keys = [read] if isinstance(read, str) else list(read)
        for k in keys:
            if k not in self._vars:
                raise KeyError(self._unknown(k))
        return keys

    def _run_runtime(self, checked, keys, seed=None):
        with self._runtime_context():
            self._net.restore("initial")
            for name, initial in self._timed_initial.items():
                self._objects[name].values[:] = initial
            for key, arr in checked.items():
                owner, var = key.split(".", 1)
                obj = self._objects[owner]
                if isinstance(obj, TimedArray):
                    obj.values[:] = arr
                else:
                    view = obj.variables[var].get_addressable_value(var, obj)
                    view.set_item(slice(None), arr if arr.size > 1 else arr.item(), level=1)
            seed = self.seed if seed is None else seed
            if seed is not None:
                brian_seed(int(seed))
            t0 = time.perf_counter()
            # Brian2's check for invalid states compares float32 arrays with 1e50
            # (an overflowing cast, harmless): no warning for it
            with np.errstate(over="ignore"):
                self._net.run(self.duration, namespace=_namespace(self._objects))
            wall = time.perf_counter() - t0
            out = {}
            for key in keys:
                owner, var = key.split(".", 1)
                obj = self._objects[owner]
                data = np.array(obj.variables[var].get_value(), copy=True)
                if data.ndim == 2:  # monitor arrays as Brian2 shows them: (n_recorded, n_steps)
                    data = data.T.copy()
                out[key] = data
        return RunResult(out, {k: self._vars[k].dim for k in keys}, wall)

    def _run_standalone(self, checked, keys, seed=None):
        with _terminate_as_exit():
            return self._run_binary(checked, keys, seed)

    def _run_binary(self, checked, keys, seed):
        rundir = Path(tempfile.mkdtemp(prefix=f"{_RUN_PREFIX}{os.getpid()}_", dir=self.project_dir))
        try:
            args = ["--results_dir", str(rundir / "results") + os.sep]
            if seed is not None:
                args.append(f"{_SEED_ARG}{int(seed)}")
            (rundir / "results").mkdir()
            for key, arr in checked.items():
                if arr.size == 1:
                    args.append(f"{key}={arr.item()!r}")
                else:
                    fname = rundir / f"{key}.dat"
                    np.ascontiguousarray(arr).tofile(fname)
                    args.append(f"{key}={fname}")
            wanted = rundir / "results_wanted.txt"
            wanted.write_text("".join(f"{self._vars[key].filename}\n" for key in keys))
            t0 = time.perf_counter()
            cmd, env = standalone_command(self.project_dir, args)
            env[RESULTS_WANTED_ENV] = str(wanted)
            returncode, stdout, stderr = _run_child(cmd, self.project_dir, env)
            wall = time.perf_counter() - t0
            _touch(self.project_dir)
            # Failure is the exit code alone (as in Brian2): messages on stderr
            # are not errors by themselves.
            if returncode != 0:
                raise RuntimeError(
                    f"standalone run failed (exit {returncode}) in {self.project_dir}:\n"
                    f"{stdout[-2000:]}\n{stderr[-2000:]}"
                )
            if stderr.strip():
                logger.warn(f"standalone run in {self.project_dir} wrote to stderr (exit 0):\n"
                            f"{stderr[-2000:]}", name_suffix="stderr")
            peak = _PEAK_MEMORY_LINE.search(stdout)
            out = {}
            for key in keys:
                info = self._vars[key]
                data = np.fromfile(rundir / "results" / info.filename, dtype=info.dtype)
                if isinstance(info.size, tuple) and len(info.size) == 2:
                    n_cols = info.size[1]
                    data = data.reshape((-1, n_cols)) if n_cols else data.reshape((0, 0))
                    # Brian2 exposes monitor arrays as (n_recorded, n_steps)
                    data = data.T.copy()
                out[key] = data
        finally:
            shutil.rmtree(rundir, ignore_errors=True)
        return RunResult(out, {k: self._vars[k].dim for k in keys}, wall,
                         peak_memory=1024 * int(peak[1]) if peak else None)


def _patch_generated(directory: Path, filename: str, patch, unchanged: str):
    """Apply ``patch`` (text -> text or ``None``) to a generated file; log ``unchanged`` if ``None``."""
    path = Path(directory) / filename
    try:
        source = path.read_text()
    except OSError:  # pragma: no cover - Brian2 always writes these files
        return
    patched = patch(source)
    if patched is None:
        logger.debug(f"{filename}: {unchanged}")
        return
    path.write_text(patched)


def _hoist_run_clock(directory: Path):
    """Read the CPU clock once per run, not once per step (see `hoist_run_clock`).

    On the 30-50-10 microcircuit (~10 us per step) the per-step system call
    took 10-25 % of the run time (benchmarks/bench_fig2.py).
    """
    _patch_generated(directory, "network.cpp", hoist_run_clock,
                     "the time-step loop has an unexpected form; the CPU clock is read after "
                     "every step, as Brian2 wrote it")


def _filter_result_writes(directory: Path):
    """Let every run write only the result files it is asked for (see `filter_result_writes`).

    On 784-500-500-10 every run wrote 35 MB of synapse indices, counts and
    parameters the engine never reads; a run's fixed cost fell from 0.22 to
    0.13 s (docs/benchmarks.md, benchmark 2).
    """
    _patch_generated(directory, "objects.cpp", filter_result_writes,
                     "no result write of the expected form; every run writes all arrays, as "
                     "Brian2 does")


def _skip_given_static_arrays(directory: Path):
    """Let a run skip the static initial values of the variables it sets (see `skip_given_static_arrays`).

    The engine passes every carried weight and state variable on each run's
    command line; the binary read them from their static files first. On the
    MNIST-sized DGN that was ~200 MB per run (benchmarks/bench_dgn.py).
    """
    directory = Path(directory)
    try:
        main = (directory / "main.cpp").read_text()
        objects = (directory / "objects.cpp").read_text()
        header = (directory / "objects.h").read_text()
        codes = {p.stem: p.read_text() for p in (directory / "code_objects").glob("*.cpp")}
    except OSError:  # pragma: no cover - Brian2 always writes these files
        return
    patched = skip_given_static_arrays(main, objects, header, codes)
    if patched is None:
        logger.debug("no static array can be skipped: every run reads them all, as Brian2 does")
        return
    new_main, new_objects, new_header, skipped = patched
    (directory / "main.cpp").write_text(new_main)
    (directory / "objects.cpp").write_text(new_objects)
    (directory / "objects.h").write_text(new_header)
    logger.debug(f"runs that set them skip the static values of {sorted(skipped.values())}")


def _mark_independent_loops(directory: Path):
    """Let the compiler vectorise element loops that carry no dependency (see `mark_independent_loop`).

    On 1000 five-compartment cells (benchmarks/bench_cells.py) the state
    update was 2.1-2.3x faster vectorised; loops with random numbers or
    scattered writes stay as Brian2 wrote them. A marked loop's maths
    functions get glibc's SIMD variants declared (see `declare_vector_math`;
    the DFC soma's ``tanh``).
    """
    marked = simd = 0
    for path in sorted((Path(directory) / "code_objects").glob("*.cpp")):
        source = path.read_text()
        patched = mark_independent_loop(source)
        if patched is not None:
            marked += 1
            # its maths calls may use glibc's vector functions (see declare_vector_math)
            vector = declare_vector_math(patched)
            if vector is not None:
                patched, simd = vector, simd + 1
            path.write_text(patched)
    logger.debug(f"marked {marked} element loops as free of loop-carried dependencies "
                 f"({simd} with glibc's SIMD maths functions declared)")


#: Brian2's uniqueness suffix of a code-object name, also when a word character
#: follows (``syn_stateupdater_codeobject_1_before``).
_CODEOBJECT_SUFFIX = re.compile(rb"(_codeobject)_\d+(?!\d)")


def _clock_aliases(objects, device) -> dict:
    """Names to hash in place of those of the clocks of objects with their own ``dt``.

    An object with its own ``dt`` (e.g. a monitor sampling once per pattern)
    gets a clock named ``<object>_clock``, suffixed (``<object>_clock_2``)
    when a clock of that name is still alive elsewhere in the process
    (another session of the same circuit); the suffix also changes the
    checksums in the names of the clock's result files. No run argument or
    result the engine reads depends on them.

    Returns
    -------
    dict of str -> str
        Each such clock's result file names -> a placeholder without the
        suffix and checksum, and a suffixed clock name -> ``<object>_clock``.
    """
    out, seen, stack = {}, set(), list(objects)
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        stack.extend(getattr(obj, "contained_objects", None) or [])
        name, clock = getattr(obj, "name", None), getattr(obj, "clock", None)
        clock_name = getattr(clock, "name", None)
        if not (isinstance(name, str) and isinstance(clock_name, str)
                and re.fullmatch(re.escape(name) + r"_clock(_\d+)?", clock_name)):
            continue
        base = f"{name}_clock"
        for var in clock.variables.values():
            if isinstance(var, ArrayVariable):
                filename = array_filename(device, var)
                stem = filename.rsplit("_", 1)[0]
                out[filename] = re.sub(re.escape(clock_name) + r"(?!\d)", base, stem) + "_crc"
        if clock_name != base:
            out[clock_name] = base
    return out


def _namespace(objects) -> dict:
    """The run namespace: the build's TimedArrays, nothing else (no globals)."""
    return {o.name: o for o in objects.values() if isinstance(o, TimedArray)}


def _hash_project(directory: Path, extra: str = "", renamed: Mapping | None = None) -> str:
    """Hash of the generated sources and static data of a standalone project.

    Brian2 writes the initialisation of its clocks in ``main.cpp`` in an
    order that varies between Python sessions (it iterates over a set of
    clocks). Those lines (``_array_<clock>_{dt,t,timestep}[0] = ...;``) are
    hashed sorted, so an unchanged network is recognised in a new session;
    every other line is hashed in order. Brian2 also suffixes the names of
    code objects (``..._codeobject_1``) when an object of the same name is
    still alive elsewhere in the process; those suffixes are internal (no
    run argument or result file depends on them) and are removed before
    hashing wherever they occur, also inside longer names such as the
    include guards ``_INCLUDED_..._codeobject_1_before`` of the dense
    templates, so a worker process and the main process share one binary.
    The same holds for the clocks of objects with their own ``dt``:
    ``renamed`` (from :func:`_clock_aliases`, e.g. ``{'out_mon_clock_2':
    'out_mon_clock', ...}``) gives the names hashed in their place.
    ``extra`` (e.g. ``'dtype=float32'``) is hashed first.
    """
    import brian2

    clock_line = re.compile(r"^\s*_array_\w*clock\w*_(dt|t|timestep)\[0\] = .*;\s*$")
    renamed = {k.encode(): v.encode() for k, v in (renamed or {}).items()}
    clocks_re = (re.compile(b"(" + b"|".join(re.escape(k) for k in sorted(renamed, key=len,
                                                                         reverse=True))
                            + rb")(?!\d)") if renamed else None)

    def normalise(data: bytes) -> bytes:
        data = _CODEOBJECT_SUFFIX.sub(rb"\1", data)
        return clocks_re.sub(lambda m: renamed[m.group(1)], data) if clocks_re else data

    h = hashlib.sha256()
    h.update(brian2.__version__.encode())
    h.update(extra.encode())

    def key(path):
        return normalise(str(path.relative_to(directory)).encode())

    for path in sorted(directory.rglob("*"), key=key):
        if not path.is_file() or "results" in path.relative_to(directory).parts:
            continue
        if path.suffix not in {".cpp", ".h", ".txt", ".dat", ""} and path.name != "makefile":
            continue
        h.update(key(path))
        data = normalise(path.read_bytes())
        if path.name == "main.cpp":
            lines = data.decode().splitlines()
            clocks = sorted(line.strip() for line in lines if clock_line.match(line))
            rest = [line for line in lines if not clock_line.match(line)]
            data = "\n".join(rest + ["# clocks"] + clocks).encode()
        h.update(data)
    return h.hexdigest()


# ----------------------------------------------------------------- seeds
def _check_seed(seed, argname):
    """Seeds are ``None`` or ``0 <= seed < 2**32`` (NumPy's and Brian's range)."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"{argname} must be an integer with 0 <= {argname} < 2**32, or None, "
                         f"got {seed!r}")


def _seed_code() -> str:
    """C++ run before the network: reseed from a ``--seed=N`` argument, if any.

    The argument is removed before Brian2 reads ``group.var=value`` arguments.
    Each thread's generator gets ``N + thread``, as Brian2's own ``seed(N)``.
    """
    threads = max(1, int(prefs.devices.cpp_standalone.openmp_threads))
    return f"""\
// brian_dendrites: per-run seed
for (size_t _bd_k = 0; _bd_k < args.size(); _bd_k++)
{{
    if (args[_bd_k].compare(0, {len(_SEED_ARG)}, "{_SEED_ARG}") == 0)
    {{
        const unsigned long _bd_seed = std::stoul(args[_bd_k].substr({len(_SEED_ARG)}));
        for (int _i = 0; _i < {threads}; _i++)
            brian::_random_generators[_i].seed(_bd_seed + _i);
        args.erase(args.begin() + _bd_k);
        break;
    }}
}}"""


# ------------------------------------------------------- peak memory
#: C++ run after ``brian_end()``: print the binary's peak resident size
#: (``VmHWM``, kB) where ``/proc/self/status`` exists; nothing elsewhere.
_PEAK_MEMORY_CODE = """\
// brian_dendrites: report the peak resident memory of this run
{
    std::ifstream _bd_status("/proc/self/status");
    std::string _bd_line;
    while (std::getline(_bd_status, _bd_line))
        if (_bd_line.compare(0, 6, "VmHWM:") == 0)
            std::cout << "brian_dendrites peak memory " << _bd_line.substr(6) << std::endl;
}"""
_PEAK_MEMORY_LINE = re.compile(r"^brian_dendrites peak memory\s+(\d+)\s*kB\s*$", re.M)


# ------------------------------------------------------- child processes
_PR_SET_PDEATHSIG = 1
#: On Linux the binary asks the kernel to kill it when the Python process that
#: started it dies (even by SIGKILL). Done inside the binary rather than in a
#: ``preexec_fn``, which would make every run fork the whole Python process
#: (4x slower process start, measured).
_DIE_WITH_PARENT_HEADERS = ["<sys/prctl.h>", "<csignal>"] if sys.platform.startswith("linux") else []
_DIE_WITH_PARENT = ("// brian_dendrites: die with the process that started this run\n"
                    "prctl(PR_SET_PDEATHSIG, SIGKILL);")
try:
    import ctypes

    _LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except (ImportError, OSError):  # pragma: no cover - no libc to load
    _LIBC = None


def _child_setup(death_signal):
    """``preexec_fn``: own process group; on Linux, die with the parent."""
    if os.name != "posix" or death_signal is None:
        return None
    parent = os.getpid()

    def setup():
        os.setpgid(0, 0)
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
            if os.getppid() != parent:  # the parent died before prctl
                os.kill(os.getpid(), int(death_signal))

    return setup


def _run_child(cmd, cwd, env, death_signal=None) -> tuple:
    """Run a command to its end; if interrupted, kill its whole process group.

    ``death_signal`` (Linux): what the child gets if this process dies
    without cleaning up, e.g. ``SIGTERM`` for ``make`` (which then stops its
    compilers); it costs a full ``fork`` of this process. ``None``: the child
    only gets its own process group (started with ``vfork``, fast).

    Returns
    -------
    returncode : int
    stdout, stderr : str
    """
    group = {}
    if os.name == "posix" and death_signal is None:
        group = {"process_group": 0} if sys.version_info >= (3, 11) else {"start_new_session": True}
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True,
                          preexec_fn=_child_setup(death_signal), **group) as proc:
        try:
            stdout, stderr = proc.communicate()
        except BaseException:  # KeyboardInterrupt, SystemExit from SIGTERM, ...
            if os.name == "posix":
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.kill()
            raise
    return proc.returncode, stdout, stderr


@contextlib.contextmanager
def _terminate_as_exit():
    """While waiting for children, turn ``SIGTERM`` into ``SystemExit``.

    Only in the main thread and only if ``SIGTERM`` has its default action
    (an application's own handler is left alone). ``SystemExit`` unwinds
    through the ``finally`` blocks that kill the children and remove
    temporary folders; the exit status stays ``128 + SIGTERM``.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _compile(device, directory):
    """Compile a generated project in place with at most one job per core."""
    cmd = make_command()
    if cmd is None:  # MSVC: Brian2's own nmake call
        compile_project(device, directory)
        return
    pch = prefs["brian_dendrites.precompiled_header"] and use_precompiled_header(directory)
    returncode, stdout, stderr = _run_child(cmd, directory, dict(os.environ), signal.SIGTERM)
    if pch:  # tens of MB, needed only while compiling
        with contextlib.suppress(OSError):
            os.remove(Path(directory) / f"{PCH_HEADER}.gch")
    if returncode != 0:
        raise RuntimeError(f"compilation failed ({' '.join(cmd)}: exit {returncode}):\n"
                           f"{stdout[-3000:]}\n{stderr[-3000:]}")


# ------------------------------------------------------------------ cache
def _file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_checksum(directory: Path):
    binary = directory / _binary_name()
    record = {"binary": binary.name, "size": binary.stat().st_size,
              "sha256": _file_sha256(binary)}
    (directory / _CHECKSUM_FILE).write_text(json.dumps(record))


def _binary_ok(directory, checksum=False) -> bool:
    """Whether a project has its binary (and, with ``checksum``, the recorded one)."""
    if directory is None:
        return False
    binary = Path(directory) / _binary_name()
    try:
        record = json.loads((Path(directory) / _CHECKSUM_FILE).read_text())
        size = binary.stat().st_size
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or record.get("size") != size:
        return False
    return not checksum or record.get("sha256") == _file_sha256(binary)


def _touch(directory):
    """Record a use of a project (the time :func:`cache_info` reports)."""
    with contextlib.suppress(OSError):
        os.utime(Path(directory) / _CHECKSUM_FILE)


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # no cheap, safe test; left to prune_cache's age rule
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _abandoned(path: Path, prefix: str, max_age: float = 86400.0) -> bool:
    """A staging or run folder whose process is gone (off POSIX: older than ``max_age``)."""
    match = re.match(re.escape(prefix) + r"(\d+)_", path.name)
    if match is None or not path.is_dir():
        return False
    if os.name == "posix":
        return not _pid_alive(int(match.group(1)))
    try:
        return time.time() - path.stat().st_mtime > max_age
    except OSError:
        return False


def _remove_abandoned(cache_dir: Path) -> list:
    """Remove staging and run folders left by killed processes; return them."""
    removed = []
    candidates = [(p, _STAGING_PREFIX) for p in cache_dir.glob(f"{_STAGING_PREFIX}*")]
    candidates += [(p, _RUN_PREFIX) for p in cache_dir.glob(f"*/{_RUN_PREFIX}*")]
    for path, prefix in candidates:
        if _abandoned(path, prefix):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _dir_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, f)).st_size
    return total


def _resolve_cache(cache_dir) -> Path:
    if not _valid_cache_dir(cache_dir):
        raise TypeError(f"cache_dir must be a path or None, got {cache_dir!r}")
    return default_cache_dir() if cache_dir is None else _absolute(cache_dir)


def _project_rows(cache: Path) -> list:
    rows = []
    if not cache.is_dir():
        return rows
    for path in sorted(cache.iterdir()):
        if not path.is_dir() or path.name.startswith("."):
            continue
        marker = path / _CHECKSUM_FILE
        try:
            used = (marker if marker.exists() else path).stat().st_mtime
        except OSError:  # removed meanwhile
            continue
        rows.append({"project": path.name, "path": str(path), "size_bytes": _dir_size(path),
                     "last_used": datetime.datetime.fromtimestamp(used),
                     "valid": _binary_ok(path, checksum=True)})
    rows.sort(key=lambda r: r["last_used"], reverse=True)
    return rows


def _table(rows, cache: Path):
    import pandas as pd

    df = pd.DataFrame(rows, columns=["project", "path", "size_bytes", "last_used", "valid"])
    df.attrs["cache_dir"] = str(cache)
    df.attrs["total_bytes"] = int(df["size_bytes"].sum()) if len(df) else 0
    return df


def cache_info(cache_dir=None):
    """The compiled projects in a cache: size and last use.

    Parameters
    ----------
    cache_dir : path, optional
        The cache (default: :func:`default_cache_dir`).

    Returns
    -------
    pandas.DataFrame
        One row per project, most recently used first, with columns
        ``project`` (folder name), ``path``, ``size_bytes``, ``last_used``
        (a ``datetime``: its last build, reuse or run) and ``valid`` (its
        binary matches the checksum recorded after compiling; ``False`` for
        projects of older versions, which are compiled again when used).
        ``df.attrs`` holds ``cache_dir`` and ``total_bytes``. An absent
        cache gives an empty table.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as cache:
    ...     info = cache_info(cache)
    >>> list(info.columns), info.attrs['total_bytes']
    (['project', 'path', 'size_bytes', 'last_used', 'valid'], 0)
    """
    cache = _resolve_cache(cache_dir)
    return _table(_project_rows(cache), cache)


def prune_cache(cache_dir=None, older_than=None, keep=None):
    """Remove compiled projects from a cache; return the removed ones.

    Folders left by killed processes (unfinished builds, run folders) are
    always removed. A project is removed if it was last used longer than
    ``older_than`` ago, or if it is not among the ``keep`` most recently
    used; one of the two is required (``keep=0`` empties the cache). A project being
    compiled right now (its lock is held) is skipped. A removed project is
    compiled again when a :class:`Simulation` needs it.

    Parameters
    ----------
    cache_dir : path, optional
        The cache (default: :func:`default_cache_dir`).
    older_than : float or datetime.timedelta, optional
        Age of the last use (seconds if a number).
    keep : int, optional
        Number of most recently used projects to keep.

    Returns
    -------
    pandas.DataFrame
        The removed projects, as in :func:`cache_info`.

    Examples
    --------
    >>> import datetime, tempfile
    >>> with tempfile.TemporaryDirectory() as cache:
    ...     removed = prune_cache(cache, older_than=datetime.timedelta(days=30))
    >>> len(removed)
    0
    """
    if older_than is None and keep is None:
        raise ValueError("prune_cache needs older_than or keep (keep=0 removes every project)")
    cache = _resolve_cache(cache_dir)
    if isinstance(older_than, datetime.timedelta):
        older_than = older_than.total_seconds()
    if older_than is not None and (isinstance(older_than, bool) or not isinstance(
            older_than, (int, float, np.integer, np.floating)) or not older_than >= 0):
        raise ValueError(f"older_than must be a non-negative number of seconds or a "
                         f"timedelta, got {older_than!r}")
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, (int, np.integer))
                             or keep < 0):
        raise ValueError(f"keep must be a non-negative integer or None, got {keep!r}")
    if not cache.is_dir():
        return _table([], cache)
    _remove_abandoned(cache)
    now = datetime.datetime.now()
    removed = []
    for rank, row in enumerate(_project_rows(cache)):
        old = older_than is not None and (now - row["last_used"]).total_seconds() > older_than
        surplus = keep is not None and rank >= keep
        if not (old or surplus):
            continue
        lock = FileLock(row["path"] + ".lock", timeout=0)
        try:
            lock.acquire()
        except TimeoutError:
            continue  # being compiled
        try:
            shutil.rmtree(row["path"], ignore_errors=True)
            with contextlib.suppress(OSError):
                os.remove(row["path"] + ".lock")
        finally:
            lock.release()
        removed.append(row)
    return _table(removed, cache)
