"""The one module that touches private Brian2 API.

Brian2 has no ``__all__``: its public API is what ``from brian2 import ...``
gives and what its user documentation describes. Everything else (names
from Brian2's submodules, attributes of devices and code objects) can change
in any release, so every such use of ``brian_dendrites`` goes through this
module, and this module is tested against the installed Brian2
(``tests/test_brian_compat.py``). Importing it with a Brian2 outside
`BRIAN2_TESTED` warns (it does not fail).

Tested versions
---------------
``brian2 >= 2.9, < 2.11`` (`BRIAN2_TESTED`): CI runs the test suite with the
default ``python3`` (3.11), for which pip resolves brian2 2.9.0; 2.10.x (the
release line for Python >= 3.12) defines every name below in the same
modules (checked against its source). ``setup.cfg`` bounds
``install_requires`` to the same range.

Names imported from Brian2 submodules
-------------------------------------
Each row is ``module | name | used by``; the test suite checks every row.

=========================================== ============================ =========================
module                                      name                         used by
=========================================== ============================ =========================
brian2.core.variables                       ArrayVariable                engine, dense
brian2.core.variables                       DynamicArrayVariable         engine
brian2.devices.device                       reset_device                 engine
brian2.devices.device                       reinit_devices               tests
brian2.devices.device                       all_devices                  engine (run environment)
brian2.units.fundamentalunits               DIMENSIONLESS                sweep
brian2.units.fundamentalunits               get_unit_for_display         sweep (unit names)
brian2.codegen.cpp_prefs                    get_compiler_and_args        engine (make command)
brian2.codegen.generators.cpp_generator     CPPCodeGenerator             dense
brian2.devices.cpp_standalone.codeobject    CPPStandaloneCodeObject      dense
brian2.devices.cpp_standalone.device        CPPStandaloneDevice          dense
brian2.utils.filelock                       FileLock                     engine (compile)
brian2.utils.stringtools                    get_identifiers              dense
brian2.utils.stringtools                    word_substitute              spec
brian2.equations.equations                  DIFFERENTIAL_EQUATION        dense (row gates)
brian2.equations.equations                  SUBEXPRESSION                dense (row gates)
brian2.parsing.sympytools                   str_to_sympy                 dense (row gates)
brian2.synapses.synapses                    SummedVariableUpdater        engine (fixed weights)
=========================================== ============================ =========================

Private attributes and behaviour relied on
------------------------------------------
- ``CPPStandaloneDevice.get_array_filename(var)`` and
  ``CPPStandaloneDevice.compile_source(directory, compiler, debug, clean)``:
  wrapped here as `array_filename` and `compile_project` (engine; only with
  MSVC, elsewhere the engine runs `make_command` itself so that it can stop
  the compilers).
- The Unix build is ``make_cmd_unix`` plus ``extra_make_args_unix`` run in
  the project directory (`make_command`, which bounds a bare ``-j``).
- ``CPPStandaloneDevice.run_environment_variables`` (the per-device
  environment, e.g. ``DYLD_LIBRARY_PATH`` on macOS): `device_run_environment`
  (engine).
- The binary's command line: ``--results_dir DIR`` followed by
  ``group.var=value`` / ``group.var=file`` arguments (engine).
- ``CPPStandaloneDevice.main_queue`` entries ``('run_code_object',
  (codeobj, ...))``, ``Synapses._connect_called``, ``Synapses.summed_updaters``,
  ``CodeRunner.codeobj_class``, ``StateUpdater.method_choice``,
  ``CodeObject.templater.derive``, the ``_synaptic_pre``/``_synaptic_post``,
  ``_source_offset``/``_target_offset`` variables and the
  ``synapses_create_generator`` loop order (dense; the generated binary checks
  the order at run time).
- ``Variable.owner``, ``.read_only``, ``.scalar``, ``.constant``, ``.dim`` and
  ``.size`` of the variables of groups and monitors (engine).
- The time-step loop of the generated ``network.cpp`` (Brian2's
  ``network.cpp`` template without OpenMP and without a maximum run time)
  reads the process CPU clock after every step only to report the run time
  afterwards: `hoist_run_clock` moves that read after the loop (engine).
  If the text is not found, the file is left as Brian2 wrote it.
- Per-element code objects (state updaters, ``run_regularly``) loop
  ``for(int _idx=0; _idx<_N; _idx++)`` over the elements of one group and,
  when they write arrays only at ``[_idx]`` and call only pure maths
  functions, carry no dependency between iterations:
  `mark_independent_loop` tells the compiler so (engine). A loop of another
  form is left as Brian2 wrote it.
- The generated ``makefile`` defines ``OBJS``, ``H_SRCS`` and ``CXXFLAGS``,
  compiles every ``code_objects/*.cpp`` on its own, and includes a
  ``make.deps`` file it generates with one serial ``-MM`` pass;
  every code object starts with a block of ``#include`` lines (its own
  header, ``objects.h``, ``brianlib`` and standard headers):
  `use_precompiled_header` (engine) relies on this. If a project does not
  look like that, it is compiled as Brian2 wrote it.
"""

from __future__ import annotations

import os
import re
import shlex
import warnings
from collections.abc import Mapping

import brian2
from brian2.codegen.cpp_prefs import get_compiler_and_args
from brian2.codegen.generators.cpp_generator import CPPCodeGenerator
from brian2.core.variables import ArrayVariable, DynamicArrayVariable
from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
from brian2.devices.device import all_devices, reinit_devices, reset_device
from brian2.equations.equations import DIFFERENTIAL_EQUATION, SUBEXPRESSION
from brian2.parsing.sympytools import str_to_sympy
from brian2.synapses.synapses import SummedVariableUpdater
from brian2.units.fundamentalunits import DIMENSIONLESS, get_unit_for_display
from brian2.utils.filelock import FileLock
from brian2.utils.stringtools import get_identifiers, word_substitute

__all__ = [
    "BRIAN2_TESTED",
    "RESULTS_WANTED_ENV",
    "filter_result_writes",
    "skip_given_static_arrays",
    "declare_vector_math",
    "brian2_version_tested",
    "warn_if_untested",
    "array_filename",
    "compile_project",
    "make_command",
    "make_jobs",
    "use_precompiled_header",
    "PCH_HEADER",
    "device_run_environment",
    "ArrayVariable",
    "DynamicArrayVariable",
    "reset_device",
    "reinit_devices",
    "all_devices",
    "DIMENSIONLESS",
    "get_unit_for_display",
    "get_compiler_and_args",
    "CPPCodeGenerator",
    "CPPStandaloneCodeObject",
    "CPPStandaloneDevice",
    "FileLock",
    "get_identifiers",
    "word_substitute",
    "DIFFERENTIAL_EQUATION",
    "SUBEXPRESSION",
    "str_to_sympy",
    "SummedVariableUpdater",
    "hoist_run_clock",
    "mark_independent_loop",
]

#: Brian2 versions this module is tested with: ``lower <= version < upper``
#: (major.minor only; any patch release of them).
BRIAN2_TESTED = ("2.9", "2.11")


def _major_minor(version: str) -> tuple:
    match = re.match(r"\s*(\d+)\.(\d+)", version)
    if match is None:
        raise ValueError(f"version must look like '2.9.0', got {version!r}")
    return int(match.group(1)), int(match.group(2))


def brian2_version_tested(version: str | None = None) -> bool:
    """Whether a Brian2 version lies in the tested range `BRIAN2_TESTED`.

    Parameters
    ----------
    version : str, optional
        A version string such as ``'2.9.0'`` (default: the installed Brian2).

    Returns
    -------
    bool

    Examples
    --------
    >>> brian2_version_tested('2.9.0'), brian2_version_tested('2.10.1')
    (True, True)
    >>> brian2_version_tested('2.8.0.4'), brian2_version_tested('3.0')
    (False, False)
    """
    if version is None:
        version = brian2.__version__
    if not isinstance(version, str):
        raise TypeError(f"version must be a string like '2.9.0', got {type(version).__name__}")
    lower, upper = (_major_minor(v) for v in BRIAN2_TESTED)
    return lower <= _major_minor(version) < upper


def warn_if_untested(version: str | None = None) -> bool:
    """Warn (``RuntimeWarning``) if a Brian2 version is outside `BRIAN2_TESTED`.

    Called once when this module is imported, for the installed Brian2.

    Parameters
    ----------
    version : str, optional
        A version string (default: the installed Brian2).

    Returns
    -------
    bool
        Whether the version is in the tested range.
    """
    if version is None:
        version = brian2.__version__
    tested = brian2_version_tested(version)
    if not tested:
        warnings.warn(
            f"brian_dendrites is tested with brian2 >= {BRIAN2_TESTED[0]}, < {BRIAN2_TESTED[1]}; "
            f"brian2 {version} may have changed the private API it relies on "
            "(see brian_dendrites._brian_compat).",
            RuntimeWarning,
            stacklevel=2,
        )
    return tested


warn_if_untested()


def array_filename(device, var) -> str:
    """File name under ``results/`` in which a standalone binary writes ``var``.

    Parameters
    ----------
    device : CPPStandaloneDevice
        The device the project was built with.
    var : ArrayVariable
        A variable of a group or monitor of that project.

    Returns
    -------
    str
    """
    return device.get_array_filename(var)


def compile_project(device, directory) -> None:
    """Compile a generated standalone project in place (``make``/``nmake``).

    Parameters
    ----------
    device : CPPStandaloneDevice
        The device that generated the project.
    directory : str or path
        The project directory (holding ``main.cpp`` and the makefile).
    """
    compiler, _ = get_compiler_and_args()
    device.compile_source(str(directory), compiler, debug=False, clean=False)


def make_jobs() -> int:
    """Number of parallel compiler jobs for a standalone build: the usable cores.

    Returns
    -------
    int
        ``len(os.sched_getaffinity(0))`` where available, else
        ``os.cpu_count()`` (at least 1).
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def make_command(jobs: int | None = None) -> list | None:
    """The command Brian2 runs to compile a standalone project, with bounded jobs.

    Brian2 runs ``prefs.devices.cpp_standalone.make_cmd_unix`` followed by
    ``extra_make_args_unix``, whose default ``['-j']`` starts one compiler
    per source file at once (about 20 on any machine). A bare ``-j`` (or
    ``--jobs``) is replaced by ``-j<jobs>``; an explicit ``-jN`` set by the
    user is kept.

    Parameters
    ----------
    jobs : int, optional
        Maximum number of parallel jobs (default: `make_jobs`).

    Returns
    -------
    list of str or None
        The command (run it in the project directory), or ``None`` when the
        compiler is MSVC (use `compile_project` there).

    Examples
    --------
    >>> from brian2 import prefs
    >>> cmd = make_command(jobs=2)
    >>> cmd is None or cmd[-1] == '-j2'  # Brian's default extra args: ['-j']
    True
    """
    if jobs is None:
        jobs = make_jobs()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    compiler, _ = get_compiler_and_args()
    if compiler == "msvc":
        return None
    make_cmd = brian2.prefs["devices.cpp_standalone.make_cmd_unix"]
    cmd = shlex.split(make_cmd) if isinstance(make_cmd, str) else [str(c) for c in make_cmd]
    for arg in brian2.prefs["devices.cpp_standalone.extra_make_args_unix"]:
        cmd.append(f"-j{jobs}" if str(arg) in ("-j", "--jobs") else str(arg))
    return cmd


_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"][^>"]+[>"])[ \t]*$')

#: Name of the header precompiled for the code objects of a project.
PCH_HEADER = "bd_common_headers.h"

_PCH_MAKE_RULES = """
# ---- added by brian_dendrites: the headers that every code object includes,
# ---- parsed once (precompiled) instead of once per code object
BD_PCH_OBJS := $(filter code_objects/%,$(OBJS))
$(BD_PCH_OBJS): CXXFLAGS += -include {header}
$(BD_PCH_OBJS): {header}.gch
{header}.gch: {header} $(H_SRCS) makefile
\t$(CXX) $(filter-out -include {header},$(CXXFLAGS)) -x c++-header {header} -o {header}.gch \\
\t  || rm -f {header}.gch
"""


def _leading_includes(path) -> list:
    """The ``#include`` targets of a source file before its first code line."""
    includes = []
    with open(path) as f:
        for line in f:
            stripped = line.strip()
            if not stripped:
                continue
            m = _INCLUDE.match(line)
            if not m:
                break
            includes.append(m.group(1))
    return includes


def use_precompiled_header(directory) -> bool:
    """Make a generated project parse its common headers once, not per code object.

    Every code object of a Brian2 standalone project includes ``objects.h``,
    ``brianlib`` and standard headers (about 65 000 preprocessed lines);
    parsing them is 0.8 s of the ~1 s that g++ needs for one small code
    object, and a project has 50-150 code objects. This writes a header
    with the ``#include`` lines that *every* code object starts with, and
    rules that precompile it once (``.gch``; GCC and Clang both find it
    through ``-include``) and force-include it when compiling the code
    objects. A compiler that cannot precompile falls back to parsing the
    header as text (same result, old speed). The object files are
    byte-identical to those of Brian2's makefile (tested).

    The serial ``make.deps`` pass (``-MM`` over every source, ~5 s) is
    replaced by an empty file: the engine compiles each project once, in
    a fresh directory, so header dependencies are never needed.

    Parameters
    ----------
    directory : str or path
        A generated, not yet compiled project (``makefile``,
        ``code_objects/``).

    Returns
    -------
    bool
        Whether the project was changed (``False``: the makefile or the code
        objects do not look as expected; the project is left as it was).
    """
    directory = os.fspath(directory)
    makefile = os.path.join(directory, "makefile")
    codedir = os.path.join(directory, "code_objects")
    try:
        with open(makefile) as f:
            text = f.read()
        sources = sorted(n for n in os.listdir(codedir) if n.endswith(".cpp"))
    except OSError:
        return False
    if (not sources or PCH_HEADER in text
            or not all(re.search(rf"^{v}\s*[:+]?=", text, re.M)
                       for v in ("OBJS", "H_SRCS", "CXXFLAGS"))
            or "include $(DEPS)" not in text):
        return False
    lists = [_leading_includes(os.path.join(codedir, n)) for n in sources]
    common = [inc for inc in lists[0] if not inc.strip('"<>').startswith("code_objects/")
              and all(inc in other for other in lists[1:])]
    if not any(inc == '"objects.h"' for inc in common):
        return False
    with open(os.path.join(directory, PCH_HEADER), "w") as f:
        f.write("// brian_dendrites: headers shared by every code object (precompiled)\n")
        f.write("".join(f"#include {inc}\n" for inc in common))
    with open(makefile, "a") as f:
        f.write(_PCH_MAKE_RULES.format(header=PCH_HEADER))
    with open(os.path.join(directory, "make.deps"), "w") as f:
        f.write("# brian_dendrites: compiled once in a fresh directory; no header dependencies\n")
    return True


def device_run_environment() -> dict:
    """Environment variables Brian2's standalone device adds when it runs a binary.

    On macOS Brian2 extends ``DYLD_LIBRARY_PATH`` with ``sys.prefix/lib`` (for
    conda); elsewhere this is usually empty. The user-facing preference
    ``devices.cpp_standalone.run_environment_variables`` is public and read
    by the engine itself.

    Returns
    -------
    dict of str -> str
    """
    device = all_devices.get("cpp_standalone")
    return dict(getattr(device, "run_environment_variables", {}) or {})


#: The CPU-clock read at the end of every step of Brian2's time-step loop
#: (``network.cpp`` without OpenMP), followed by the end of the loop: nothing
#: between them when no maximum run time is set.
_STEP_CLOCK = re.compile(
    r"\n(?P<clock>[ \t]*current = std::clock\(\);\n"
    r"[ \t]*elapsed_realtime = \(double\)\(current - start\)/\([^;\n]*CLOCKS_PER_SEC\);\n)"
    r"(?P<end>\s*\}[ \t]*\n)(?P<after>[ \t]*Network::_globally_running = false;)"
)


def hoist_run_clock(source: str) -> str | None:
    r"""Brian2's generated ``network.cpp`` with the per-step CPU-clock read moved after the loop.

    ``Network::run`` reads the process CPU time (``std::clock()``, a system
    call) after every time step, although without a maximum run time (and
    without a progress report, which reads the clock separately) the value
    is only used after the loop, as the run time Brian2 reports
    (``last_run_info.txt``). Reading it once after the loop gives the same
    report; on a small network (the 30-50-10 microcircuit, ~12 us per step)
    the per-step read cost about 8 % of the run.

    Parameters
    ----------
    source : str
        The text of ``network.cpp`` as Brian2 generated it.

    Returns
    -------
    str or None
        The changed text, or ``None`` if the loop does not have the expected
        form (another Brian2 version, OpenMP, a maximum run time): then use
        the file unchanged.

    Examples
    --------
    >>> loop = ("    while(clock)\n    {\n        clock = next_clocks();\n\n"
    ...         "        current = std::clock();\n"
    ...         "        elapsed_realtime = (double)(current - start)/(1 * CLOCKS_PER_SEC);\n\n"
    ...         "    }\n    Network::_globally_running = false;\n")
    >>> print(hoist_run_clock(loop))
        while(clock)
        {
            clock = next_clocks();
    <BLANKLINE>
        }
            current = std::clock();
            elapsed_realtime = (double)(current - start)/(1 * CLOCKS_PER_SEC);
        Network::_globally_running = false;
    <BLANKLINE>
    >>> hoist_run_clock("int main() {}") is None
    True
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be the text of network.cpp, got {type(source).__name__}")
    new, count = _STEP_CLOCK.subn(lambda m: m["end"] + m["clock"] + m["after"], source)
    return new if count == 1 else None


#: Environment variable naming the file that lists the result files a run must write.
RESULTS_WANTED_ENV = "BRIAN_DENDRITES_RESULTS"

_WANTED_FUNCTION = r"""
// brian_dendrites: write only the result files the engine reads.  The file
// named by the environment variable RESULTS_ENV lists them, one per line;
// without it (or if it cannot be read) every array is written, as Brian2 does.
#include <cstdlib>
#include <set>
#include <string>
static bool _brian_dendrites_wanted(const char* name)
{
    static bool loaded = false, all = true;
    static std::set<std::string> wanted;
    if (!loaded)
    {
        loaded = true;
        const char* path = std::getenv("RESULTS_ENV");
        if (path && *path)
        {
            std::ifstream list(path);
            if (list.is_open())
            {
                all = false;
                std::string line;
                while (std::getline(list, line))
                    if (!line.empty()) wanted.insert(line);
            }
        }
    }
    return all || wanted.count(name) > 0;
}
""".replace("RESULTS_ENV", RESULTS_WANTED_ENV)

_RESULT_OPEN = re.compile(
    r'(?P<indent>[ \t]*)(?P<open>outfile_(?P<var>\w+)\.open\(results_dir \+ "(?P<file>[^"]+)", '
    r'ios::binary \| ios::out\);)(?P<ws>\s*)if\(outfile_(?P=var)\.is_open\(\)\)')


def filter_result_writes(source: str) -> str | None:
    r"""Brian2's generated ``objects.cpp`` writing only the result files a run asks for.

    At the end of every run the binary writes *every* array of the project
    (``_write_arrays``): synapse indices, counts, parameters, monitors. A
    learner reads a few of them (weights, state, the readout); on the
    784-500-500-10 steady-state circuit the rest was most of 35 MB written
    per run. The patched function writes an array only if its file name is
    listed in the file named by the environment variable
    :data:`RESULTS_WANTED_ENV` (the engine writes that list per run); without
    the variable it writes everything, as Brian2 does.

    Parameters
    ----------
    source : str
        The text of ``objects.cpp`` as Brian2 generated it.

    Returns
    -------
    str or None
        The changed text, or ``None`` if no result write has the expected
        form (then use the file unchanged).

    Examples
    --------
    >>> src = ('void _write_arrays()\n{\n    ofstream outfile__array_g_v;\n'
    ...        '    outfile__array_g_v.open(results_dir + "_array_g_v_12", ios::binary | ios::out);\n'
    ...        '    if(outfile__array_g_v.is_open())\n    {\n    }\n}\n')
    >>> out = filter_result_writes(src)
    >>> print(out[out.index("    const bool"):])
        const bool _bd_write__array_g_v = _brian_dendrites_wanted("_array_g_v_12");
        if (_bd_write__array_g_v) outfile__array_g_v.open(results_dir + "_array_g_v_12", ios::binary | ios::out);
        if (!_bd_write__array_g_v) {} else if(outfile__array_g_v.is_open())
        {
        }
    }
    <BLANKLINE>
    >>> filter_result_writes("int main() {}") is None
    True
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be the text of objects.cpp, got {type(source).__name__}")
    start = source.find("void _write_arrays()")
    if start < 0:
        return None

    def guard(m):
        flag = f"_bd_write_{m['var']}"
        return (f'{m["indent"]}const bool {flag} = _brian_dendrites_wanted("{m["file"]}");\n'
                f'{m["indent"]}if ({flag}) {m["open"]}{m["ws"]}'
                f'if (!{flag}) {{}} else if(outfile_{m["var"]}.is_open())')

    body, count = _RESULT_OPEN.subn(guard, source[start:])
    if not count:
        return None
    return source[:start] + _WANTED_FUNCTION + "\n" + body


#: The loop over the elements of one group in Brian2's per-element templates
#: (``stateupdate``, ``stateupdate`` of ``run_regularly``) without OpenMP.
_ELEMENT_LOOP = "for(int _idx=0; _idx<_N; _idx++)"
#: Brian2's pragma on that loop in an OpenMP build, and the same with ``simd``.
_OMP_LOOP = "#pragma omp parallel for schedule(static)"
_OMP_SIMD_LOOP = "#pragma omp parallel for simd schedule(static)"

#: Functions that read only their arguments: a loop calling nothing else can
#: be vectorised over elements. Anything else (``_rand``, ``_randn``, a user's
#: function, ...) keeps the loop as Brian2 wrote it.
_PURE_FUNCTIONS = frozenset({
    "exp", "log", "log10", "expm1", "log1p", "exprel", "sqrt", "pow", "sin", "cos", "tan",
    "sinh", "cosh", "tanh", "asin", "acos", "atan", "abs", "fabs", "floor", "ceil", "fmin",
    "fmax", "int_", "_int", "clip", "_clip", "sign", "_sign", "_timestep", "_brian_mod",
    "_brian_floordiv", "_brian_pow", "_brian_abs", "int", "double", "float", "char", "bool", "int32_t",
    "int64_t", "size_t", "if", "for", "while", "sizeof", "static_cast",
})
_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_ARRAY = re.compile(r"\b(_ptr_array_\w+)\s*\[")
_ASSIGNMENT = re.compile(r"\s*(=(?!=)|\+=|-=|\*=|/=|\+\+|--)")


def _indexed_accesses(body: str) -> list:
    """``(array, index, assigned)`` for every ``_ptr_array_x[index]`` in ``body`` (nested brackets)."""
    out = []
    for match in _ARRAY.finditer(body):
        depth, pos = 1, match.end()
        while pos < len(body) and depth:
            depth += {"[": 1, "]": -1}.get(body[pos], 0)
            pos += 1
        index = body[match.end():pos - 1]
        before = body[:match.start()].rstrip()
        assigned = bool(_ASSIGNMENT.match(body, pos)) or before.endswith(("++", "--"))
        out.append((match[1], index.strip(), assigned))
    return out


def mark_independent_loop(source: str) -> str | None:
    r"""A per-element code object with ``#pragma GCC ivdep`` on its element loop, if that is safe.

    Brian2's state updaters loop over the elements of a group and, for most
    models, each iteration reads and writes only element ``_idx`` of the
    group's arrays. GCC cannot prove that (the arrays are globals, and their
    pointers could alias) and leaves the loop scalar; on 1000 five-compartment
    cells this made the state update 2.1-2.3x slower than the vectorised loop.
    The pragma is added only when the loop provably carries no dependency:
    every array written in the loop is read and written only at ``[_idx]``,
    and the loop calls only pure maths functions (no random numbers, no user
    functions). Each element's arithmetic is unchanged (``-ffast-math`` may
    use the vector library's ``exp``, which can differ from the scalar one in
    the last bit).

    Parameters
    ----------
    source : str
        The text of a generated code object (``code_objects/*.cpp``).

    In an OpenMP build (``Simulation(threads=N)``) Brian2 puts ``#pragma omp
    parallel for schedule(static)`` on the loop; under the same conditions
    it becomes ``#pragma omp parallel for simd schedule(static)``.

    Returns
    -------
    str or None
        The changed text, or ``None`` when the file has no element loop, has
        more than one, uses OpenMP otherwise, or its loop may carry a
        dependency: then use the file unchanged.

    Examples
    --------
    >>> code = ("    for(int _idx=0; _idx<_N; _idx++)\n    {\n"
    ...         "        double v = _ptr_array_g_v[_idx];\n"
    ...         "        v = v + dt * (-v + _ptr_array_g_I[_idx]);\n"
    ...         "        _ptr_array_g_v[_idx] = v;\n    }\n")
    >>> print(mark_independent_loop(code).splitlines()[0])
        #pragma GCC ivdep
    >>> scatter = code.replace("_ptr_array_g_v[_idx] = v", "_ptr_array_g_v[_j[_idx]] = v")
    >>> mark_independent_loop(scatter) is None
    True
    >>> mark_independent_loop(code.replace("dt *", "_randn(_idx) *")) is None
    True
    >>> omp = "    #pragma omp parallel for schedule(static)\n" + code
    >>> print(mark_independent_loop(omp).splitlines()[0])
        #pragma omp parallel for simd schedule(static)
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be the text of a code object, got {type(source).__name__}")
    if source.count(_ELEMENT_LOOP) != 1 or "ivdep" in source or "omp parallel for simd" in source:
        return None
    start = source.index(_ELEMENT_LOOP)
    line_start = source.rfind("\n", 0, start) + 1
    previous = source[source.rfind("\n", 0, max(line_start - 1, 0)) + 1:line_start].strip()
    if previous == _OMP_LOOP:  # Brian2's OpenMP build: the same promise, in OpenMP's words
        marker = None
    elif "pragma omp" in source:
        return None
    else:
        marker = "#pragma GCC ivdep"
    open_brace = source.find("{", start + len(_ELEMENT_LOOP))
    if open_brace < 0 or source[start + len(_ELEMENT_LOOP):open_brace].strip():
        return None
    depth, end = 0, None
    for pos in range(open_brace, len(source)):
        char = source[pos]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                end = pos
                break
    if end is None:
        return None
    body = source[open_brace:end]
    if any(name not in _PURE_FUNCTIONS for name in _CALL.findall(body)):
        return None
    accesses = _indexed_accesses(body)
    written = {name for name, _, assigned in accesses if assigned}
    if any(name in written and index != "_idx" for name, index, _ in accesses):
        return None
    indent = source[line_start:start]
    if indent.strip():
        return None
    if marker is None:
        pragma_at = source.rindex(_OMP_LOOP, 0, line_start)
        return (source[:pragma_at] + _OMP_SIMD_LOOP
                + source[pragma_at + len(_OMP_LOOP):])
    return source[:line_start] + indent + marker + "\n" + source[line_start:]


#: One variable of Brian2's ``set_variable_by_name`` (``objects.cpp``): its run
#: name and the array it sets.
_SET_BY_NAME = re.compile(
    r'if \(name == "(?P<name>[\w.]+)"\) \{\n(?P<body>(?:(?!\n    \}).)*?)\n[ \t]*return;', re.S)
_SET_ARRAY = re.compile(r"set_variable_from_(?:value<[\w:]+>|file)\(name, &?(?P<arr>\w+)(?:\[0\])?,")
#: Brian2's copy of a static array (the values set before the build) into a variable (main.cpp).
_STATIC_COPY = re.compile(
    r"(?P<pragma>[ \t]*#pragma omp [^\n]*\n)?"  # an OpenMP build's parallel copy
    r"(?P<indent>[ \t]*)for\(int i=0; i<[^;\n]+; i\+\+\)\n"
    r"(?P=indent)\{\n[ \t]*(?P<arr>\w+)\[i\] = (?P<static>_static_array_\w+)\[i\];\n(?P=indent)\}\n")
#: Brian2's read of a static array's file (``_load_arrays`` in objects.cpp).
_STATIC_READ = re.compile(r"if\(f(?P<static>_static_array_\w+)\.is_open\(\)\)")
_CODEOBJECT_CALL = re.compile(r"\b_(before_|after_)?run_(\w+?_codeobject\w*)\(\);")
_RUN_ARGS_CALL = "set_from_command_line(args);"
_READ_ERROR = re.compile(r'(std::cerr << "(?:Error reading|Could not read) [^;]*;)')

_GIVEN_DECLARATION = """
// brian_dendrites: the variables set from the command line (name=value arguments)
#include <set>
#include <string>
namespace brian {
extern std::set<std::string> _brian_dendrites_given_names;
bool _brian_dendrites_given(const char* name);
}
"""
_GIVEN_DEFINITION = """
// brian_dendrites: the variables set from the command line (filled by main
// before brian_start) skip their static initial values
std::set<std::string> brian::_brian_dendrites_given_names;
bool brian::_brian_dendrites_given(const char* name)
{
    return brian::_brian_dendrites_given_names.count(name) > 0;
}
"""
_GIVEN_FILL = """// brian_dendrites: note the variables set from the command line
\tfor (const auto& _bd_arg : args)
\t{
\t\tconst size_t _bd_eq = _bd_arg.find("=");
\t\tif (_bd_eq != std::string::npos)
\t\t\tbrian::_brian_dendrites_given_names.insert(_bd_arg.substr(0, _bd_eq));
\t}
\tbrian_start();"""


def skip_given_static_arrays(main: str, objects: str, objects_h: str,
                             code_objects: Mapping[str, str]) -> tuple | None:
    r"""Brian2's generated sources with static initial values skipped for variables given per run.

    A variable set before the build to an array (``syn.w = W``) is stored as
    a *static array*: every run of the binary reads its file
    (``_load_arrays``) and copies it into the variable (``main``), and only
    then applies the ``name=value`` run arguments, which overwrite it again.
    An engine that passes the weights of every run therefore read each
    weight array twice: on a DGN on MNIST (25 M synapses) ~200 MB of
    static files per run. The patched binary notes the names given on its
    command line and skips the read and the copy of those static arrays.

    A static array is skipped only if nothing can see it before the run
    arguments are applied: its copy is the only use in ``main`` and no code
    object that ``main`` runs before them (synapse creation, ``before_run``)
    indexes the variable (``_ptr_array_<name>[``). A run-argument file of the
    wrong size, which Brian2 reports on stderr and then ignores, ends the
    patched binary with exit status 1 (the variable would otherwise keep
    values never set).

    Parameters
    ----------
    main, objects, objects_h : str
        The texts of ``main.cpp``, ``objects.cpp`` and ``objects.h``.
    code_objects : mapping of str -> str
        Code object name (``'syn_stateupdater_codeobject'``,
        ``'before_run_syn_stateupdater_codeobject'``) -> text of its ``.cpp``.

    Returns
    -------
    tuple of (str, str, str, dict) or None
        The new ``main.cpp``, ``objects.cpp`` and ``objects.h`` texts and the
        skipped static arrays (static array -> run name), or ``None`` if no
        static array can be skipped or the files do not have the expected
        form (then use them unchanged).
    """
    for name, text in (("main", main), ("objects", objects), ("objects_h", objects_h)):
        if not isinstance(text, str):
            raise TypeError(f"{name} must be the text of a generated file, got {type(text).__name__}")
    head, sep, tail = main.partition(_RUN_ARGS_CALL)
    if not sep or main.count("\tbrian_start();") != 1 or "namespace brian {" not in objects_h:
        return None
    run_name = {}
    for block in _SET_BY_NAME.finditer(objects):
        arrays = {m["arr"] for m in _SET_ARRAY.finditer(block["body"])}
        if len(arrays) == 1:
            run_name[arrays.pop()] = block["name"]
    earlier = []
    for prefix, name in _CODEOBJECT_CALL.findall(head):
        source = code_objects.get(f"{prefix}run_{name}" if prefix else name)
        if source is None:  # a code object we cannot read: assume it reads everything
            return None
        earlier.append(source)
    skip = {}
    for copy in _STATIC_COPY.finditer(head):
        arr, static = copy["arr"], copy["static"]
        name = run_name.get(arr)
        if name is None or len(re.findall(re.escape(static) + r"\b", main)) != 1:
            continue
        pointer = re.compile(r"\b_ptr" + re.escape(re.sub(r"^_dynamic_array_", "_array_", arr))
                             + r"\s*\[")
        if any(pointer.search(source) for source in earlier):
            continue
        if f"if(f{static}.is_open())" not in objects:
            continue
        skip[static] = name
    if not skip:
        return None

    def guard_copy(m):
        if m["static"] not in skip:
            return m[0]
        return (f'{m["indent"]}if (!_brian_dendrites_given("{skip[m["static"]]}"))\n'
                f'{m["indent"]}{{\n{m[0]}{m["indent"]}}}\n')

    new_main = (_STATIC_COPY.sub(guard_copy, head).replace("\tbrian_start();", _GIVEN_FILL, 1)
                + sep + tail)

    def guard_read(m):
        if m["static"] not in skip:
            return m[0]
        return f'if (_brian_dendrites_given("{skip[m["static"]]}")) {{}} else {m[0]}'

    start = objects.find("void _load_arrays()")
    if start < 0:
        return None
    new_objects = (objects[:start] + _GIVEN_DEFINITION + "\n"
                   + _STATIC_READ.sub(guard_read, objects[start:]))
    new_objects = _READ_ERROR.sub(r"{ \1 exit(1); }", new_objects)
    position = objects_h.index("namespace brian {")
    new_h = objects_h[:position] + _GIVEN_DECLARATION + "\n" + objects_h[position:]
    return new_main, new_objects, new_h, skip


#: Maths functions with SIMD variants in glibc's vector library (libmvec), by
#: the glibc version that added them (x86_64).
_VECTOR_MATH = {
    (2, 22): ("sin", "cos", "exp", "log", "pow"),
    (2, 35): ("acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cbrt", "cosh",
              "erf", "erfc", "exp10", "exp2", "expm1", "hypot", "log10", "log1p", "log2",
              "sinh", "tan", "tanh"),
}
_TWO_ARGUMENTS = {"pow", "atan2", "hypot"}
_CODEOBJECT_FUNCTION = re.compile(r"^void _run_\w+\(\)", re.M)


def declare_vector_math(source: str) -> str | None:
    r"""A code object whose dependency-free element loop may call glibc's SIMD maths functions.

    glibc declares the SIMD variants of ``exp``, ``tanh``, ... (libmvec) only
    when ``__FAST_MATH__`` is defined, and Brian2 compiles with
    ``-ffast-math -fno-finite-math-only``, which leaves it undefined: GCC
    then calls the scalar function once per element and does not vectorise
    the loop at all (the DFC soma's ``tanh``: 11 % of the binary's time).
    This adds, for the functions the loop calls, declarations with GCC's
    ``simd`` attribute, guarded so that they apply only where they are
    valid: GCC (not clang), x86_64, glibc with the version that provides
    the variant, ``__FAST_MATH__`` undefined. The vector variants handle
    NaN and infinities like the scalar ones and agree with them to a few
    units in the last place (glibc's stated accuracy: 4 ulp).

    Use it only on a file that :func:`mark_independent_loop` marked.

    Parameters
    ----------
    source : str
        The text of a generated code object.

    Returns
    -------
    str or None
        The text with the declarations before the code object's function,
        or ``None`` if its loop calls none of these functions.

    Examples
    --------
    >>> code = ("void _run_g_stateupdater_codeobject()\n{\n    #pragma GCC ivdep\n"
    ...         "    for(int _idx=0; _idx<_N; _idx++)\n    {\n"
    ...         "        _ptr_array_g_r[_idx] = tanh(_ptr_array_g_v[_idx]);\n    }\n}\n")
    >>> out = declare_vector_math(code)
    >>> 'double tanh(double) noexcept' in out and 'float tanhf(float) noexcept' in out
    True
    >>> declare_vector_math(code.replace("tanh(", "abs(")) is None
    True
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be the text of a code object, got {type(source).__name__}")
    start = source.find(_ELEMENT_LOOP)
    function = _CODEOBJECT_FUNCTION.search(source)
    if start < 0 or function is None or function.start() > start:
        return None
    called = set(_CALL.findall(source[start:]))
    blocks = []
    for (major, minor), names in _VECTOR_MATH.items():
        lines = []
        for name in names:
            if name not in called:
                continue
            args_d = "double, double" if name in _TWO_ARGUMENTS else "double"
            args_f = "float, float" if name in _TWO_ARGUMENTS else "float"
            lines.append(f'extern "C" __attribute__((__simd__("notinbranch"))) '
                         f'double {name}({args_d}) noexcept;')
            lines.append(f'extern "C" __attribute__((__simd__("notinbranch"))) '
                         f'float {name}f({args_f}) noexcept;')
        if lines:
            blocks.append(f"#if __GLIBC_PREREQ({major}, {minor})\n" + "\n".join(lines) + "\n#endif")
    if not blocks:
        return None
    declarations = (
        "// brian_dendrites: glibc's SIMD maths functions (libmvec) for the element loop,\n"
        "// declared as glibc does under -ffast-math (Brian2's -fno-finite-math-only hides them)\n"
        "#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) \\\n"
        "    && defined(__GLIBC__) && defined(__GLIBC_PREREQ) && !defined(__FAST_MATH__)\n"
        + "\n".join(blocks) + "\n#endif\n\n")
    return source[:function.start()] + declarations + source[function.start():]
