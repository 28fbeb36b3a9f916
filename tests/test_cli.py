"""The ``brian-dendrites`` command line: every subcommand's happy path and clean failures.

Happy paths run in-process (``main([...])``) on tiny settings and the numpy
target (no compiler); one real subprocess checks ``python -m brian_dendrites``
(in-process calls check that no error escapes ``main`` as a traceback).
Bad input must give exit status != 0 and exactly one line on stderr,
``brian-dendrites: error: ...``, never a traceback.
"""

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brian_dendrites import cli
from brian_dendrites.cli import CLIError, main, parse_quantity

ROOT = Path(__file__).resolve().parents[1]

GRID = """
factory = "brian_dendrites.experiments.demo_compartments:pyramid_network"
read = ["pyr.u"]
target = "numpy"

[params]
"pyr.v_B" = [1.0, 2.0]
"pyr.g_A" = ["0.8/ms", "1.6/ms"]
"""


def _one_error_line(capsys):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("INFO")]
    assert len(lines) == 1, err
    assert lines[0].startswith("brian-dendrites: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_module_help_in_a_real_process():
    proc = subprocess.run([sys.executable, "-m", "brian_dendrites", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for command in ("demo", "train", "compare", "sweep", "bench"):
        assert command in proc.stdout


@pytest.mark.parametrize("command", ["demo", "train", "compare", "sweep", "bench"])
def test_every_subcommand_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "--out" in out and "usage: brian-dendrites " + command in out


def test_demo_example_shows_the_analytic_plateau(tmp_path, run_example, capsys):
    """``examples/demo_compartments.py`` as the gallery runs it (here on the numpy target)."""
    png = tmp_path / "demo.png"
    res = run_example("demo_compartments", ["--target", "numpy", "--out", str(png)])
    assert png.stat().st_size > 0
    printed = capsys.readouterr().out
    u, analytic = (float(x) for x in re.search(r"steady soma u = ([-\d.]+) \(analytic ([-\d.]+)\)",
                                               printed).groups())
    assert abs(u - analytic) < 1e-3 * abs(analytic)  # the soma settled at u* = (g_B v_B + g_A v_A)/g
    assert len(res["spikes.t"]) > 0  # the Urbanczik-Senn neuron fired


def test_sweep_help_documents_the_grid_format(capsys):
    main(["sweep", "--help"])
    out = capsys.readouterr().out
    assert "factory =" in out and "[params]" in out and "tomllib" in out


def test_demo(tmp_path, capsys):
    assert main(["demo", "--target", "numpy", "--duration", "130", "--out", str(tmp_path)]) == 0
    traces = pd.read_csv(tmp_path / "traces.csv")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (tmp_path / "demo_compartments.png").stat().st_size > 0
    assert len(traces) == 1300 and summary["target"] == "numpy"
    # the soma settled at the analytic plateau under basal and apical input
    settled = traces.loc[traces["t_ms"].between(125, 129.9), "pyr_u"]
    assert np.allclose(settled, summary["u_star"], rtol=1e-3)
    assert "results in" in capsys.readouterr().out


def test_train(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "dgn", "--task", "teacher_student", "--fast", "--target", "numpy",
                 "--n-train", "100", "--n-test", "40", "--epochs", "2", "--no-progress",
                 "--param", "n_branches=4", "--out", str(out)]) == 0
    history = pd.read_csv(out / "history.csv")
    settings = json.loads((out / "settings.json").read_text())
    assert list(history["epoch"]) == [1, 2]
    assert settings["learner"] == "DendriticGatedRegressor" and settings["epochs"] == 2
    assert settings["params"]["n_branches"] == 4 and settings["params"]["target"] == "numpy"
    # learned something in two epochs: R² above the mean predictor's 0, training loss falls
    assert settings["test_score"] > 0
    assert history["train_loss"][1] < history["train_loss"][0]
    assert (out / "learning_curve.png").stat().st_size > 0


def test_train_classifier_on_mnist_from_a_file(tmp_path):
    rng = np.random.default_rng(0)
    data = np.hstack([rng.integers(0, 256, (40, 784)), (np.arange(40) % 10)[:, None]])
    path = tmp_path / "mini.csv.gz"
    with gzip.open(path, "wt") as f:
        np.savetxt(f, data, fmt="%d", delimiter=",")
    out = tmp_path / "mnist"
    assert main(["train", "microcircuit", "--task", "mnist", "--path", str(path), "--n-train",
                 "30", "--n-test", "10", "--hidden", "8", "--epochs", "1", "--target", "numpy",
                 "--no-progress", "--fast", "--out", str(out)]) == 0
    settings = json.loads((out / "settings.json").read_text())
    assert settings["learner"] == "SteadyStateMicrocircuitClassifier"
    assert settings["score"] == "accuracy" and 0 <= settings["test_score"] <= 1


def test_compare(tmp_path):
    assert main(["compare", "--rules", "bp,fa,np", "--task", "teacher_student", "--fast",
                 "--seeds", "2", "--steps", "20", "--measure-every", "10", "--n-probe", "4",
                 "--no-progress", "--out", str(tmp_path)]) == 0
    df = pd.read_csv(tmp_path / "compare.csv")
    assert set(df["rule"]) == {"backprop", "feedback_alignment", "node_perturbation"}
    assert set(df["seed"]) == {0, 1} and sorted(df["step"].unique()) == [0, 10, 20]
    assert df.loc[df["rule"] == "backprop", "angle_deg"].max() < 1e-4
    settings = json.loads((tmp_path / "settings.json").read_text())
    assert settings["steps"] == 20 and "backprop" in settings["final"]
    assert (tmp_path / "angles.png").stat().st_size > 0


def test_sweep(tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    assert main(["sweep", str(grid), "--no-progress", "--out", str(tmp_path / "s")]) == 0
    df = pd.read_csv(tmp_path / "s" / "sweep.csv")
    assert len(df) == 4 and df["error"].isna().all()
    # steady soma u* = g_B v_B / (g_L + g_B + g_A) (no apical input)
    expected = 1000 * df["pyr.v_B"] / (100 + 1000 + df["pyr.g_A"])
    assert np.allclose(df["pyr.u"], expected, rtol=1e-6)
    assert (tmp_path / "s" / "sweep.png").stat().st_size > 0


def test_bench_runs_the_checkouts_benchmarks(tmp_path, monkeypatch, capfd):
    fake = tmp_path / "benchmarks"
    fake.mkdir()
    (fake / "bench_x.py").write_text("")
    (fake / "run_all.py").write_text("import sys\nprint('ran', *sys.argv[1:])\n")
    monkeypatch.setattr(cli, "_benchmarks_dir", lambda: fake)
    assert main(["bench", "--only", "bench_x.py"]) == 0
    assert "ran --quick --only bench_x.py" in capfd.readouterr().out


def test_bench_without_benchmarks_fails_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_benchmarks_dir", lambda: None)
    assert main(["bench"]) != 0
    assert "not present" in _one_error_line(capsys)


def test_the_checkout_has_its_benchmarks():
    assert cli._benchmarks_dir() == ROOT / "benchmarks"


def test_an_install_has_its_benchmarks(tmp_path, monkeypatch):
    """Every benchmark script is installed where `bench` looks when there is no checkout."""
    import configparser
    import sysconfig

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    shipped = {dest.strip(): src.split() for dest, src in cfg["options.data_files"].items()}
    patterns = shipped["share/brian_dendrites/benchmarks"]
    files = {p.name for pattern in patterns for p in ROOT.glob(pattern)}
    assert files == {p.name for p in (ROOT / "benchmarks").glob("*.py")}
    installed = Path(sysconfig.get_paths()["data"]) / "share" / "brian_dendrites" / "benchmarks"
    assert installed in cli._benchmark_locations()[1:]
    # with no checkout, the installed copy is found
    place = tmp_path / "share" / "brian_dendrites" / "benchmarks"
    place.mkdir(parents=True)
    (place / "run_all.py").write_text("")
    monkeypatch.setattr(cli, "_benchmark_locations", lambda: [tmp_path / "none", place])
    assert cli._benchmarks_dir() == place


@pytest.mark.parametrize("argv, match", [
    (["train", "hebb", "--task", "teacher_student"], "unknown theory 'hebb'"),
    (["train", "dgn", "--task", "teacher_studnt"], "did you mean 'teacher_student'"),
    (["train", "dgn", "--task", "mnist", "--path", "/no/such/mnist.csv.gz"],
     "/no/such/mnist.csv.gz"),
    (["train", "dgn", "--task", "mnist"], "path"),
    (["train", "dgn", "--task", "teacher_student", "--hidden", "a,b"], "--hidden"),
    (["train", "dgn", "--task", "teacher_student", "--param", "no_such=1"], "no_such"),
    (["train", "dgn", "--task", "teacher_student", "--param", "oops"], "KEY=VALUE"),
    (["train", "dgn", "--task", "teacher_student", "--epochs", "0"], "--epochs"),
    (["train", "dgn", "--task", "teacher_student", "--target", "gpu"], "--target"),
    (["compare", "--rules", "bp,hebbian", "--task", "teacher_student"], "unknown name 'hebbian'"),
    (["compare", "--rules", ",", "--task", "teacher_student"], "--rules"),
    (["compare", "--rules", "bp", "--task", "teacher_student", "--seeds", "0"], "--seeds"),
    (["compare", "--rules", "bp", "--task", "teacher_student", "--steps", "-3"], "--steps"),
    (["compare", "--rules", "bp", "--task", "teacher_student", "--n-train", "x"], "--n-train"),
    (["demo", "--duration", "-5"], "--duration"),
    (["sweep", "/no/such/grid.toml"], "grid file not found"),
    (["frobnicate"], "invalid choice"),
    (["train", "dgn"], "--task"),
])
def test_bad_input_is_one_line_and_nonzero(argv, match, capsys):
    assert main(argv) != 0
    assert match in _one_error_line(capsys)


@pytest.mark.parametrize("text, match", [
    ("factory = [1, 2", "not valid TOML"),
    ('read = ["pyr.u"]\n[params]\n"pyr.v_B" = [1.0]', "factory"),
    ('factory = "brian_dendrites.experiments.demo_compartments:pyramid_network"',
     "[params]"),
    ('factory = "brian_dendrites.no_such_module:f"\n[params]\nn = [1]', "cannot import"),
    ('factory = "brian_dendrites.experiments.demo_compartments:pyramid_network"\n'
     '[params]\n"pyr.g_A" = ["3 parsecs"]', "unknown unit 'parsecs'"),
    ('factory = "brian_dendrites.experiments.demo_compartments:pyramid_network"\n'
     'colour = "red"\n[params]\nn = [1]', "unknown keys"),
    ('factory = "brian_dendrites.experiments.demo_compartments:pyramid_network"\n'
     'read = ["pyr.u"]\ntarget = "numpy"\n[params]\n"pyr.nonexistent" = [1.0]', "nonexistent"),
])
def test_malformed_grid_is_one_line_and_nonzero(text, match, tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text(text)
    assert main(["sweep", str(grid), "--no-progress", "--out", str(tmp_path / "o")]) != 0
    assert match in _one_error_line(capsys)


def test_debug_shows_the_real_error():
    with pytest.raises(CLIError, match="unknown theory"):
        main(["--debug", "train", "hebb", "--task", "teacher_student"])
    with pytest.raises(KeyError):
        main(["compare", "--rules", "hebbian", "--task", "teacher_student", "--debug"])


def test_parse_quantity():
    from brian2 import Hz, ms, mV

    assert parse_quantity("2") == 2.0
    assert parse_quantity("0.8/ms") == 0.8 / ms
    assert parse_quantity("5 mV") == 5 * mV
    assert parse_quantity("1e3*Hz") == 1000 * Hz
    for bad in ("five mV", "3 __import__", "2 mV + 1"):
        with pytest.raises(ValueError):
            parse_quantity(bad)
