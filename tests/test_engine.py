"""Engine: the compiled binary is reused by a new Python session."""

import json
import os
import subprocess
import sys
import textwrap

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
