"""Notebook-native use (issue 11): ``gradcheck.check(globals())`` in a real IPython shell,
isolated when the source can be recovered, in process (with a warning) when not; a
``Report`` displays itself (``_repr_html_``, ``str``); a script that ``jupyter nbconvert
--to script`` wrote loads like the notebook."""

from __future__ import annotations

import types
from pathlib import Path

import nbformat
import numpy as np
import pytest

import gradcheck
from gradcheck.cli import main
from gradcheck.load.session import Unrecoverable, recover_source

SUBMISSIONS = Path(__file__).parent / "submissions"

ZERO_PAD_CELL = """\
import os
import numpy as np
from numpy import pad as np_pad
PARENT = {parent}
AXES = ((0, 0), (1, 1))

def _spatial(pad):
    return ((0, 0), (pad, pad), (pad, pad), (0, 0))

def zero_pad(X, pad):
    assert os.getpid() != PARENT, "ran in the notebook's own process"
    return np_pad(X, _spatial(pad), mode="constant")
"""


@pytest.fixture
def shell():
    interactive = pytest.importorskip("IPython.core.interactiveshell")
    shell = interactive.InteractiveShell.instance()
    shell.reset()
    yield shell
    shell.reset()


def run_cell(shell, source: str) -> None:
    result = shell.run_cell(source)
    assert result.success, result.error_in_exec or result.error_before_exec


def test_check_globals_in_ipython_runs_the_session_isolated(shell):
    import os

    run_cell(shell, ZERO_PAD_CELL.format(parent=os.getpid()))
    run_cell(shell, "import gradcheck\nreport = gradcheck.check(globals(), examples=3, only='zero_pad')")
    report = shell.user_ns["report"]
    assert report.target == "<session>"
    assert report.passed, str(report)  # the pid assertion holds: it ran in the worker
    (note,) = report.warnings  # the cell's own os.getpid() is pointed out, as any look at the process
    assert note.startswith("the submission looks at the process it runs in: os.getpid at line 8")
    assert [c.status for c in report.checks] == ["pass"]


def test_check_globals_in_process_finds_the_session_functions(shell):
    run_cell(shell, ZERO_PAD_CELL.format(parent=-1))
    run_cell(shell, "import gradcheck\nreport = gradcheck.check(globals(), isolate=False, examples=3)")
    report = shell.user_ns["report"]
    statuses = {c.function: c.status for c in report.checks}
    assert statuses["zero_pad"] == "pass"
    assert sum(status == "missing" for status in statuses.values()) == 7  # not "8 missing"
    assert report.passed


def test_unrecoverable_source_runs_in_process_with_a_warning(shell):
    cell = (
        "import numpy as np\n"
        "def make(width):\n"
        "    def zero_pad(X, pad):\n"
        "        return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0))) * (width // width)\n"
        "    return zero_pad\n"
        "zero_pad = make(1)\n"
    )
    run_cell(shell, cell)
    run_cell(shell, "import gradcheck\nreport = gradcheck.check(globals(), examples=3, only='zero_pad')")
    report = shell.user_ns["report"]
    assert report.passed
    assert report.warnings == [
        "ran in this process, not isolated: zero_pad is a closure (it uses variables of an enclosing "
        "function). Put the functions in a .py file (or pass isolate=False to silence this)"
    ]
    assert "notes:\n  ran in this process, not isolated" in str(report)
    assert report.isolation == "in-process" and report.isolation_reason == (
        "the functions could not be run in a worker (see the warnings), so they ran in the checker's own process"
    )


def test_recovered_source_has_imports_constants_and_helpers(shell):
    run_cell(shell, ZERO_PAD_CELL.format(parent=7))
    text = recover_source(types.SimpleNamespace(zero_pad=shell.user_ns["zero_pad"]))
    for line in ("import os", "from numpy import pad as np_pad", "PARENT = 7",
                 "def _spatial(pad):", "def zero_pad(X, pad):"):
        assert line in text
    assert "AXES" not in text and "import numpy" not in text  # only what the functions use


def test_recover_source_says_why_it_cannot():
    big = np.ones(3)

    def zero_pad(X, pad):
        return X + big

    with pytest.raises(Unrecoverable, match="zero_pad is a closure"):
        recover_source(types.SimpleNamespace(zero_pad=zero_pad))
    with pytest.raises(Unrecoverable, match="no contract function was found"):
        recover_source(types.SimpleNamespace())


def test_a_module_object_is_checked_isolated_from_its_file():
    import reference.naive

    report = gradcheck.check(reference.naive, examples=2, only="zero_pad")
    assert report.passed and report.warnings == [] and report.target == "reference.naive"


def test_a_dict_and_a_namespace_are_targets():
    import reference.naive as naive

    for target in ({"zero_pad": naive.zero_pad}, types.SimpleNamespace(zero_pad=naive.zero_pad)):
        report = gradcheck.check(target, isolate=False, examples=2, only="zero_pad")
        assert report.passed and [c.function for c in report.checks] == ["zero_pad"]


# --- a report in a notebook cell ----------------------------------------------------------


@pytest.fixture(scope="module")
def failing_report():
    from zoo.manifest import load

    return gradcheck.check(load("bug_border_windows"), isolate=False, examples=6, seed=2, only="conv_backward")


def test_report_displays_as_html_in_ipython(shell, failing_report):
    formatted, _ = shell.display_formatter.format(failing_report)
    page = formatted["text/html"]
    assert "<table>" in page and "<th>likely cause</th>" in page
    assert "Likely cause: Padding border handled wrongly." in page
    assert 'src="data:image/png;base64,' in page  # the small inline heatmap
    assert "<html" not in page and "<script" not in page  # a fragment, no scripts
    assert "CheckResult(" not in page
    assert formatted["text/plain"] == f"<Report {failing_report.target!r}: FAILED (2 pass, 1 fail)>"


def test_str_of_a_report_is_the_terminal_text(failing_report):
    text = str(failing_report)
    assert text.startswith(f"gradcheck: {failing_report.target}\n")
    assert "likely cause:" in text and "FAILED" in text.splitlines()[-1]
    assert "CheckResult(" not in text


# --- a notebook exported with `jupyter nbconvert --to script` ------------------------------


def _course_notebook(path: Path) -> None:
    cells = [
        "import numpy as np\nimport h5py\nfrom public_tests import *\n%matplotlib inline\n%load_ext autoreload",
        "def zero_pad(X, pad):\n    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode='constant')",
        "x = zero_pad(np.ones((1, 2, 2, 1)), 1)\nprint(x.shape)\nzero_pad_test(zero_pad)",
        "!pip install nothing-at-all",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    notebook.metadata["language_info"] = {"name": "python", "nbconvert_exporter": "python",
                                          "mimetype": "text/x-python", "file_extension": ".py"}
    nbformat.write(notebook, path)


def test_an_nbconvert_script_loads_like_the_notebook(capsys, tmp_path):
    exporters = pytest.importorskip("nbconvert.exporters")
    _course_notebook(tmp_path / "cnn.ipynb")
    script, _ = exporters.ScriptExporter().from_filename(str(tmp_path / "cnn.ipynb"))
    assert "# In[" in script and "get_ipython()" in script  # what nbconvert writes
    (tmp_path / "cnn.py").write_text(script)
    code = main(["check", str(tmp_path / "cnn.py"), "--examples", "2", "-q"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "PASSED" in out
    assert "skipped failing import (ModuleNotFoundError: No module named 'h5py')" in out
    assert "No module named 'public_tests'" in out
    assert "Traceback" not in out + err


def test_a_decorated_function_runs_in_process_with_a_warning(shell):
    cell = (
        "import functools\nimport numpy as np\n"
        "@functools.lru_cache(maxsize=None)\n"
        "def _width(pad):\n    return ((0, 0), (pad, pad), (pad, pad), (0, 0))\n"
        "def zero_pad(X, pad):\n    return np.pad(X, _width(pad))\n"
    )
    run_cell(shell, cell)
    run_cell(shell, "import gradcheck\nreport = gradcheck.check(globals(), examples=3, only='zero_pad')")
    report = shell.user_ns["report"]
    assert report.passed
    assert len(report.warnings) == 1 and report.warnings[0].startswith("ran in this process, not isolated: ")


def test_annotations_naming_unused_modules_still_load_isolated(shell):
    cell = (
        "import typing\nimport numpy as np\n"
        "def zero_pad(X: typing.Any, pad: int) -> typing.Any:\n"
        "    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))\n"
    )
    run_cell(shell, cell)
    run_cell(shell, "import gradcheck\nreport = gradcheck.check(globals(), examples=3, only='zero_pad')")
    report = shell.user_ns["report"]
    assert report.passed and report.warnings == []  # isolated: no note
