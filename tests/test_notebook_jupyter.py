"""A notebook's namespace has what Jupyter's has (gradcheck.load.jupyter), red team round 5.

Both ways for each: a wrong ``conv_backward`` that Jupyter binds fails, the correct one passes.
``__name__`` is ``"__main__"``; ``display`` and ``get_ipython()`` exist (a cell that calls them
goes on); ``%%writefile`` writes its file (into a scratch folder where the notebook's is
read-only, as in the sandbox) and a later import of it finds it, and an import of such a file
that fails is a load error, never a tolerated "failing import"; top-level ``await`` runs; a
NameError on a name only IPython binds, before a binding the functions need, is a load error.
"""

from __future__ import annotations

import inspect

import nbformat
import pytest

import gradcheck
import reference.naive
from gradcheck.errors import LoadError
from gradcheck.load.loaders import load_submission, load_warnings

CORRECT = inspect.getsource(reference.naive).replace("from __future__ import annotations\n", "")
WRONG_DB = ("def wrong_conv_backward(dZ, cache, right=conv_backward):\n"  # the right one, bound at definition
            "    dA_prev, dW, db = right(dZ, cache)\n"
            "    return dA_prev, dW, db / 2\n")
EXAMPLES = 10


def _notebook(folder, name: str, *sources: str) -> str:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    path = folder / name
    nbformat.write(notebook, str(path))
    return str(path)


def _passed(path: str, **options) -> bool:
    report = gradcheck.check(path, examples=EXAMPLES, only=["conv_backward"], **options)
    assert report.load_error is None, report.load_error
    statuses = {check.status for check in report.checks}
    assert statuses <= {"pass", "fail"}, statuses  # a wrong db fails on its values, never by crashing
    return report.passed


@pytest.mark.parametrize("wrong", [True, False])
def test_a_main_guard_runs_as_in_jupyter(tmp_path, wrong):
    rebind = "conv_backward = wrong_conv_backward" if wrong else "pass"
    path = _notebook(tmp_path, "nb.ipynb", CORRECT, WRONG_DB, f"if __name__ == '__main__':\n    {rebind}\n")
    assert _passed(path, isolate=False) is not wrong


@pytest.mark.parametrize("wrong", [True, False])
def test_display_and_get_ipython_do_not_end_their_cell(tmp_path, wrong):
    rebind = "conv_backward = wrong_conv_backward" if wrong else "pass"
    path = _notebook(tmp_path, "nb.ipynb", "ip = get_ipython()\nip.run_line_magic('matplotlib', 'inline')\n"
                     "display('starting')\n" + CORRECT, WRONG_DB,
                     f"display(conv_backward)\nget_ipython().run_cell_magic('time', '', 'x = 1')\n{rebind}\n")
    module = load_submission(path)
    assert load_warnings(module) == []
    assert module.x == 1  # %%time's body ran in the namespace
    assert _passed(path, isolate=False) is not wrong


@pytest.mark.parametrize("wrong", [True, False])
def test_writefile_then_import_binds_what_jupyter_binds_in_the_sandbox_too(tmp_path, wrong):
    module_text = CORRECT + "\n" + WRONG_DB + ("conv_backward = wrong_conv_backward\n" if wrong else "")
    path = _notebook(tmp_path, "nb.ipynb", CORRECT, f"%%writefile fast_layers.py\n{module_text}",
                     "from fast_layers import conv_backward")
    assert _passed(path) is not wrong  # isolated: the notebook's folder is read-only in the sandbox
    (tmp_path / "fast_layers.py").unlink(missing_ok=True)


def test_an_import_of_a_written_file_that_fails_is_a_load_error(tmp_path):
    path = _notebook(tmp_path, "nb.ipynb", CORRECT,
                     "%%writefile fast_layers.py\nfrom helper_not_shipped import conv_backward\n",
                     "from fast_layers import conv_backward")
    report = gradcheck.check(path, examples=EXAMPLES, isolate=False)
    assert report.load_error is not None and not report.passed
    assert "importing fast_layers, which a %%writefile cell of the notebook writes" in report.load_error
    assert "nothing is checked" in report.load_error


@pytest.mark.parametrize("wrong", [True, False])
def test_top_level_await_runs(tmp_path, wrong):
    rebind = "conv_backward = wrong_conv_backward" if wrong else "pass"
    path = _notebook(tmp_path, "nb.ipynb", "import asyncio\nawait asyncio.sleep(0)\n" + CORRECT, WRONG_DB,
                     f"await asyncio.sleep(0)\n{rebind}\n")
    module = load_submission(path)
    assert load_warnings(module) == []
    assert _passed(path, isolate=False) is not wrong


def test_a_name_only_ipython_binds_before_a_needed_binding_is_a_load_error(tmp_path):
    path = _notebook(tmp_path, "nb.ipynb", CORRECT, WRONG_DB, "conv_backward\n", "conv_backward = _\n")
    with pytest.raises(LoadError, match=r"uses IPython's `_`, which gradcheck does not provide.*binds conv_backward"):
        load_submission(path)


def test_a_name_only_ipython_binds_in_a_cell_that_binds_nothing_needed_is_a_note(tmp_path):
    path = _notebook(tmp_path, "nb.ipynb", CORRECT, "print(Out[1])\n")
    module = load_submission(path)
    assert callable(module.conv_backward)
    assert any("NameError" in note and "Out" in note for note in load_warnings(module))
