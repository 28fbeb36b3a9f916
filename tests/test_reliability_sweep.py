"""sweep() under real signals: Ctrl-C returns the finished points promptly, workers die with the sweep.

Each test runs a sweep in a Python subprocess (its own session, as a program
started from a terminal) and signals it. The sweep's points run a cheap
``numpy`` network whose runs are made slow by a network operation that runs
``sleep`` (a child process, standing in for a standalone binary) every
simulated millisecond.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from brian2 import NeuronGroup, ms, network_operation

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")

#: Seconds a sweep may take to end after Ctrl-C (generous: the machine is shared).
PROMPT = 8.0
#: Seconds to wait for the slow points to start (workers import brian2 and build).
START_TIMEOUT = 120.0

DRIVER = """
import json, signal, sys, time
sys.path.insert(0, {tests!r})
from test_reliability_sweep import slow_network
from brian_dendrites.sweep import sweep

if __name__ == "__main__":  # (spawned workers import this file)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    try:
        df = sweep(slow_network, {{"g.pause": {pauses!r}}}, read=["g.v"], target="numpy",
                   n_jobs={n_jobs}, progress=False)
        out = dict(outcome="returned", errors=df["error"].fillna("ok").tolist())
    except KeyboardInterrupt as exc:
        partial = getattr(exc, "partial", None)
        out = dict(outcome=type(exc).__name__, raised_at=time.time(),
                   errors=None if partial is None else partial["error"].fillna("ok").tolist(),
                   interrupted=None if partial is None else partial.attrs.get("interrupted"))
    print(json.dumps(out), flush=True)
"""


def slow_network():
    """One neuron; every 1 ms of its 10 ms run sleeps ``g.pause`` seconds in a child process."""

    def build():
        g = NeuronGroup(1, "v : 1\npause : 1 (constant)", name="g")

        @network_operation(dt=1 * ms)
        def wait():
            pause = float(g.pause_[:][0])
            if pause > 0:
                Path(os.environ["SWEEP_MARKERS"], str(os.getpid())).touch()  # a slow point started
                subprocess.run(["sleep", str(pause)], check=False)

        return {"g": g, "wait": wait}

    return build, 10 * ms


def _group(pgid) -> list:
    """Live processes of process group ``pgid`` (zombies have ended)."""
    out = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()  # state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != b"Z":
            out.append(int(entry.name))
    return out


def _wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def start_sweep(tmp_path):
    """Start a sweep in its own session; wait until ``n_slow`` slow points run; kill leftovers at the end."""
    started = []

    def start(pauses, n_jobs, n_slow):
        markers = tmp_path / "markers"
        markers.mkdir()
        script = tmp_path / "driver.py"
        script.write_text(DRIVER.format(tests=str(Path(__file__).parent), pauses=pauses, n_jobs=n_jobs))
        env = dict(os.environ, SWEEP_MARKERS=str(markers))
        proc = subprocess.Popen([sys.executable, str(script)], env=env, start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        if not _wait_until(lambda: len(list(markers.iterdir())) >= n_slow or proc.poll() is not None,
                           START_TIMEOUT):
            pytest.fail(f"the slow points did not start within {START_TIMEOUT} s")
        assert proc.poll() is None, proc.communicate()
        return proc

    yield start
    for proc in started:  # the session's processes (none should be left)
        for pid in _group(proc.pid):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def _interrupt(proc, to_group):
    """Send SIGINT; return (seconds until the sweep raised, until its process ended, its report)."""
    t_sent, t0 = time.time(), time.monotonic()
    if to_group:
        os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C
    else:
        os.kill(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=3 * PROMPT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the sweep was still running {3 * PROMPT} s after SIGINT")
    took = time.monotonic() - t0
    assert out.strip(), err
    report = json.loads(out.strip().splitlines()[-1])
    raised = report.pop("raised_at", t_sent + took) - t_sent
    print(f"SIGINT -> sweep raised after {raised:.2f} s, its process ended after {took:.2f} s")
    return raised, took, report


@pytest.mark.parametrize("to_group", [True, False], ids=["Ctrl-C", "SIGINT-main-only"])
def test_ctrl_c_on_local_workers_returns_finished_points_promptly_and_ends_workers(start_sweep, to_group):
    # 2 fast points, then 2 points of 10 x 3 s, one per worker
    proc = start_sweep([0.0, 0.0, 3.0, 3.0], n_jobs=2, n_slow=2)
    members = _group(proc.pid)
    assert len(members) >= 5  # main, 2 workers, their 2 sleeps (and the resource tracker)
    raised, took, report = _interrupt(proc, to_group)
    assert report == dict(outcome="SweepInterrupted", errors=["ok", "ok", "interrupted", "interrupted"],
                          interrupted=True)
    assert raised < PROMPT / 2 and took < PROMPT
    # no worker, binary stand-in or resource tracker is left
    assert _wait_until(lambda: not _group(proc.pid), 5.0), _group(proc.pid)


def test_ctrl_c_on_a_serial_runtime_sweep_stops_at_once(start_sweep):
    # brian2's own SIGINT handler only ends the running point early (as if it had
    # finished): that point must not become a result, and no further point may run
    proc = start_sweep([0.0, 0.5, 0.5, 0.5], n_jobs=1, n_slow=1)
    raised, took, report = _interrupt(proc, to_group=False)
    assert report == dict(outcome="SweepInterrupted", errors=["ok", "interrupted", "interrupted", "interrupted"],
                          interrupted=True)
    assert raised < PROMPT / 2 and took < PROMPT


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_workers_die_with_the_sweeps_process(start_sweep, sig):
    proc = start_sweep([3.0, 3.0], n_jobs=2, n_slow=2)
    assert len(_group(proc.pid)) >= 5
    t0 = time.monotonic()
    os.kill(proc.pid, sig)
    proc.wait(timeout=10)
    gone = _wait_until(lambda: not _group(proc.pid), 5.0)
    print(f"{signal.Signals(sig).name}: workers and their children gone after {time.monotonic() - t0:.2f} s")
    assert gone, f"left after {signal.Signals(sig).name} of the sweep: {_group(proc.pid)}"
