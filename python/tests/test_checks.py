"""cldyn.checks: every check's computation from Python, the same result as its executable."""
import json
import os
import pathlib
import subprocess

import pytest

import cldyn

checks = pytest.importorskip("cldyn.checks", reason="cldyn._checks is built only with the experiments")
EXPERIMENTS = pathlib.Path(__file__).resolve().parents[2] / "experiments"


def test_every_check_is_there():
    # Checks and studies by their name; an experiment (exp_*.cpp) that registers itself like a
    # check keeps its program name.
    in_tree = sorted([p.stem[len("check_"):] for p in EXPERIMENTS.glob("check_*.cpp")] +
                     [p.stem[len("study_"):] for p in EXPERIMENTS.glob("study_*.cpp")] +
                     [p.stem for p in EXPERIMENTS.glob("exp_*.cpp") if "CLDYN_REGISTER_CHECK" in p.read_text()])
    assert sorted(checks.names()) == in_tree
    for name in in_tree:
        assert callable(getattr(checks, name))
        assert getattr(checks, name).__doc__


def test_a_check_equals_its_executable(tmp_path):
    bindir = os.environ.get("CLDYN_BIN_DIR")
    if not bindir:
        pytest.skip("CLDYN_BIN_DIR is not set (CTest sets it to the build's bin/)")
    subprocess.run([os.path.join(bindir, "check_relu_local_optima"), "--smoke", "--quiet", "--seed", "2",
                    "--sigma", "0.3", "--p", "0.1,0.2,0.2,0.2,0.3", "--out", str(tmp_path)], check=False,
                   capture_output=True)
    ref = json.loads((tmp_path / "relu_local_optima.json").read_text())
    run = checks.relu_local_optima(seed=2, smoke=True, sigma=0.3, p=[0.1, 0.2, 0.2, 0.2, 0.3])
    for key in ("check", "seed", "smoke", "params", "config", "claims", "series"):
        assert run[key] == ref[key], key
    assert run["exit_code"] == (0 if all(c["pass"] for c in ref["claims"]) else 1)
    assert "passed" in run["output"]


def test_keywords_become_flags():
    # spectrum_ratio -> --spectrum-ratio; a list -> a comma list; smoke=True -> --smoke (which
    # sets its own widths, so the list is checked on --p of another check above)
    run = checks.linear_pca(smoke=True, seed=3, spectrum_ratio=0.75, d=6)
    assert run["params"]["spectrum_ratio"] == 0.75 and run["params"]["d"] == 6
    assert run["params"]["widths"] == [1, 4]
    assert run["seed"] == 3 and run["smoke"] is True


def test_bad_options_raise_value_error_with_the_check_message():
    with pytest.raises(ValueError, match=r"^check_relu_local_optima: error: --sigma: value -1 must be > 0 \(see --help\)$"):
        checks.relu_local_optima(sigma=-1)
    with pytest.raises(ValueError, match="The following argument was not expected|unknown|not expected"):
        checks.relu_local_optima(no_such_option=3)
    with pytest.raises(ValueError, match="no check called 'nope'"):
        checks.run("nope")


def test_a_check_releases_the_gil(ticks_during):
    elapsed, ticks = ticks_during(lambda: checks.phase_diagram(smoke=True, threads=1))  # about a second
    assert elapsed > 0.2 and ticks > 10000, (elapsed, ticks)
