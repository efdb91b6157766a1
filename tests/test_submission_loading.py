"""Loading implementations: .py files, notebooks, module names; load errors; conventions."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

import reference
from gradcheck.boundary.backend import InProcessBackend
from gradcheck.errors import LoadError
from gradcheck.load.cs231n import CS231nAdapter
from gradcheck.load.loaders import (
    TargetNotFound,
    as_contract,
    detect_convention,
    find_target,
    load_submission,
    load_warnings,
)
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS

SUBMISSIONS = Path(__file__).parent / "submissions"


def test_py_file_gets_a_unique_module_name_and_its_folder_is_importable(tmp_path):
    (tmp_path / "helpers.py").write_text("SCALE = 3.0\n")
    first = tmp_path / "a" / "my_cnn.py"
    second = tmp_path / "b" / "my_cnn.py"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text(
            "import sys\nsys.path.insert(0, %r)\nfrom helpers import SCALE\n"
            "def zero_pad(X, pad):\n    return SCALE\n" % str(tmp_path)
        )
    one, two = load_submission(str(first)), load_submission(str(second))
    assert one.__name__ != two.__name__
    assert one.zero_pad(None, 0) == 3.0


def test_helper_module_next_to_the_submission_is_importable(tmp_path):
    (tmp_path / "my_helpers_xyz.py").write_text("def double(x):\n    return 2 * x\n")
    path = tmp_path / "sub.py"
    path.write_text(
        "from my_helpers_xyz import double\n\ndef zero_pad(X, pad):\n    return double(pad)\n"
    )
    assert load_submission(str(path)).zero_pad(None, 2) == 4


def test_module_name_reference_loads():
    module = load_submission("reference")
    assert module is reference
    assert detect_convention(module) == "article"
    assert as_contract(module) is module


def test_syntax_error_names_file_and_line():
    with pytest.raises(LoadError, match=r"syntax_error\.py: syntax error at line 6: expected ':'"):
        load_submission(str(SUBMISSIONS / "syntax_error.py"))


def test_import_error_names_the_missing_module():
    with pytest.raises(
        LoadError,
        match=r"import failed: ModuleNotFoundError: No module named 'public_tests_that_do_not_exist'",
    ) as info:
        load_submission(str(SUBMISSIONS / "import_error.py"))
    assert 'import_error.py", line 4' in str(info.value)


def test_exception_at_import_keeps_the_message_and_the_submission_frame_only():
    with pytest.raises(
        LoadError, match="exception while importing: AssertionError: shape check left over"
    ) as info:
        load_submission(str(SUBMISSIONS / "exception_at_import.py"))
    message = str(info.value)
    assert 'exception_at_import.py", line 12, in <module>' in message
    assert "importlib" not in message and "gradcheck/submission.py" not in message


def test_sys_exit_at_import_is_a_load_error(tmp_path):
    path = tmp_path / "quits.py"
    path.write_text("import sys\nsys.exit(4)\n")
    with pytest.raises(LoadError, match=r"called sys.exit\(4\) while being imported"):
        load_submission(str(path))


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no/such/file.py", "no such file: no/such/file.py"),
        ("no_such_module_xyz", "no such file or module: 'no_such_module_xyz'"),
        ("reference.no_such_submodule", "module 'reference.no_such_submodule' not found"),
        ("not a name", "is not a file and not a valid module name"),
    ],
)
def test_missing_targets_are_reported_without_importing(target, message):
    assert message in find_target(target)
    with pytest.raises(TargetNotFound, match=message.replace(".", r"\.").replace("(", r"\(")):
        load_submission(target)


def test_find_target_imports_nothing():
    name = "tests_submissions_never_imported"
    assert find_target("reference.naive") is None
    assert name not in sys.modules


# --- notebooks -------------------------------------------------------------------


def test_notebook_runs_as_jupyter_does_and_skips_what_fails():
    module = load_submission(str(SUBMISSIONS / "notebook_cnn.ipynb"))
    for name in CONTRACT_FUNCTIONS:
        assert callable(getattr(module, name)), name
    assert module.Z_mean == 0.5
    assert module.x_pad.shape == (4, 9, 9, 2)  # a test cell ran, as in Jupyter, up to the line that failed
    warnings = load_warnings(module)
    assert any("No module named 'public_tests'" in w for w in warnings)
    assert any("[code cell 4] line 7: skipped: it raised NameError: name 'zero_pad_test' is not defined" in w
               for w in warnings)
    assert any("[code cell 5] line 2: skipped: it ran longer than 3 s" in w for w in warnings)  # the %%time loop


def test_notebook_functions_match_the_reference():
    module = load_submission(str(SUBMISSIONS / "notebook_cnn.ipynb"))
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2, 5, 4, 3))
    W, b = rng.standard_normal((3, 3, 3, 2)), rng.standard_normal((1, 1, 1, 2))
    hp = {"stride": 2, "pad": 1}
    np.testing.assert_allclose(
        module.conv_forward(A, W, b, hp)[0], reference.conv_forward(A, W, b, hp)[0]
    )


def _notebook(tmp_path, *sources: str) -> str:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook, str(path))
    return str(path)


def test_notebook_magics_shell_escapes_and_help_are_dropped(tmp_path):
    path = _notebook(
        tmp_path,
        "%matplotlib inline\n!pip install numpy\nfiles = !ls\nimport numpy as np\nnp.zeros?",
        "%%bash\necho hello",
        "%%writefile helper.py\nthis is not python",
        "def zero_pad(X, pad):\n    %time\n    return pad\n",
        "%%time\ndef conv_single_step(a, W, b):\n    return 1.5\nconv_single_step(1, 2, 3)",
        "raise RuntimeError('a test cell')",
    )
    module = load_submission(path)
    assert module.zero_pad(None, 3) == 3
    assert module.conv_single_step(None, None, None) == 1.5  # a %%time cell's body is Python


def test_a_notebook_cell_with_a_syntax_error_is_not_run_and_named(tmp_path):
    """Jupyter shows the error and goes on (red team round 4: a correct notebook with a scratch
    cell ``print 'done'`` failed to load)."""
    path = _notebook(tmp_path, "import numpy as np", "def zero_pad(X, pad)\n    return X", "print 'done'",
                     "def zero_pad(X, pad):\n    return pad")
    module = load_submission(path)
    assert module.zero_pad(None, 4) == 4
    notes = load_warnings(module)
    assert len(notes) == 2 and "[code cell 2]: syntax error at line 1" in notes[0] and "[code cell 3]" in notes[1]
    assert notes[0].endswith("the cell was not run, as in Jupyter")


def test_a_notebook_statement_that_raises_is_skipped_with_a_note(tmp_path):
    path = _notebook(tmp_path, "LIMIT = 1 / 0", "def zero_pad(X, pad):\n    return pad")
    module = load_submission(path)
    assert module.zero_pad(None, 2) == 2 and not hasattr(module, "LIMIT")
    assert load_warnings(module) == [
        f"{path} [code cell 1] line 1: skipped: it raised ZeroDivisionError: division by zero"]


def test_a_notebook_runs_what_jupyter_runs(tmp_path):
    """What a later cell does to a function or a constant is what is checked (red team round 2:
    rebinding in an ``if``, ``+=``, a constant from a call, an import in a ``try``)."""
    path = _notebook(
        tmp_path,
        "import numpy as np\ntry:\n    from scipy import signal\nexcept ImportError:\n    signal = None\n"
        "DTYPE = np.float64",
        "SCALE = 1.0\ndef conv_single_step(a, W, b):\n    return float(np.sum(a * W, dtype=DTYPE) * SCALE + b)",
        "SCALE += 0.25\nif True:\n    def zero_pad(X, pad):\n        return 'rebound in an if'",
        "first, second = 1, 2\nzero_pad_alias, _ = zero_pad, None",
    )
    module = load_submission(path)
    assert module.DTYPE is np.float64 and module.signal is not None
    assert module.conv_single_step(np.ones(2), np.ones(2), 0.0) == 2.5  # SCALE was changed by a later cell
    assert module.zero_pad(None, 1) == "rebound in an if" and module.zero_pad_alias is module.zero_pad
    assert load_warnings(module) == []


def test_a_long_notebook_runs_only_definitions_after_its_budget(tmp_path, monkeypatch):
    from gradcheck.load import loaders

    monkeypatch.setattr(loaders, "NOTEBOOK_SECONDS", 0.0)
    path = _notebook(tmp_path, "import numpy as np\nprint('a test cell')\ndef zero_pad(X, pad):\n    return pad")
    module = load_submission(path)
    assert module.zero_pad(None, 3) == 3
    assert load_warnings(module) == [f"{path} [code cell 1] line 2: skipped (the notebook ran 0 s: after that only "
                                     "definitions, imports, assignments and what binds a name its functions use run)"]


def test_after_its_budget_a_notebook_still_runs_what_binds_a_name_its_functions_use(tmp_path, monkeypatch):
    """Red team round 3: a correct notebook after 12 s of training had ``try: import numpy as np``
    skipped, and every function failed with a NameError (a false fail)."""
    from gradcheck.load import loaders

    monkeypatch.setattr(loaders, "NOTEBOOK_SECONDS", 0.0)
    path = _notebook(tmp_path, "try:\n    import numpy as np\nexcept ImportError:\n    np = None",
                     "for _ in range(1):\n    SCALE = 2.0\nprint('done')",
                     "def zero_pad(X, pad):\n    return np.pad(X, pad) * SCALE")
    module = load_submission(path)
    assert module.zero_pad(np.ones(1), 1).tolist() == [0.0, 2.0, 0.0]
    assert load_warnings(module) == [f"{path} [code cell 2] line 3: skipped (the notebook ran 0 s: after that only "
                                     "definitions, imports, assignments and what binds a name its functions use run)"]


def test_a_slow_statement_that_rebinds_a_function_runs_to_its_end(tmp_path, monkeypatch):
    """Red team round 3: a 3.6 s loop ending in ``conv_backward = wrong`` was cut at 3 s, and the
    right function it replaced was checked (a false pass)."""
    from gradcheck.load import loaders

    monkeypatch.setattr(loaders, "STATEMENT_SECONDS", 0.2)
    path = _notebook(tmp_path, "import time", "def zero_pad(X, pad):\n    return 'right'",
                     "for _ in range(1):\n    time.sleep(0.6)\n    zero_pad = lambda X, pad: 'wrong'",
                     "time.sleep(0.6)")
    module = load_submission(path)
    assert module.zero_pad(None, 1) == "wrong"
    assert load_warnings(module) == [f"{path} [code cell 4] line 1: skipped: it ran longer than 0.2 s"]


def test_a_statement_that_binds_a_function_and_never_ends_fails_the_load(tmp_path, monkeypatch):
    from gradcheck.load import loaders

    monkeypatch.setattr(loaders, "NEEDED_SECONDS", 0.3)
    path = _notebook(tmp_path, "import time", "def zero_pad(X, pad):\n    return 'right'",
                     "while True:\n    time.sleep(0.05)\n    zero_pad = lambda X, pad: 'wrong'")
    with pytest.raises(LoadError, match=r"\[code cell 3\] line 1 ran longer than 0.3 s and binds zero_pad, which "
                                        r"the notebook's functions use"):
        load_submission(path)


def test_magics_bind_what_they_bind_in_jupyter(tmp_path):
    """``%%timeit`` runs its body in a scope of its own (nothing bound); ``x = %time f()`` and
    ``%time stmt`` run in the notebook's namespace (red team round 3: the first was run, the
    second dropped: both false passes)."""
    path = _notebook(
        tmp_path,
        "def zero_pad(X, pad):\n    return 'right'\ndef conv_single_step(a, W, b):\n    return 'right'",
        "%%timeit\ndef zero_pad(X, pad):\n    return 'timeit body'",
        "conv_single_step = %time (lambda a, W, b: 'timed')\n%time SCALE = 3\n%timeit LIMIT = 4",
    )
    module = load_submission(path)
    assert module.zero_pad(None, 1) == "right"
    assert module.conv_single_step(None, None, None) == "timed"
    assert module.SCALE == 3 and not hasattr(module, "LIMIT")


def test_an_exported_notebooks_magics_bind_what_they_bind_in_jupyter(tmp_path):
    path = tmp_path / "exported.py"
    path.write_text(
        "#!/usr/bin/env python\n# In[1]:\n\n\ndef zero_pad(X, pad):\n    return 'right'\n\n\n# In[2]:\n\n\n"
        "get_ipython().run_cell_magic('timeit', '', \"def zero_pad(X, pad):\\n    return 'timeit body'\\n\")\n\n\n"
        "# In[3]:\n\n\nget_ipython().run_cell_magic('time', '', \"def conv_single_step(a, W, b):\\n"
        "    return 'time body'\\n\")\n"
        "SCALE = get_ipython().run_line_magic('time', '3 * 2')\nget_ipython().run_line_magic('time', 'LIMIT = 4')\n"
        "get_ipython().run_line_magic('matplotlib', 'inline')\n"
    )
    module = load_submission(str(path))
    assert module.zero_pad(None, 1) == "right"
    assert module.conv_single_step(None, None, None) == "time body"
    assert module.SCALE == 6 and module.LIMIT == 4


def test_unreadable_notebook_is_a_load_error(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json")
    with pytest.raises(LoadError, match="not a readable notebook"):
        load_submission(str(path))


# --- the CS231n convention ------------------------------------------------------------


def test_cs231n_convention_is_detected_and_adapted():
    module = load_submission(str(SUBMISSIONS / "cs231n_layers.py"))
    assert detect_convention(module) == "cs231n"
    adapter = as_contract(module)
    assert isinstance(adapter, CS231nAdapter)
    assert adapter.pool_modes == ("max",)
    assert adapter.display_names["conv_forward"] == "conv_forward_naive"
    backend = InProcessBackend(adapter)
    assert backend.functions() == {"conv_forward", "conv_backward", "pool_forward", "pool_backward"}
    assert backend.pool_modes == ("max",)


@pytest.mark.parametrize("stride,pad", [(1, 0), (2, 1), (3, 2)])
def test_cs231n_adapter_agrees_with_the_reference_with_either_cache(stride, pad):
    adapter = as_contract(load_submission(str(SUBMISSIONS / "cs231n_layers.py")))
    rng = np.random.default_rng(stride)
    A = rng.standard_normal((2, 7, 6, 3))
    W, b = rng.standard_normal((3, 3, 3, 4)), rng.standard_normal((1, 1, 1, 4))
    hp = {"stride": stride, "pad": pad}
    Z, cache = adapter.conv_forward(A, W, b, hp)
    Z_ref, cache_ref = reference.conv_forward(A, W, b, hp)
    np.testing.assert_allclose(Z, Z_ref, rtol=1e-12, atol=1e-12)
    dZ = rng.standard_normal(Z.shape)
    for any_cache in (cache, cache_ref):
        for got, want in zip(
            adapter.conv_backward(dZ, any_cache), reference.conv_backward(dZ, cache_ref),
            strict=True,
        ):
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    pool = {"f": 2, "stride": stride}
    P, pcache = adapter.pool_forward(A, pool, "max")
    P_ref, pcache_ref = reference.pool_forward(A, pool, "max")
    np.testing.assert_array_equal(P, P_ref)
    dP = rng.standard_normal(P.shape)
    for any_cache in (pcache, pcache_ref):
        np.testing.assert_allclose(
            adapter.pool_backward(dP, any_cache, "max"),
            reference.pool_backward(dP, pcache_ref, "max"),
        )


def test_cs231n_adapter_refuses_average_pooling():
    adapter = as_contract(load_submission(str(SUBMISSIONS / "cs231n_layers.py")))
    with pytest.raises(ValueError, match="no 'average' mode"):
        adapter.pool_forward(np.zeros((1, 2, 2, 1)), {"f": 2, "stride": 1}, "average")


def test_module_with_neither_convention_reports_everything_missing(tmp_path):
    path = tmp_path / "empty.py"
    path.write_text("x = 1\n")
    backend = InProcessBackend(as_contract(load_submission(str(path))))
    assert backend.functions() == frozenset()


# --- targets: files are files, folders are not submissions ----------------------------


def test_an_existing_file_is_a_file_whatever_its_name(tmp_path, monkeypatch):
    from gradcheck.load.loaders import is_path_like

    monkeypatch.chdir(tmp_path)
    Path("code.txt").write_text("def zero_pad(X, pad):\n    return X\n")
    assert is_path_like("code.txt")  # never the stdlib module `code`
    assert find_target("code.txt").startswith("code.txt is not a .py or .ipynb file")
    with pytest.raises(TargetNotFound, match=r"code\.txt is not a \.py or \.ipynb file"):
        load_submission("code.txt")


def test_a_folder_is_not_a_submission_unless_it_is_a_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("adir").mkdir()
    assert "adir is a directory" in find_target("adir")
    assert "gradcheck grade adir --out DIR" in find_target("adir")
    assert "is a directory" in find_target("adir/")
    Path("pkg").mkdir()
    Path("pkg/__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert find_target("pkg") is None  # an importable package: checked by its module name


def test_an_exported_notebook_runs_as_the_notebook_and_warns_about_what_it_skipped(tmp_path):
    from gradcheck.load.loaders import is_exported_notebook

    script = (
        "#!/usr/bin/env python\n# coding: utf-8\n\n# In[1]:\n\n\nimport numpy as np\nimport h5py\n"
        "get_ipython().run_line_magic('matplotlib', 'inline')\n\n\n# In[2]:\n\n\n"
        "def zero_pad(X, pad):\n    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))\n\n\n# In[3]:\n\n\n"
        "x_pad = zero_pad(np.ones((1, 2, 2, 1)), 1)\nprint(undefined_name)\n"
    )
    path = tmp_path / "exported.py"
    path.write_text(script)
    assert is_exported_notebook(script.encode()) and not is_exported_notebook(b"import numpy as np\n")
    module = load_submission(str(path))
    assert module.zero_pad(np.ones((1, 1, 1, 1)), 1).shape == (1, 3, 3, 1)
    assert module.x_pad.shape == (1, 4, 4, 1)  # the test cell ran, as the notebook did
    assert load_warnings(module) == [
        f"{path} [cell 1] line 8: skipped failing import (ModuleNotFoundError: No module named 'h5py')",
        f"{path} [cell 3] line 23: skipped: it raised NameError: name 'undefined_name' is not defined",
    ]


def test_a_statement_that_raises_ends_its_cell_as_in_jupyter(tmp_path):
    """Red team round 4: an ``assert`` failed, and the next line of the same cell rebound a wrong
    function to a right one; Jupyter never ran that line."""
    path = _notebook(tmp_path, "def zero_pad(X, pad):\n    return 'wrong'",
                     "assert zero_pad(None, 1) == 'right'\ndef zero_pad(X, pad):\n    return 'right'",
                     "import not_installed_here\nSCALE = 2")
    module = load_submission(path)
    assert module.zero_pad(None, 1) == "wrong"
    assert module.SCALE == 2  # a failing import worked where the notebook was written: its cell goes on
    assert load_warnings(module)[0] == (
        f"{path} [code cell 2] line 1: skipped: it raised AssertionError: ; the rest of the cell (1 statement) was "
        "not run, as in Jupyter")


def test_a_cell_magic_below_the_first_line_refuses_the_cell(tmp_path):
    path = _notebook(tmp_path, "def zero_pad(X, pad):\n    return 'wrong'",
                     "# time the fix\n%%time\ndef zero_pad(X, pad):\n    return 'right'")
    module = load_submission(path)
    assert module.zero_pad(None, 1) == "wrong"
    assert load_warnings(module) == [f"{path} [code cell 2]: not run: the cell magic %%time is not on the cell's "
                                     "first line (IPython refuses such a cell)"]


def test_run_magic_binds_the_files_names_as_ipython_does(tmp_path):
    (tmp_path / "helpers.py").write_text("def zero_pad(X, pad):\n    return 'from helpers'\n")
    path = _notebook(tmp_path, "def zero_pad(X, pad):\n    return 'first'", "%run helpers.py")
    assert load_submission(path).zero_pad(None, 1) == "from helpers"


def test_a_continuation_line_is_never_a_magic(tmp_path):
    """Red team round 4: ``!= n_C`` starting a wrapped condition was blanked as a shell escape."""
    path = _notebook(tmp_path, "def zero_pad(X, pad):\n    if (pad\n            != 0):\n        return 'padded'\n"
                               "    return X\nx = (1 +\n     2)\ny = 3 \\\n    % 2")
    module = load_submission(path)
    assert module.zero_pad(None, 1) == "padded" and module.x == 3 and module.y == 1


def test_a_slow_statement_that_changes_what_a_function_reads_runs_to_its_end(tmp_path, monkeypatch):
    """Red team round 4: a slow loop set ``CFG['scale'] = 0.5`` in a dict the function reads; a
    store into an item, an attribute or a mutating method counts as binding that name."""
    from gradcheck.load import loaders

    monkeypatch.setattr(loaders, "STATEMENT_SECONDS", 0.2)
    path = _notebook(tmp_path, "import time\nCFG = {'scale': 1.0}\nLOG = []",
                     "def zero_pad(X, pad):\n    return CFG['scale'] * len(LOG)",
                     "for _ in range(1):\n    time.sleep(0.5)\n    CFG['scale'] = 0.5\n    LOG.append(1)")
    assert load_submission(path).zero_pad(None, 1) == 0.5
