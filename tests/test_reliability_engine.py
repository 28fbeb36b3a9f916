"""Engine reliability: per-run seeds, no orphans or litter, one binary per network, cache.

The signal tests start real Python processes that run or build a standalone
network, send them real signals and look for leftover processes in ``/proc``.
"""

import datetime
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from brian2 import NeuronGroup, Synapses, ms

import brian_dendrites.engine.simulation as simulation
from brian_dendrites.engine import Simulation, cache_info, prune_cache

HAVE_PROC = Path("/proc/self/cwd").exists()
needs_proc = pytest.mark.skipif(not HAVE_PROC or os.name != "posix",
                                reason="needs Linux /proc and POSIX signals")


def _build_noisy():
    g = NeuronGroup(3, "dv/dt = -v/(10*ms) + xi*sqrt(2/(10*ms)) : 1", method="euler",
                    name="noisy")
    return {"noisy": g}


def _build_tiny():
    g = NeuronGroup(2, "dv/dt = (I - v)/(10*ms) : 1\nI : 1 (constant)", method="exact",
                    name="tiny")
    return {"tiny": g}


@pytest.fixture
def compiles(monkeypatch):
    """Count the projects the engine compiles."""
    calls = []
    original = simulation._compile

    def counting(device, directory):
        calls.append(directory)
        return original(device, directory)

    monkeypatch.setattr(simulation, "_compile", counting)
    return calls


@pytest.fixture(scope="module")
def tiny(cache_dir):
    """A compiled tiny network in the session cache (copied into fresh caches)."""
    return Simulation(_build_tiny, 1 * ms, target="cpp_standalone", cache_dir=cache_dir,
                      name="tiny")


def _copy_project(sim, cache: Path) -> Path:
    """Put a compiled project into another cache (the same network reuses it there)."""
    cache.mkdir(parents=True, exist_ok=True)
    dst = cache / sim.project_dir.name
    shutil.copytree(sim.project_dir, dst, symlinks=True)
    return dst


# ------------------------------------------------------------ per-run seeds
def test_runtime_run_seed_gives_independent_reproducible_noise():
    sim = Simulation(_build_noisy, 5 * ms, target="numpy", seed=7, name="noisy")
    a, b, a2 = (sim.run(seed=s)["noisy.v"] for s in (1, 2, 1))
    assert not np.array_equal(a, b)
    assert np.array_equal(a, a2)  # bit for bit
    # None keeps the construction seed, as before
    assert np.array_equal(sim.run()["noisy.v"], sim.run(seed=7)["noisy.v"])
    for bad in (-1, 2**32, 1.5, True, "1"):
        with pytest.raises(ValueError, match="seed"):
            sim.run(seed=bad)
    with pytest.raises(ValueError, match="seed"):
        Simulation(_build_noisy, 1 * ms, target="numpy", seed=2**32, name="noisy")


def test_standalone_run_seed_is_passed_at_run_time(cache_dir, compiles):
    cpp = Simulation(_build_noisy, 5 * ms, target="cpp_standalone", seed=7,
                     cache_dir=cache_dir, name="noisy")
    a, b, a2 = (cpp.run(seed=s)["noisy.v"] for s in (1, 2, 1))
    assert not np.array_equal(a, b)
    assert np.array_equal(a, a2)
    default = cpp.run()["noisy.v"]
    assert np.array_equal(default, cpp.run()["noisy.v"])  # the compiled-in seed, as before
    assert np.array_equal(default, cpp.run(seed=7)["noisy.v"])
    # numpy and cpp_standalone draw the same numbers for the same seed
    npy = Simulation(_build_noisy, 5 * ms, target="numpy", seed=7, name="noisy")
    np.testing.assert_allclose(npy.run()["noisy.v"], default, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(npy.run(seed=2)["noisy.v"], b, rtol=1e-12, atol=1e-14)
    # the seed is not part of the binary: other run seeds need no new build
    assert len(compiles) <= 1


# ------------------------------------------------ one binary per network
def _build_dense():
    from brian_dendrites.dense import connect_dense

    pre = NeuronGroup(3, "r : 1", name="dpre")
    pre.r = "0.2 + 0.1*i"
    post = NeuronGroup(2, "v : 1", name="dpost")
    syn = Synapses(pre, post, "dw/dt = -w/(10*ms) : 1 (clock-driven)\nv_post = w*r_pre : 1 (summed)",
                   method="euler", name="dsyn")
    connect_dense(syn)
    syn.w = 0.5
    return {"dpre": pre, "dpost": post, "dsyn": syn}


def test_hash_ignores_codeobject_suffix_inside_names(tmp_path):
    texts = {"a": "#ifndef _INCLUDED_syn_stateupdater_codeobject_before\nx_codeobject();\n",
             "b": "#ifndef _INCLUDED_syn_stateupdater_codeobject_1_before\nx_codeobject_12();\n"}
    digests = []
    for name, text in texts.items():
        (tmp_path / name / "code_objects").mkdir(parents=True)
        (tmp_path / name / "code_objects" / "before_run_syn_codeobject_1.h").write_text(text)
        digests.append(simulation._hash_project(tmp_path / name))
    assert digests[0] == digests[1]


def test_identical_dense_network_reuses_the_binary_while_objects_are_alive(tmp_path, compiles):
    first = Simulation(_build_dense, 1 * ms, target="cpp_standalone", cache_dir=tmp_path,
                       name="dense")
    assert first.dense_synapses == ["dsyn"]
    alive = Simulation(_build_dense, 1 * ms, target="numpy", name="dense")
    alive.run()  # its code objects stay alive: Brian2 suffixes the next ones ('_1')
    t0 = time.perf_counter()
    second = Simulation(_build_dense, 1 * ms, target="cpp_standalone", cache_dir=tmp_path,
                        name="dense")
    assert second.project_dir == first.project_dir
    assert len(compiles) == 1
    assert time.perf_counter() - t0 < first.build_time
    assert np.array_equal(first.run()["dpost.v"], second.run()["dpost.v"])


# ------------------------------------------------------------ cache paths
def test_home_and_relative_cache_dirs(tmp_path, monkeypatch, tiny, compiles):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    sim = Simulation(_build_tiny, 1 * ms, target="numpy", cache_dir="~/bdc", name="tiny")
    assert sim.cache_dir == tmp_path / "home" / "bdc"
    monkeypatch.chdir(tmp_path)
    _copy_project(tiny, tmp_path / "rel")
    sim = Simulation(_build_tiny, 1 * ms, target="cpp_standalone", cache_dir="rel",
                     name="tiny")
    assert sim.cache_dir == tmp_path / "rel" and sim.project_dir.is_absolute()
    assert not compiles  # the copied project was found through the relative path
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # still runs from another working directory
    assert sim.run({"tiny.I": 1.0})["tiny.v"].shape == (2,)
    with pytest.raises(TypeError, match="cache_dir"):
        Simulation(_build_tiny, 1 * ms, target="numpy", cache_dir=3, name="tiny")


def test_deleted_cache_is_recreated(tmp_path, tiny, compiles):
    cache = tmp_path / "cache"
    _copy_project(tiny, cache)
    sim = Simulation(_build_tiny, 1 * ms, target="cpp_standalone", cache_dir=cache, name="tiny")
    expected = sim.run({"tiny.I": 1.0})["tiny.v"]
    shutil.rmtree(cache)
    assert np.array_equal(sim.run({"tiny.I": 1.0})["tiny.v"], expected)  # rebuilt
    assert len(compiles) == 1 and (sim.project_dir / "main").exists()


def test_truncated_binary_is_detected_and_rebuilt(tmp_path, tiny, compiles):
    cache = tmp_path / "cache"
    project = _copy_project(tiny, cache)
    expected = tiny.run({"tiny.I": 1.0})["tiny.v"]
    binary = project / "main"
    with open(binary, "r+b") as f:  # same size, corrupt content
        f.seek(binary.stat().st_size // 2)
        f.write(b"\0" * 64)
    assert not cache_info(cache)["valid"].any()
    sim = Simulation(_build_tiny, 1 * ms, target="cpp_standalone", cache_dir=cache, name="tiny")
    assert len(compiles) == 1 and sim.project_dir == project
    assert np.array_equal(sim.run({"tiny.I": 1.0})["tiny.v"], expected)
    with open(binary, "r+b") as f:  # truncated (a killed link, a full disk)
        f.truncate(1000)
    sim = Simulation(_build_tiny, 1 * ms, target="cpp_standalone", cache_dir=cache, name="tiny")
    assert len(compiles) == 2 and cache_info(cache)["valid"].all()


# ------------------------------------------------------- cache report, prune
def _dead_pid() -> int:
    pid = 999_999
    while Path(f"/proc/{pid}").exists() or pid == os.getpid():
        pid -= 1
    return pid


def test_cache_info_and_prune(tmp_path, tiny):
    cache = tmp_path / "cache"
    now = time.time()
    for i, age_days in enumerate((0, 10, 40)):
        project = cache / f"p{i}_0123456789abcdef"
        shutil.copytree(tiny.project_dir, project, symlinks=True)
        marker = project / simulation._CHECKSUM_FILE
        os.utime(marker, (now - age_days * 86400, now - age_days * 86400))
    dead = _dead_pid()
    staging = cache / f"{simulation._STAGING_PREFIX}{dead}_tiny_abc"
    rundir = cache / "p0_0123456789abcdef" / f"run_{dead}_xyz"
    live = cache / "p0_0123456789abcdef" / f"run_{os.getpid()}_xyz"
    for d in (staging, rundir, live):
        d.mkdir()
    info = cache_info(cache)
    assert list(info["project"]) == [f"p{i}_0123456789abcdef" for i in range(3)]
    assert (info["size_bytes"] > 0).all() and info["valid"].all()
    assert info.attrs["total_bytes"] == info["size_bytes"].sum()
    assert info["last_used"].iloc[0] > info["last_used"].iloc[1] > info["last_used"].iloc[2]
    removed = prune_cache(cache, older_than=datetime.timedelta(days=30))
    assert list(removed["project"]) == ["p2_0123456789abcdef"]
    assert not staging.exists() and not rundir.exists() and live.exists()
    removed = prune_cache(cache, keep=1)
    assert list(removed["project"]) == ["p1_0123456789abcdef"]
    assert list(cache_info(cache)["project"]) == ["p0_0123456789abcdef"]
    with pytest.raises(ValueError, match="keep=0"):
        prune_cache(cache)  # emptying the cache must be asked for
    assert len(prune_cache(cache, keep=0)) == 1 and len(cache_info(cache)) == 0
    assert len(cache_info(tmp_path / "absent")) == 0
    with pytest.raises(ValueError, match="keep"):
        prune_cache(cache, keep=-1)
    with pytest.raises(ValueError, match="older_than"):
        prune_cache(cache, older_than="1 day")
    with pytest.raises(TypeError, match="cache_dir"):
        cache_info(cache_dir=3)


# ------------------------------------------------- make with bounded jobs
def test_builds_run_make_with_bounded_jobs(monkeypatch, tmp_path):
    from brian2 import prefs

    from brian_dendrites._brian_compat import make_command, make_jobs

    assert prefs.devices.cpp_standalone.extra_make_args_unix == ["-j"]  # Brian's default
    cmd = make_command()
    assert cmd[-1] == f"-j{make_jobs()}" and make_jobs() <= (os.cpu_count() or 1)
    prefs.devices.cpp_standalone.extra_make_args_unix = ["-j3", "-k"]
    try:
        assert make_command()[-2:] == ["-j3", "-k"]  # an explicit choice is kept
    finally:
        prefs.devices.cpp_standalone.extra_make_args_unix = ["-j"]
    with pytest.raises(ValueError, match="jobs"):
        make_command(jobs=0)
    # the engine runs that command itself (so that it can stop the compilers)
    monkeypatch.setattr(simulation, "make_command", lambda: ["sh", "-c", "echo no >&2; exit 3"])
    with pytest.raises(RuntimeError, match=r"(?s)exit 3.*no"):
        simulation._compile(None, tmp_path)


# ------------------------------------------------------ signals and orphans
SLOW_RUN = textwrap.dedent("""
    import signal, sys
    from brian2 import NeuronGroup, second
    # as in an interactive session (a background shell starts us with SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from brian_dendrites.engine import Simulation

    def build():
        return {"slow": NeuronGroup(2000, "dv/dt = -v/(10*ms) : 1", method="exact", name="slow")}

    sim = Simulation(build, 1000 * second, target="cpp_standalone", cache_dir=sys.argv[1],
                     name="slow")
    print(sim.project_dir, flush=True)
    sim.run()
""")


def _processes_where(predicate, exclude=()) -> list:
    """Pids of live processes whose ``(exe, cwd)`` satisfy ``predicate``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in (os.getpid(), *exclude):
            continue
        try:
            exe, cwd = os.readlink(entry / "exe"), os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and predicate(exe, cwd):
            pids.append(int(entry.name))
    return pids


def _wait_for(condition, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    return condition()


def _kill_all(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _start(script, cache):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-c", script, str(cache)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@needs_proc
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL],
                         ids=["SIGTERM", "SIGINT", "SIGKILL"])
def test_signal_to_python_stops_the_running_binary(cache_dir, sig):
    proc = _start(SLOW_RUN, cache_dir)
    project = Path(proc.stdout.readline().strip())
    binary = str(project / "main")

    def binaries():
        return _processes_where(lambda exe, cwd: exe == binary)

    try:
        assert project.name, proc.communicate(timeout=60)[1][-3000:]
        assert _wait_for(binaries, 60), "the binary did not start"
        proc.send_signal(sig)
        proc.communicate(timeout=30)
        assert _wait_for(lambda: not binaries(), 5), "the binary outlived the Python process"
        if sig != signal.SIGKILL:
            assert proc.returncode != 0
            assert not list(project.glob("run_*"))  # its run folder was removed
        else:  # the next build or prune removes what a killed process left
            prune_cache(cache_dir, older_than=1e9)
            assert not list(project.glob(f"run_{proc.pid}_*"))
    finally:
        proc.kill()
        _kill_all(binaries())


BUILD = textwrap.dedent("""
    import sys
    from brian2 import NeuronGroup, ms
    from brian_dendrites.engine import Simulation

    def build():
        return {"interrupted": NeuronGroup(2, "dv/dt = -v/(10*ms) : 1", method="exact",
                                           name="interrupted")}

    Simulation(build, 1 * ms, target="cpp_standalone", cache_dir=sys.argv[1], name="interrupted")
""")


@needs_proc
def test_sigterm_during_a_build_stops_the_compilers(tmp_path):
    cache = tmp_path / "cache"
    proc = _start(BUILD, cache)

    def builders():  # make and the compilers run in the staging folder
        return _processes_where(lambda exe, cwd: cwd.startswith(str(cache)), exclude=[proc.pid])

    try:
        assert _wait_for(builders, 120), "the build did not start"
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        assert proc.returncode != 0
        assert _wait_for(lambda: not builders(), 10), "compilers outlived the Python process"
        assert not list(cache.iterdir()) or all(p.suffix == ".lock" for p in cache.iterdir())
    finally:
        proc.kill()
        _kill_all(builders())
