"""sweep(): one build per shape, run values per point, failures per row, processes and dask."""

import gc
import os

import numpy as np
import pandas as pd
import pytest
from brian2 import Hz, ms

import brian_dendrites.models as models
from brian_dendrites.engine import Simulation
from brian_dendrites.models.plasticity import dendritic_prediction_rule
from brian_dendrites.sweep import NetworkSpec, expand_grid, sweep

DURATION = 3 * ms
#: 2 shapes x 3 values; the last value is rejected by the g_A >= 0 bound.
GRID = {"N": [2, 3], "pyr.g_A": [0.2 / ms, 0.6 / ms, -1 / ms]}
READ = ["pyr.u", "syn.w"]
#: Calls of the factory in this (main) process.
FACTORY_CALLS = []
COMPARED = ["N", "pyr.g_A", "pyr.u", "syn.w", "error"]


def tiny_network(N=2):
    """2 input neurons -> N pyramidal neurons through plastic basal synapses."""
    FACTORY_CALLS.append(N)

    def build():
        src = models.pyramidal_neuron().make_group(2, name="src")
        src.u = "3 + 2*i"
        pyr = models.pyramidal_neuron().make_group(N, name="pyr")
        pyr.u = 0.5
        syn = dendritic_prediction_rule().make_synapses(
            src, pyr, name="syn", connect=dict(p=1.0), eta=0.5 / ms)
        syn.w = "0.3 + 0.1*i - 0.05*j"
        return {"src": src, "pyr": pyr, "syn": syn}

    return NetworkSpec(build, DURATION, name="tiny")


_BY_HAND = {}


def by_hand(target, cache_dir, N, g_A):
    """What sweep should produce for one point, computed with Simulation directly."""
    key = (target, str(cache_dir), N)
    if key not in _BY_HAND:
        # leftovers of earlier builds awaiting collection would rename Brian2's
        # code objects, change the code hash and force a recompilation
        gc.collect()
        _BY_HAND[key] = Simulation(tiny_network(N).build, DURATION, target=target,
                                   cache_dir=cache_dir, name="tiny")
    res = _BY_HAND[key].run({"pyr.g_A": g_A}, read=READ)
    return {k: float(np.mean(res[k])) for k in READ}


def w_spread(result):
    """A custom measure: top-level, so it pickles for n_jobs."""
    return {"w_min": float(result["syn.w"].min()), "u0": float(result["pyr.u"][0])}


@pytest.fixture(scope="module")
def sweep_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("sweep_cache")


@pytest.fixture(scope="module")
def serial_table(sweep_cache):
    """The standalone sweep everything else is compared with (2 compilations)."""
    FACTORY_CALLS.clear()
    df = sweep(tiny_network, GRID, read=READ, cache_dir=sweep_cache, progress=False)
    return df, list(FACTORY_CALLS)


def _assert_same_table(a, b):
    pd.testing.assert_frame_equal(a[COMPARED].reset_index(drop=True), b[COMPARED].reset_index(drop=True))


# --------------------------------------------------------------- inputs
def test_expand_grid_is_the_product_in_input_order():
    pts = expand_grid({"N": [1, 2], "g.x": [10, 20, 30]})
    assert [(p["N"], p["g.x"]) for p in pts] == [(1, 10), (1, 20), (1, 30), (2, 10), (2, 20), (2, 30)]
    pts = expand_grid([{"g.x": 3, "N": 1}, {"N": 2, "g.x": 4}])
    assert pts == [{"g.x": 3, "N": 1}, {"g.x": 4, "N": 2}]
    assert expand_grid(pd.DataFrame({"N": [1, 2]})) == [{"N": 1}, {"N": 2}]


@pytest.mark.parametrize(
    "params, exc, match",
    [
        ({}, ValueError, "params is empty"),
        ([], ValueError, "empty list"),
        ({"pyr.g_A": []}, ValueError, r"params\['pyr.g_A'\] is an empty list"),
        ({"pyr.g_A": 0.2 / ms}, TypeError, r"params\['pyr.g_A'\] must be a list"),
        ({"pyr.g_A": "abc"}, TypeError, r"must be a list"),
        ([{"N": 2}, {"M": 2}], ValueError, r"params\[1\] has different keys.*missing \['N'\].*extra \['M'\]"),
        ([{"N": 2}, 3], TypeError, r"params\[1\] must be a dict"),
        ({"pyr.g A": [1]}, ValueError, "must look like 'group.var'"),
        ({"N-1": [1]}, ValueError, "neither a shape parameter"),
        ("N=2", TypeError, "params must be a dict of lists"),
    ],
)
def test_malformed_params_raise_naming_the_argument(params, exc, match):
    with pytest.raises(exc, match=match):
        sweep(tiny_network, params, read=READ, target="numpy", progress=False)


def test_bad_arguments_raise_clear_errors():
    grid = {"pyr.g_A": [0.2 / ms]}
    with pytest.raises(TypeError, match="network_factory must be callable"):
        sweep("tiny_network", grid, read=READ)
    with pytest.raises(TypeError, match="shape parameter 'M' is not an argument.*accepts: N"):
        sweep(tiny_network, {"M": [2]}, read=READ, target="numpy")
    with pytest.raises(TypeError, match=r"requires \['K'\]"):
        sweep(lambda K: tiny_network(K), grid, read=READ, target="numpy")
    with pytest.raises(ValueError, match="needs read="):
        sweep(tiny_network, grid, target="numpy")
    with pytest.raises(ValueError, match="measure must be"):
        sweep(tiny_network, grid, read=READ, measure="median", target="numpy")
    with pytest.raises(ValueError, match="target must be one of"):
        sweep(tiny_network, grid, read=READ, target="gpu")
    with pytest.raises(ValueError, match="n_jobs must be"):
        sweep(tiny_network, grid, read=READ, n_jobs=0)
    with pytest.raises(ValueError, match="either client .* or n_jobs"):
        sweep(tiny_network, grid, read=READ, n_jobs=2, client=object())
    with pytest.raises(TypeError, match="network_factory must be picklable for n_jobs > 1"):
        sweep(lambda N=2: tiny_network(N), grid, read=READ, n_jobs=2)
    with pytest.raises(TypeError, match="values of shape parameters must be hashable"):
        sweep(tiny_network, {"N": [[2]]}, read=READ, target="numpy")


def test_unknown_names_raise_before_any_point_runs():
    with pytest.raises(KeyError, match=r"no variable 'pyr.g_AA'.*Did you mean 'pyr.g_A'"):
        sweep(tiny_network, {"pyr.g_AA": [0.2 / ms]}, read=READ, target="numpy", progress=False)
    with pytest.raises(KeyError, match=r"read: the network has no variable 'pyr.uu'"):
        sweep(tiny_network, {"pyr.g_A": [0.2 / ms]}, read=["pyr.uu"], target="numpy", progress=False)


# --------------------------------------------------------------- results
def test_numpy_target_equals_running_each_point_by_hand(tmp_path):
    grid = {"N": [2, 3], "pyr.g_A": [0.2 / ms, 0.6 / ms]}
    FACTORY_CALLS.clear()
    df = sweep(tiny_network, grid, read=READ, target="numpy", progress=False)
    assert FACTORY_CALLS == [2, 3]  # one build per shape, not per point
    assert list(df["N"]) == [2, 2, 3, 3]
    assert list(df["pyr.g_A"]) == [200.0, 600.0, 200.0, 600.0]  # SI (Hz)
    assert df.attrs["units"] == {"pyr.g_A": "Hz"}
    assert df["error"].isna().all()
    for _, row in df.iterrows():
        expected = by_hand("numpy", tmp_path, row["N"], row["pyr.g_A"] * Hz)
        assert row["pyr.u"] == expected["pyr.u"]
        assert row["syn.w"] == expected["syn.w"]
    # the parameter matters (no test that cannot fail)
    assert df["pyr.u"][0] != df["pyr.u"][1]
    _BY_HAND.clear()  # live runtime objects would rename later standalone code objects


def test_standalone_equals_running_each_point_by_hand(serial_table, sweep_cache):
    df, calls = serial_table
    assert len(df) == 6
    assert list(zip(df["N"], df["pyr.g_A"])) == [(2, 200.0), (2, 600.0), (2, -1000.0),
                                                  (3, 200.0), (3, 600.0), (3, -1000.0)]
    ok = df[df["error"].isna()]
    assert len(ok) == 4
    for _, row in ok.iterrows():
        expected = by_hand("cpp_standalone", sweep_cache, row["N"], row["pyr.g_A"] * Hz)
        assert row["pyr.u"] == expected["pyr.u"]
        assert row["syn.w"] == expected["syn.w"]
    assert ok["syn.w"].nunique() == 4  # shape and g_A both change the learned weights


def test_shape_parameters_are_grouped_into_one_build_each(serial_table, sweep_cache):
    df, calls = serial_table
    assert calls == [2, 3]
    assert [b["shape"] for b in df.attrs["builds"]] == [{"N": 2}, {"N": 3}]
    binaries = {os.path.dirname(b["project_dir"]) for b in df.attrs["builds"]}
    assert binaries == {str(sweep_cache)}
    compiled = sorted(p.parent for p in sweep_cache.glob("*/main"))
    assert len(compiled) == 2
    assert {str(p) for p in compiled} == {b["project_dir"] for b in df.attrs["builds"]}


def test_binary_is_not_rebuilt_per_point(serial_table, sweep_cache):
    df, _ = serial_table
    binaries = {b["project_dir"]: os.path.getmtime(os.path.join(b["project_dir"], "main"))
                for b in df.attrs["builds"]}
    again = sweep(tiny_network, {"N": [2], "pyr.g_A": list(np.linspace(0.1, 0.9, 5) / ms)},
                  read=READ, cache_dir=sweep_cache, progress=False)
    assert again["error"].isna().all()
    (build,) = again.attrs["builds"]
    assert build["project_dir"] in binaries
    assert os.path.getmtime(os.path.join(build["project_dir"], "main")) == binaries[build["project_dir"]]
    assert len(list(sweep_cache.glob("*/main"))) == 2
    assert again["pyr.u"].is_monotonic_decreasing or again["pyr.u"].is_monotonic_increasing
    assert again["pyr.u"].nunique() == 5
    # per-point overhead: one run of the binary plus reading results, never a build
    overhead = again["elapsed"]
    assert (overhead > 0).all() and (again["binary_time"] <= overhead).all()
    print(f"per-point overhead: median {overhead.median() * 1e3:.0f} ms, "
          f"build (code generation, binary reused) {build['build_time']:.1f} s")
    assert overhead.median() < 5.0  # generous: the machine is shared; seconds would mean a build


def test_a_failing_point_reports_its_error_and_loses_no_other(serial_table):
    df, _ = serial_table
    bad = df[df["pyr.g_A"] < 0]
    assert len(bad) == 2
    assert bad["error"].str.contains("ValueError").all()
    assert bad["error"].str.contains("'g_A' must be >= 0").all()
    assert bad["pyr.u"].isna().all() and bad["elapsed"].isna().all()
    good = df[df["pyr.g_A"] >= 0]
    assert good["error"].isna().all() and good["pyr.u"].notna().all()


def test_wrong_size_array_and_failing_build_are_reported_per_point(tmp_path):
    # 2 input x 2 pyramidal neurons = 4 synapses: a 3-element array is rejected
    df = sweep(tiny_network, [{"syn.w": np.full(4, 0.1)}, {"syn.w": np.full(3, 0.1)},
                              {"syn.w": np.full(4, 0.2)}],
               read=READ, target="numpy", progress=False)
    assert df["error"].isna().tolist() == [True, False, True]
    assert "must be a scalar or have 4 elements" in df["error"][1]
    assert list(df.columns[:3]) == ["syn.w", "pyr.u", "syn.w (mean)"]
    assert df["syn.w (mean)"][2] > df["syn.w (mean)"][0]

    df = sweep(fragile_network, {"N": [2, 0, 3], "pyr.g_A": [0.2 / ms]}, read=["pyr.u"],
               target="numpy", progress=False)
    assert df["error"].isna().tolist() == [True, False, True]
    assert df["error"][1].startswith("build failed: ValueError: N must be a positive integer")
    assert df["pyr.u"][[0, 2]].notna().all()


def fragile_network(N):
    def build():
        return {"pyr": models.pyramidal_neuron().make_group(N, name="pyr")}

    return build, DURATION


def test_measure_callable_and_final():
    df = sweep(tiny_network, {"pyr.g_A": [0.2 / ms]}, measure=w_spread, target="numpy", progress=False)
    assert list(df.columns[:3]) == ["pyr.g_A", "w_min", "u0"]
    df2 = sweep(tiny_network, {"pyr.g_A": [0.2 / ms]}, measure="final", read=READ, target="numpy",
                progress=False)
    assert df2["syn.w"][0].shape == (4,)
    assert df["w_min"][0] == df2["syn.w"][0].min()
    assert df["u0"][0] == df2["pyr.u"][0][0]
    clash = sweep(tiny_network, {"pyr.g_A": [0.2 / ms]}, measure=lambda r: {"error": 1},
                  target="numpy", progress=False)
    assert "column names used by" in clash["error"][0]
    bad = sweep(tiny_network, {"pyr.g_A": [0.2 / ms]}, measure=lambda r: 3.0, target="numpy",
                progress=False)
    assert "measure must return a dict" in bad["error"][0]


# ------------------------------------------------------------ parallel
def test_local_processes_give_the_serial_table(serial_table, sweep_cache):
    df, _ = serial_table
    # Fresh worker processes may generate code that differs in internal names
    # from this long-lived test process (other tests' objects are alive here),
    # so they may compile once per shape; never more, and never per point.
    before = set(sweep_cache.glob("*/main"))
    par = sweep(tiny_network, GRID, read=READ, cache_dir=sweep_cache, n_jobs=2, progress=False)
    _assert_same_table(df, par)
    workers = set(par["worker"].dropna())
    assert workers and f"pid {os.getpid()}" not in workers  # ran in other processes
    after = set(sweep_cache.glob("*/main"))
    assert len(after - before) <= 2  # at most one build per shape, shared by the workers
    par2 = sweep(tiny_network, GRID, read=READ, cache_dir=sweep_cache, n_jobs=2, progress=False)
    _assert_same_table(df, par2)
    assert set(sweep_cache.glob("*/main")) == after  # fresh processes reuse the binaries


def test_dask_local_cluster_gives_the_serial_table(serial_table, sweep_cache):
    distributed = pytest.importorskip("distributed")
    df, _ = serial_table
    before = set(sweep_cache.glob("*/main"))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  preload=["brian2"], dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dist = sweep(tiny_network, GRID, read=READ, cache_dir=sweep_cache, client=client,
                     progress=False)
        # a second sweep reuses each worker's Simulations: no new builds
        again = sweep(tiny_network, GRID, read=READ, cache_dir=sweep_cache, client=client,
                      progress=False)
    _assert_same_table(df, dist)
    _assert_same_table(df, again)
    assert all(w.startswith("tcp://") for w in dist["worker"].dropna())
    assert again.attrs["builds"] == []
    # at most one compilation per shape for all workers (see the local test)
    assert len(set(sweep_cache.glob("*/main")) - before) <= 2
    print(f"dask: total {dist.attrs['total_time']:.1f} s (with builds), "
          f"{again.attrs['total_time']:.2f} s for {len(again)} points reusing workers' Simulations")


def test_dask_workers_without_preload_and_with_threads():
    """brian2 imported through client.run; 2 threads share one worker's Brian2 state."""
    distributed = pytest.importorskip("distributed")
    grid = {"pyr.g_A": list(np.linspace(0.1, 0.8, 6) / ms)}
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        df = sweep(tiny_network, grid, read=READ, target="numpy", client=client, progress=False)
    local = sweep(tiny_network, grid, read=READ, target="numpy", progress=False)
    assert df["error"].isna().all(), df["error"].dropna().tolist()
    pd.testing.assert_frame_equal(df[["pyr.g_A", "pyr.u", "syn.w"]], local[["pyr.g_A", "pyr.u", "syn.w"]])


# ------------------------------------------------------ reliability (issue 15)
def test_a_sweep_whose_points_all_fail_still_has_its_measured_columns():
    df = sweep(tiny_network, {"pyr.g_A": [-1 / ms, -2 / ms]}, read=READ, target="numpy", progress=False)
    assert list(df.columns) == ["pyr.g_A", "pyr.u", "syn.w", "error", "elapsed", "binary_time", "worker"]
    assert df["pyr.u"].isna().all() and df["error"].str.contains("must be >= 0").all()
    both = sweep(tiny_network, {"pyr.g_A": [-1 / ms]}, read=["pyr.u", "pyr.g_A"], measure="final",
                 target="numpy", progress=False)
    assert list(both.columns[:3]) == ["pyr.g_A", "pyr.u", "pyr.g_A (final)"]
    assert both["pyr.g_A (final)"].isna().all()


def test_one_unit_per_column_values_in_other_units_are_nan():
    df = sweep(tiny_network, {"pyr.g_A": [0.2 / ms, 0.2 * ms, 0.6 / ms]}, read=READ, target="numpy",
               progress=False)
    assert df.attrs["units"] == {"pyr.g_A": "Hz"}  # the unit of the points that ran, not the last one's
    assert df["pyr.g_A"][0] == 200.0 and df["pyr.g_A"][2] == 600.0
    assert np.isnan(df["pyr.g_A"][1]) and "DimensionMismatchError" in df["error"][1]
    assert df["error"].isna().tolist() == [True, False, True]


def test_arrays_of_different_lengths_fail_per_row():
    df = sweep(tiny_network, {"syn.w": [np.full(4, 0.1), np.full(3, 0.1), np.full(4, 0.2)]}, read=READ,
               target="numpy", progress=False)
    assert df["error"].isna().tolist() == [True, False, True]
    assert "must be a scalar or have 4 elements" in df["error"][1]
    assert [len(w) for w in df["syn.w"]] == [4, 3, 4]


def test_a_sweeps_table_can_be_fed_back_as_params():
    grid = {"N": [2, 3], "pyr.g_A": [0.2 / ms, 0.6 / ms]}
    df = sweep(tiny_network, grid, read=READ, target="numpy", progress=False)
    again = sweep(tiny_network, df, read=READ, target="numpy", progress=False)
    assert again["error"].isna().all(), again["error"].tolist()
    assert df.attrs["params"] == ["N", "pyr.g_A"]
    pd.testing.assert_frame_equal(again[COMPARED], df[COMPARED])
    assert again.attrs["units"] == df.attrs["units"]
    some = sweep(tiny_network, df[df["N"] == 3], read=READ, target="numpy", progress=False)
    pd.testing.assert_frame_equal(some[COMPARED], df[df["N"] == 3][COMPARED].reset_index(drop=True))
    # without its attrs (e.g. read back from CSV) the result columns are not taken for parameters
    plain = pd.DataFrame(df.to_dict("list"))
    with pytest.raises(ValueError, match=r"result columns \['error'.*no df.attrs\['params'\]"):
        sweep(tiny_network, plain, read=READ, target="numpy", progress=False)
    # ... and SI floats with df.attrs['units'] are read in those units
    params = plain[["N", "pyr.g_A"]]
    params.attrs["units"] = {"pyr.g_A": "Hz"}
    pd.testing.assert_frame_equal(sweep(tiny_network, params, read=READ, target="numpy",
                                        progress=False)[COMPARED], df[COMPARED])


def test_unit_names_read_back():
    from brian2 import amp, metre, siemens, volt

    from brian_dendrites.sweep import _parse_unit, _unit_name

    for unit in [Hz, volt, siemens / metre**2, amp * metre**3, ms / ms]:
        assert _parse_unit(_unit_name(unit.dim)) == unit.dim, _unit_name(unit.dim)
    assert _unit_name(Hz.dim) == "Hz" and _unit_name(volt.dim) == "V"
    assert _parse_unit("parsec") is None


def interrupt_at_second_point(result):
    """A measure that presses Ctrl-C during the second point."""
    interrupt_at_second_point.calls += 1
    if interrupt_at_second_point.calls == 2:
        raise KeyboardInterrupt
    return {"u": float(result["pyr.u"].mean())}


def test_interrupted_sweep_raises_with_the_finished_points():
    from brian_dendrites.sweep import SweepInterrupted

    interrupt_at_second_point.calls = 0
    grid = {"pyr.g_A": [0.2 / ms, 0.4 / ms, 0.6 / ms]}
    with pytest.raises(SweepInterrupted, match="1 of 3 points finished") as info:
        sweep(tiny_network, grid, measure=interrupt_at_second_point, target="numpy", progress=False)
    part = info.value.partial
    assert isinstance(info.value, KeyboardInterrupt) and part.attrs["interrupted"]
    assert part["error"].fillna("ok").tolist() == ["ok", "interrupted", "interrupted"]
    assert part["u"].notna().tolist() == [True, False, False]
    assert part.attrs["units"] == {"pyr.g_A": "Hz"} and list(part["pyr.g_A"]) == [200.0, 400.0, 600.0]
    # the unfinished points run again from the table
    rest = sweep(tiny_network, part[part["error"] == "interrupted"], read=READ, target="numpy", progress=False)
    assert list(rest["pyr.g_A"]) == [400.0, 600.0] and rest["error"].isna().all()
    assert not rest.attrs["interrupted"]
