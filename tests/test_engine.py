"""Engine: the compiled binary is reused by a new Python session."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from brian2 import ms

SCRIPT = textwrap.dedent("""
    import json, sys
    from brian2 import StateMonitor, ms
    import brian_dendrites.models as models
    from brian_dendrites.engine import Simulation

    def build():
        g = models.pyramidal_neuron().make_group(3, name="pyr")
        # monitors on their own clocks: Brian2 orders clock set-up per session
        m1 = StateMonitor(g, "u", record=True, dt=1 * ms, name="m1")
        m2 = StateMonitor(g, "r", record=True, dt=0.5 * ms, name="m2")
        return {"pyr": g, "m1": m1, "m2": m2}

    sim = Simulation(build, 5 * ms, target="cpp_standalone", cache_dir=sys.argv[1],
                     name="session")
    binary = sim.project_dir / "main"
    res = sim.run({"pyr.v_B": 1.0})
    print(json.dumps({"dir": str(sim.project_dir), "mtime": binary.stat().st_mtime,
                      "u": res["pyr.u"].tolist()}))
""")


def _session(cache_dir, seed):
    env = dict(os.environ, PYTHONHASHSEED=str(seed))  # different set orders per session
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(cache_dir)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_new_python_session_reuses_the_compiled_binary(tmp_path):
    first = _session(tmp_path, seed=1)
    sessions = [_session(tmp_path, seed=s) for s in (2, 3)]
    for other in sessions:
        assert other["dir"] == first["dir"]
        assert other["mtime"] == first["mtime"]  # not recompiled
        assert other["u"] == first["u"]
    compiled = [p for p in tmp_path.iterdir() if (p / "main").exists()]
    assert len(compiled) == 1


def _build_small():
    from brian2 import StateMonitor

    import brian_dendrites.models as models

    g = models.pyramidal_neuron().make_group(2, name="pyr_alive")
    return {"pyr_alive": g, "mon_alive": StateMonitor(g, "u", record=True, name="mon_alive")}


def test_objects_alive_elsewhere_do_not_force_a_recompile(tmp_path):
    """Brian2 renames code objects ('_codeobject_1') if a same-named object is alive."""
    from brian2 import Network, ms

    from brian_dendrites.engine import Simulation

    first = Simulation(_build_small, 1 * ms, target="cpp_standalone", cache_dir=tmp_path,
                       name="alive")
    other_network = Network()  # an automatically named network stays alive too
    keep = Simulation(_build_small, 1 * ms, target="numpy", name="alive")  # objects stay alive
    assert keep.run()["pyr_alive.u"].shape == (2,)  # ... and so do its code objects
    second = Simulation(_build_small, 1 * ms, target="cpp_standalone", cache_dir=tmp_path,
                        name="alive")
    assert second.project_dir == first.project_dir
    assert len(list(tmp_path.glob("*/main"))) == 1
    assert other_network.name.startswith("network")
    a, b = first.run({"pyr_alive.v_B": 2.0}), second.run({"pyr_alive.v_B": 2.0})
    assert set(a) == set(b)
    for key in a:
        assert (a[key] == b[key]).all(), key


def test_precompiled_header_gives_the_same_binary(tmp_path):
    """Parsing the shared headers once changes the build time, not the binary."""
    from brian2 import prefs

    from brian_dendrites._brian_compat import PCH_HEADER
    from brian_dendrites.engine import Simulation

    sims = {}
    old = prefs["brian_dendrites.precompiled_header"]
    try:
        for flag in (False, True):
            prefs["brian_dendrites.precompiled_header"] = flag
            sims[flag] = Simulation(_build_small, 1 * ms, target="cpp_standalone",
                                    cache_dir=tmp_path / str(flag), name="pch")
    finally:
        prefs["brian_dendrites.precompiled_header"] = old
    plain, pch = (Path(sims[f].project_dir) for f in (False, True))
    assert not (plain / PCH_HEADER).exists()
    header = (pch / PCH_HEADER).read_text()
    assert '#include "objects.h"' in header and "code_objects/" not in header
    assert not list(pch.glob("*.gch"))  # tens of MB, removed after the build
    assert PCH_HEADER in (pch / "makefile").read_text()
    codeobjs = sorted(p.name for p in (plain / "code_objects").glob("*.o"))
    assert len(codeobjs) >= 3
    for name in codeobjs:  # the compiler produced exactly the same code
        assert ((plain / "code_objects" / name).read_bytes()
                == (pch / "code_objects" / name).read_bytes()), name
    assert (plain / "main").read_bytes() == (pch / "main").read_bytes()
    a, b = sims[False].run({"pyr_alive.v_B": 2.0}), sims[True].run({"pyr_alive.v_B": 2.0})
    assert (a["pyr_alive.u"] == b["pyr_alive.u"]).all()


def test_precompiled_header_leaves_unexpected_projects_alone(tmp_path):
    from brian_dendrites._brian_compat import PCH_HEADER, use_precompiled_header

    assert not use_precompiled_header(tmp_path)  # no makefile
    (tmp_path / "makefile").write_text("OBJS = a.o\nCXXFLAGS = -O3\n")
    (tmp_path / "code_objects").mkdir()
    (tmp_path / "code_objects" / "a.cpp").write_text('#include "objects.h"\nint a;\n')
    assert not use_precompiled_header(tmp_path)  # no H_SRCS / make.deps include
    assert (tmp_path / "makefile").read_text() == "OBJS = a.o\nCXXFLAGS = -O3\n"
    assert not (tmp_path / PCH_HEADER).exists()


# --------------------------------------------------- Brian's run preferences
@pytest.fixture
def run_prefs():
    """Restore Brian's standalone run preferences and brian_dendrites' cache pref."""
    from brian2 import prefs

    names = ["devices.cpp_standalone.run_cmd_unix",
             "devices.cpp_standalone.run_environment_variables",
             "brian_dendrites.cache_dir"]
    saved = {n: prefs[n] for n in names}
    yield prefs
    for n, v in saved.items():
        prefs[n] = v


@pytest.mark.skipif(os.name == "nt", reason="run_cmd_unix is not used on Windows")
def test_standalone_command_follows_brian_prefs(run_prefs):
    from brian_dendrites.engine.simulation import standalone_command

    cmd, env = standalone_command("/proj", ["--results_dir", "out/", "g.v=1.0"])
    assert cmd == ["./main", "--results_dir", "out/", "g.v=1.0"]  # Brian's default
    assert env["LD_BIND_NOW"] == "1"  # Brian's default run_environment_variables
    run_prefs.devices.cpp_standalone.run_cmd_unix = ["arch", "-x86_64", "./main"]
    run_prefs.devices.cpp_standalone.run_environment_variables = {"BD_X": "42", "PATH": "/bin"}
    cmd, env = standalone_command("/proj", ["a=1"])
    assert cmd == ["arch", "-x86_64", "./main", "a=1"]
    assert env["BD_X"] == "42" and env["PATH"] == "/bin"
    assert "BD_X" not in os.environ  # this process's environment is untouched
    with pytest.raises(TypeError, match="run_args"):
        standalone_command("/proj", "a=1")


def test_standalone_run_honours_prefs_and_decides_by_exit_code(run_prefs, cache_dir):
    """A wrapper run command sees the pref's environment; stderr alone is no failure."""
    from brian_dendrites.engine import Simulation

    sim = Simulation(_build_small, 1 * ms, target="cpp_standalone", cache_dir=cache_dir,
                     name="runprefs")
    expected = sim.run({"pyr_alive.v_B": 2.0})["pyr_alive.u"]
    run_prefs.devices.cpp_standalone.run_environment_variables = {"BD_TEST_VAR": "42"}
    script = ('[ "$BD_TEST_VAR" = 42 ] || exit 7; '
              'echo "error: a message on stderr is not a failure" >&2; exec ./main "$@"')
    run_prefs.devices.cpp_standalone.run_cmd_unix = ["sh", "-c", script, "sh"]
    res = sim.run({"pyr_alive.v_B": 2.0})
    assert (res["pyr_alive.u"] == expected).all()
    run_prefs.devices.cpp_standalone.run_cmd_unix = ["sh", "-c", "echo broken >&2; exit 3", "sh"]
    with pytest.raises(RuntimeError, match=r"(?s)exit 3.*broken"):
        sim.run()


def test_cache_dir_preference_and_environment(run_prefs, monkeypatch, tmp_path):
    from brian2 import PreferenceError

    from brian_dendrites.engine import Simulation, default_cache_dir

    run_prefs.brian_dendrites.cache_dir = None
    monkeypatch.setenv("BRIAN_DENDRITES_CACHE", str(tmp_path / "env"))
    assert default_cache_dir() == tmp_path / "env"
    monkeypatch.delenv("BRIAN_DENDRITES_CACHE")
    assert default_cache_dir() == (Path.home() / ".cache" / "brian_dendrites").resolve()
    monkeypatch.setenv("BRIAN_DENDRITES_CACHE", str(tmp_path / "env"))
    run_prefs.brian_dendrites.cache_dir = str(tmp_path / "pref")  # the preference wins
    assert default_cache_dir() == tmp_path / "pref"
    sim = Simulation(_build_small, 1 * ms, target="numpy", name="cachepref")
    assert sim.cache_dir == tmp_path / "pref"
    with pytest.raises(PreferenceError):
        run_prefs.brian_dendrites.cache_dir = 5


def test_network_reads_the_cpu_clock_once_per_run(cache_dir):
    """The time-step loop makes no clock system call (hoist_run_clock matched Brian2's code)."""
    from brian_dendrites.engine import Simulation

    sim = Simulation(_build_small, 1 * ms, target="cpp_standalone", cache_dir=cache_dir,
                     name="runprefs")
    source = (sim.project_dir / "network.cpp").read_text()
    start = source.index("while(clock")
    loop = source[start:source.index("Network::_globally_running = false;", start)]
    body, after = loop[:loop.rindex("}")], loop[loop.rindex("}"):]
    assert "elapsed_realtime =" not in body  # was read after every step
    assert "current = std::clock();" in after and "elapsed_realtime =" in after  # now once
    res = sim.run({"pyr_alive.v_B": 2.0})
    # 10 Euler steps of du/dt = -g_L u + g_B (v_B - u) + g_A (0 - u) from 0
    # (g_L, g_B, g_A = 0.1, 1, 0.8 per ms)
    u = 0.0
    for _ in range(10):
        u += 0.1 * (-0.1 * u + 1.0 * (2.0 - u) - 0.8 * u)
    np.testing.assert_allclose(res["pyr_alive.u"], u, rtol=1e-12)


def test_float32_and_float64_builds_have_separate_cache_entries(tmp_path):
    """The dtype is part of the cache key: both binaries stay in the cache."""
    from brian_dendrites.engine import Simulation

    sims = {d: Simulation(_build_small, 1 * ms, target="cpp_standalone", cache_dir=tmp_path,
                          name="dtypes", dtype=d) for d in ("float64", "float32")}
    assert sims["float64"].project_dir != sims["float32"].project_dir
    assert len(list(tmp_path.glob("dtypes_*/main"))) == 2
    u64 = sims["float64"].run({"pyr_alive.v_B": 2.0})["pyr_alive.u"]
    u32 = sims["float32"].run({"pyr_alive.v_B": 2.0})["pyr_alive.u"]
    assert u64.dtype == np.float64 and u32.dtype == np.float32
    np.testing.assert_allclose(u32, u64, rtol=1e-6)
    assert np.any(u32 != u64)


def _build_sampled():
    from brian2 import StateMonitor

    import brian_dendrites.models as models

    g = models.pyramidal_neuron().make_group(2, name="pyr_sampled")
    # a monitor with its own dt has its own clock, 'mon_sampled_clock', renamed
    # ('mon_sampled_clock_1') by Brian2 while another one is alive
    return {"pyr_sampled": g, "mon_sampled": StateMonitor(g, "u", record=True, dt=0.5 * ms,
                                                          name="mon_sampled")}


def test_two_live_simulations_of_one_network_share_the_binary(tmp_path):
    """A session keeps its circuit's objects: a second build sees their names taken."""
    from brian_dendrites.engine import Simulation

    alive = []

    def build():
        alive.append(_build_sampled())
        return alive[-1]

    first = Simulation(build, 2 * ms, target="cpp_standalone", cache_dir=tmp_path,
                       name="sampled")
    second = Simulation(build, 2 * ms, target="cpp_standalone", cache_dir=tmp_path,
                        name="sampled")
    assert alive[1]["mon_sampled"].clock.name != "mon_sampled_clock"  # Brian2 renamed it
    assert second.project_dir == first.project_dir
    assert len(list(tmp_path.glob("sampled_*/main"))) == 1
    a, b = first.run({"pyr_sampled.v_B": 2.0}), second.run({"pyr_sampled.v_B": 2.0})
    assert a["mon_sampled.u"].shape == (2, 4)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def _build_static():
    """Values set before the build (static arrays); ``mark`` decides which synapses exist."""
    from brian2 import NeuronGroup, Synapses

    pre = NeuronGroup(4, "r : 1\nmark : 1", name="sk_pre")
    post = NeuronGroup(3, "v : 1", name="sk_post")
    pre.r = [1.0, 2.0, 3.0, 4.0]
    pre.mark = [0.0, 1.0, 1.0, 0.0]
    syn = Synapses(pre, post, "w : 1\nv_post = w*r_pre : 1 (summed)", name="sk_syn")
    syn.connect()
    syn.w = np.arange(12.0) / 10
    # a creation that reads a static value before the run arguments apply
    cond = Synapses(pre, post, "c : 1", name="sk_cond")
    cond.connect(condition="mark_pre > 0")
    return {"sk_pre": pre, "sk_post": post, "sk_syn": syn, "sk_cond": cond}


def test_runs_skip_the_static_values_of_the_variables_they_set(cache_dir, tmp_path):
    """A variable passed per run is not read from its static file first (skip_given_static_arrays);
    one that code reads before the run arguments apply (a connect condition) still is.
    """
    from brian_dendrites.engine import Simulation

    sim = Simulation(_build_static, 1 * ms, target="cpp_standalone", cache_dir=cache_dir,
                     name="skipstatic")
    main = (sim.project_dir / "main.cpp").read_text()
    for name in ("sk_syn.w", "sk_pre.r"):
        assert f'_brian_dendrites_given("{name}")' in main
    assert '_brian_dendrites_given("sk_pre.mark")' not in main  # read by sk_cond's creation
    W = np.arange(12.0).reshape(4, 3) / 10  # synapse (i, j) = i*3 + j
    r = np.array([1.0, 2.0, 3.0, 4.0])

    static = sim.run(read=["sk_post.v", "sk_cond.N"])  # nothing given: the static values
    np.testing.assert_allclose(static["sk_post.v"], r @ W, rtol=1e-12)
    assert int(static["sk_cond.N"][0]) == 2 * 3
    W2, r2 = np.full((4, 3), 0.5), np.array([4.0, 3.0, 2.0, 1.0])
    given = sim.run({"sk_syn.w": W2.ravel(), "sk_pre.r": r2, "sk_pre.mark": 1.0},
                    read=["sk_post.v", "sk_cond.N", "sk_pre.mark"])
    np.testing.assert_allclose(given["sk_post.v"], r2 @ W2, rtol=1e-12)
    # the creation saw the static marks (Brian2: run arguments apply after it)
    assert int(given["sk_cond.N"][0]) == 2 * 3
    np.testing.assert_array_equal(given["sk_pre.mark"], 1.0)
    one = sim.run({"sk_pre.r": r2}, read=["sk_post.v"])  # weights static again
    np.testing.assert_allclose(one["sk_post.v"], r2 @ W, rtol=1e-12)
    # the binary reports its own peak memory (a few MB for this network)
    if sys.platform.startswith("linux"):
        assert 10**6 < one.peak_memory < 10**9
    runtime = Simulation(_build_static, 1 * ms, target="numpy", name="skipstatic_rt")
    assert runtime.run({"sk_pre.r": r2}).peak_memory is None
    # a value file of the wrong size (Brian2: a message, then the static value) ends the run
    wrong = tmp_path / "w.dat"
    np.zeros(5).tofile(wrong)
    (tmp_path / "results").mkdir()
    out = subprocess.run([str(sim.project_dir / "main"), "--results_dir",
                          str(tmp_path / "results") + os.sep, f"sk_syn.w={wrong}"],
                         cwd=sim.project_dir, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "does not match expected size" in out.stderr


#: Initial values, the special ones included (run values refuse NaN and infinities).
_VM_V0 = np.concatenate([[np.nan, np.inf, -np.inf], np.linspace(-4, 4, 61)])


def _build_tanh():
    from brian2 import NeuronGroup

    g = NeuronGroup(64, "v : 1\nr : 1", name="vm_g")
    g.v = _VM_V0
    g.run_regularly("r = tanh(v)\nv = 0.9*v", name="vm_rate")
    return {"vm_g": g}


def test_element_loops_use_glibc_vector_maths(cache_dir):
    """A dependency-free loop calling tanh gets libmvec's SIMD variant declared (declare_vector_math)
    and agrees with NumPy's tanh to a few units in the last place, NaN and infinities included.
    """
    import platform
    import shutil

    from brian_dendrites.engine import Simulation

    sim = Simulation(_build_tanh, 0.3 * ms, target="cpp_standalone", cache_dir=cache_dir,
                     name="vecmath")
    source = (sim.project_dir / "code_objects" / "vm_rate_codeobject.cpp").read_text()
    assert "#pragma GCC ivdep" in source
    assert 'double tanh(double) noexcept;' in source
    res = sim.run(read=["vm_g.r", "vm_g.v"])
    v_last = _VM_V0 * 0.9**2  # r is computed from v before the step's decay: 3 steps of 0.1 ms
    expected = np.tanh(v_last)
    np.testing.assert_array_equal(np.isnan(res["vm_g.r"]), np.isnan(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(res["vm_g.r"][finite], expected[finite], rtol=1e-15, atol=1e-15)
    nm = shutil.which("nm")
    if sys.platform.startswith("linux") and platform.machine() == "x86_64" and nm:
        symbols = subprocess.run([nm, "-D", str(sim.project_dir / "main")], capture_output=True,
                                 text=True).stdout
        glibc = tuple(int(p) for p in platform.libc_ver()[1].split(".")[:2] or (0, 0))
        if glibc >= (2, 35):
            assert "v_tanh" in symbols  # _ZGVdN4v_tanh (AVX2) or _ZGVbN2v_tanh (SSE)
