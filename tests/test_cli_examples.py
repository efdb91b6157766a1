"""The sample student files under examples/ behave as their docstrings (and the README) say."""

from __future__ import annotations

import json
from pathlib import Path

from gradcheck.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_my_cnn_py_fails_conv_backward_at_pad_0(capsys, tmp_path):
    code = main(
        [
            "check",
            str(EXAMPLES / "my_cnn.py"),
            "--examples",
            "5",
            "-q",
            "--json",
            str(tmp_path / "r.json"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    data = json.loads((tmp_path / "r.json").read_text())
    failing = {(c["function"], c["status"]) for c in data["checks"] if c["status"] != "pass"}
    assert failing == {("conv_backward", "error")}
    backward = next(c for c in data["checks"] if c["function"] == "conv_backward")
    assert backward["counterexample"]["pad"] == 0
    assert "could not broadcast input array from shape (0,0,1)" in backward["message"]
    assert "the same failure as conv_backward: dA_prev above" in out


def test_my_cnn_notebook_passes_with_tie_warnings(capsys):
    code = main(["check", str(EXAMPLES / "my_cnn.ipynb"), "--examples", "5", "-q"])
    out = capsys.readouterr().out
    assert code == 0
    assert "PASSED (14 pass)" in out
    assert "x == np.max(x)" in out  # the course's mask: a warning, not a failure
    assert "skipped failing import (ModuleNotFoundError: No module named 'public_tests')" in out
    # each warning names its check once: no "create_mask_from_window: mask_ties: create_mask_from_window: ..."
    assert "  create_mask_from_window: mask_ties: when k maxima of a window tie" in out
    assert "create_mask_from_window: create_mask_from_window" not in out
    assert "mask_ties: create_mask_from_window:" not in out
