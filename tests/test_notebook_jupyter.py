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
    path = _notebook(tmp_path, "nb.ipynb", CORRECT, WRONG_DB, "first = _ih[1]\nconv_backward = wrong_conv_backward\n")
    with pytest.raises(LoadError, match=r"uses IPython's `_ih`, which gradcheck does not provide.*binds conv_backward"):
        load_submission(path)


@pytest.mark.parametrize("wrong", [True, False])
def test_displayed_values_are_out_and_underscore_as_in_ipython(tmp_path, wrong):
    """Red team rounds 4 and 6: `conv_backward = _` after a cell that displays a function, and a
    test of `Out[n]` that decides a binding, bind what IPython binds; a `;` displays nothing."""
    shown = "wrong_conv_backward" if wrong else "conv_backward"
    path = _notebook(tmp_path, "nb.ipynb", CORRECT, WRONG_DB, "12;", shown, "conv_backward = _\n",
                     "try:\n    Out[4]\nexcept (NameError, KeyError):\n    conv_backward = wrong_conv_backward\n")
    module = load_submission(path)
    assert module.Out.keys() == {4} and not hasattr(module, "_3") and not hasattr(module, "__file__")
    assert _passed(path, isolate=False) is not wrong


def test_a_name_only_ipython_binds_in_a_cell_that_binds_nothing_needed_is_a_note(tmp_path):
    path = _notebook(tmp_path, "nb.ipynb", CORRECT, "print(_ih[1])\n")
    module = load_submission(path)
    assert callable(module.conv_backward)
    assert any("NameError" in note and "_ih" in note for note in load_warnings(module))


@pytest.mark.parametrize("cell", [
    "get_ipython().run_cell('conv_backward = wrong_conv_backward')",
    "get_ipython().push({'conv_backward': wrong_conv_backward})",
    "get_ipython().ex('conv_backward = wrong_conv_backward')",
    "import __main__\nif hasattr(__main__, 'conv_backward'):\n    conv_backward = wrong_conv_backward",
    "try:\n    __file__\nexcept NameError:\n    conv_backward = wrong_conv_backward",
])
def test_the_shell_and_the_namespace_are_ipythons(tmp_path, cell):
    """Red team round 6: the shell's run_cell/push/ex bind what they bind in IPython; the notebook
    is sys.modules['__main__'] and has no __file__, as IPython's namespace. Each cell binds the
    wrong function in IPython: it must fail here too."""
    path = _notebook(tmp_path, "nb.ipynb", CORRECT, WRONG_DB, cell)
    assert _passed(path, isolate=False) is False


def test_writefile_into_a_package_and_append_and_expansion(tmp_path):
    """Red team round 6: `%%writefile pkg/layers.py` beside a package of the same name is what a
    later import finds; `-a` appends to the file beside the notebook; `{var}` is not expanded,
    and the load fails rather than import a stale file."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "layers.py").write_text(CORRECT)  # stale and right: the written one is wrong
    wrong = CORRECT + WRONG_DB + "conv_backward = wrong_conv_backward\n"
    path = _notebook(tmp_path, "nb.ipynb", f"%%writefile pkg/layers.py\n{wrong}", "from pkg.layers import *")
    assert _passed(path, isolate=False) is False
    (tmp_path / "base.py").write_text(CORRECT)
    appended = _notebook(tmp_path, "nb2.ipynb", "%%writefile -a base.py\nEXTRA = 1\n", "from base import *")
    assert _passed(appended, isolate=False) is True
    expanded = _notebook(tmp_path, "nb3.ipynb", "name = 'fast'", f"%%writefile {{name}}.py\n{wrong}",
                         "from fast import *")
    (tmp_path / "fast.py").write_text(CORRECT)  # stale
    with pytest.raises(LoadError, match="does not expand variables in magic lines"):
        load_submission(expanded)
