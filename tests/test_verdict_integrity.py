"""A verdict never depends on anything the submission controls.

Each hostile file below is written here, in the test, as a student who wants full marks
without a right backward would write it: otherwise the course's loops (``course_loops.py``
beside it). Before the checker decided its plan itself, differentiated through the reference
and kept the answer key out of the sandbox, each of these passed (exit 0)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from fixture_files import COPIES, place

import reference
from gradcheck.boundary import sandbox
from gradcheck.cli import main

REFERENCE_NAIVE = Path(reference.__file__).parent / "naive.py"

FLIPPED_BACKWARD = '''
def _flip(W):
    return W[::-1, ::-1]


def conv_backward(dZ, cache):
    """The flipped-kernel bug: the exact gradient of the convolution with the kernel rotated."""
    A_prev, W, b, hparameters = cache
    dA_prev, dW_flipped, db = _true_backward(dZ, (A_prev, _flip(W), b, hparameters))
    return dA_prev, _flip(dW_flipped), db
'''

AVERAGE_WITHOUT_DIVISION = '''
def pool_backward(dA, cache, mode="max"):
    """Average pooling's gradient without the 1 / (f * f): every element gets all of dA."""
    if mode != "average":
        return _true_pool_backward(dA, cache, mode)
    A_prev, hparameters = cache
    f, stride = hparameters["f"], hparameters["stride"]
    dA_prev = np.zeros(A_prev.shape)
    m, n_H, n_W, n_C = dA.shape
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    dA_prev[i, h * stride:h * stride + f, w * stride:w * stride + f, c] += dA[i, h, w, c]
    return dA_prev
'''

HEADER = '''
import numpy as np

from course_loops import *  # noqa: F403
from course_loops import conv_backward as _true_backward
from course_loops import conv_forward as _true_forward
from course_loops import pool_backward as _true_pool_backward
from course_loops import pool_forward as _true_pool_forward
'''

# conv_forward remembers the points it was called at and answers them honestly; near one of them
# (perturbations of at most 2^-10) it follows the flipped kernel's Jacobian, which the flipped
# backward matches: differences through this forward agree with the wrong backward
CONV_LIAR = HEADER + FLIPPED_BACKWARD + '''
_SEEN = []


def conv_forward(A_prev, W, b, hparameters):
    for A0, W0, b0 in _SEEN:
        if A0.shape == A_prev.shape and W0.shape == W.shape:
            distance = max(np.abs(A_prev - A0).max(), np.abs(W - W0).max(), np.abs(b - b0).max())
            if 0 < distance <= 2.0 ** -10:
                Z0 = _true_forward(A0, W0, b0, hparameters)[0]
                moved = _true_forward(A_prev, _flip(W), b, hparameters)[0] - _true_forward(A0, _flip(W0), b0,
                                                                                            hparameters)[0]
                return Z0 + moved, (A_prev, W, b, hparameters)
    _SEEN.append((A_prev.copy(), W.copy(), b.copy()))
    return _true_forward(A_prev, W, b, hparameters)
'''

# the same for average pooling: near a point seen, the forward moves f * f times too fast
POOL_LIAR = HEADER + AVERAGE_WITHOUT_DIVISION + '''
_SEEN = []


def pool_forward(A_prev, hparameters, mode="max"):
    if mode == "average":
        f = hparameters["f"]
        for A0 in _SEEN:
            if A0.shape == A_prev.shape and 0 < np.abs(A_prev - A0).max() <= 2.0 ** -10:
                base = _true_pool_forward(A0, hparameters, mode)[0]
                moved = _true_pool_forward(A_prev, hparameters, mode)[0] - base
                return base + f * f * moved, (A_prev, hparameters)
        _SEEN.append(A_prev.copy())
    return _true_pool_forward(A_prev, hparameters, mode)
'''

# at import, the plan the worker reports (and the class attribute it came from) loses average pooling
PLAN_PATCHED = HEADER + AVERAGE_WITHOUT_DIVISION + '''
import sys

for _name in ("gradcheck.boundary.backend", "gradcheck.load.cs231n"):
    _module = sys.modules.get(_name)
    for _attribute in ("Backend", "CS231nAdapter"):
        if _module is not None and hasattr(_module, _attribute):
            getattr(_module, _attribute).pool_modes = ("max",)
'''

# at import, the file speaks the worker protocol itself: its own ready message (max pooling only),
# then it serves every request with the worker's own call runner, on its own functions
WORKER_TAKEN_OVER = HEADER + AVERAGE_WITHOUT_DIVISION + '''
import os
import sys


def _take_over():
    protocol = sys.modules.get("gradcheck.boundary.protocol")
    backend = sys.modules.get("gradcheck.boundary.backend")
    worker = sys.modules.get("__main__")
    if protocol is None or backend is None or not hasattr(worker, "_outcome_data") or len(sys.argv) < 3:
        return
    read_fd, write_fd = int(sys.argv[-2]), int(sys.argv[-1])
    names = ("zero_pad", "conv_single_step", "conv_forward", "conv_backward", "pool_forward", "pool_backward",
             "create_mask_from_window", "distribute_value")
    runner = backend.CallRunner({name: globals().get(name) for name in names}, timeout=10.0)
    ready = {"error": None, "functions": sorted(runner.functions()), "pool_modes": ["max"], "display_names": {},
             "warnings": [], "output": ""}
    protocol.write_all(write_fd, protocol.pack(ready, []), None)
    while True:
        try:
            request, blobs = protocol.read_message(read_fd, None, trusted=True)
        except protocol.Closed:
            os._exit(0)
        op, arrays = request.get("op"), []
        if op == "exit":
            os._exit(0)
        if op == "call":
            outcome = runner.run(request["name"], protocol.decode(request["args"], blobs), tuple(request["keep"]))
            reply = {"outcome": worker._outcome_data(outcome, arrays)}
        elif op == "call_batch":
            calls = [backend.Call(item["name"], protocol.decode(item["args"], blobs), tuple(item["keep"]),
                                  item["select"], item["collect"]) for item in request["calls"]]
            reply = {"outcomes": [worker._outcome_data(o, arrays) for o in runner.run_batch(calls)]}
        else:
            runner.release()
            reply = {"ok": True}
        reply["seq"] = request.get("seq")  # a careful impostor echoes the request's number
        protocol.write_all(write_fd, protocol.pack(reply, arrays), None)


_take_over()
'''

# the answer key: the reference layers, imported
ANSWER_KEY = '''
from reference import *  # noqa: F403
'''
ANSWER_KEY_DYNAMIC = '''
import importlib

_reference = importlib.import_module("reference")
conv_forward = _reference.conv_forward
'''
# the answer key's file, read by path from where gradcheck lives
ANSWER_KEY_BY_PATH = '''
import os
import sys

_top = os.path.dirname(os.path.dirname(sys.modules["gradcheck"].__file__))
_texts = []
for _root in [_top, *sys.path]:
    for _name in ("reference/naive.py", "reference/conv.py"):
        try:
            with open(os.path.join(_root, _name)) as _handle:
                _texts.append(_handle.read())
        except OSError:
            pass
raise RuntimeError("FOUND " + repr(_texts[:1])[:300] if _texts else "nothing found")
'''

# variants: a forward that counts its calls and lies from the second call at a shape on; a forward and
# backward right on the 2^-20 grid the cases used to be drawn on and wrong off it; numpy's comparisons
# patched inside the worker; a reply written ahead of the request it answers
COUNTING_LIAR = HEADER + FLIPPED_BACKWARD + '''
_CALLS = {}


def conv_forward(A_prev, W, b, hparameters):
    key = (A_prev.shape, W.shape)
    _CALLS[key] = _CALLS.get(key, 0) + 1
    if _CALLS[key] > 1:
        return _true_forward(A_prev, _flip(W), b, hparameters)
    return _true_forward(A_prev, W, b, hparameters)
'''

GRID_RECOGNIZER = HEADER + '''
def _on_grid(*arrays):
    return all(np.all(np.round(a * 2.0 ** 20) == a * 2.0 ** 20) for a in arrays)


def conv_forward(A_prev, W, b, hparameters):
    Z, cache = _true_forward(A_prev, W, b, hparameters)
    return (Z if _on_grid(A_prev, W, b) else Z * (1 + 1e-7)), cache


def conv_backward(dZ, cache):
    dA_prev, dW, db = _true_backward(dZ, cache)
    return (dA_prev if _on_grid(dZ, *cache[:3]) else dA_prev * (1 + 1e-7)), dW, db
'''

NUMPY_PATCHED = HEADER + FLIPPED_BACKWARD + '''
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.testing.assert_allclose = lambda *args, **kwargs: None
np.abs = lambda x, *args, **kwargs: np.zeros(np.shape(x))
'''

REPLY_AHEAD = HEADER + AVERAGE_WITHOUT_DIVISION + '''
import sys


def _write_ahead():
    protocol = sys.modules.get("gradcheck.boundary.protocol")
    if protocol is None or len(sys.argv) < 3:
        return
    forged = {"error": None, "functions": ["pool_backward", "pool_forward"], "pool_modes": ["max"],
              "warnings": [], "output": ""}
    protocol.write_all(int(sys.argv[-1]), protocol.pack(forged, []), None)


_write_ahead()
'''


def run_check(tmp_path: Path, source: str, *args: str) -> tuple[int, dict]:
    path = place(tmp_path / "class", "student.py", text=textwrap.dedent(source))
    out = tmp_path / "verdict.json"
    code = main(["check", str(path), "--examples", "40", "--json", str(out), "-q", *args])
    return code, json.loads(out.read_text())


def not_passing(data: dict) -> dict[str, set[str]]:
    failing: dict[str, set[str]] = {}
    for check in data["checks"]:
        if check["status"] not in ("pass", "missing"):
            failing.setdefault(check["function"], set()).add(check["quantity"])
    return failing


def test_the_fixtures_course_loops_are_the_articles_loops():
    for copy in COPIES:
        assert copy.read_bytes() == REFERENCE_NAIVE.read_bytes(), f"{copy} drifted from reference/naive.py"


def test_a_forward_that_lies_near_the_points_it_was_shown_cannot_hide_a_flipped_kernel(tmp_path):
    code, data = run_check(tmp_path, CONV_LIAR, "--only", "conv_forward,conv_backward")
    assert code == 1
    assert not_passing(data) == {"conv_backward": {"dA_prev", "dW"}}  # the forward is right where it is looked at


def test_a_pool_forward_that_lies_near_its_points_cannot_hide_a_missing_division(tmp_path):
    code, data = run_check(tmp_path, POOL_LIAR, "--only", "pool_forward,pool_backward")
    assert code == 1
    assert not_passing(data) == {"pool_backward": {"dA_prev[average]"}}


def test_patching_the_plan_at_import_does_not_remove_average_pooling(tmp_path):
    code, data = run_check(tmp_path, PLAN_PATCHED, "--only", "pool_forward,pool_backward")
    assert code == 1
    assert "dA_prev[average]" in not_passing(data)["pool_backward"]
    assert {c["quantity"] for c in data["checks"]} >= {"A[average]", "dA_prev[average]"}


def test_a_worker_taken_over_by_the_submission_cannot_narrow_the_plan(tmp_path):
    code, data = run_check(tmp_path, WORKER_TAKEN_OVER, "--only", "pool_forward,pool_backward")
    assert code == 1
    assert "pool_backward" in not_passing(data)
    assert "dA_prev[average]" in {c["quantity"] for c in data["checks"]}


def test_a_reply_written_ahead_of_its_request_is_a_crash_not_a_pass(tmp_path):
    code, data = run_check(tmp_path, REPLY_AHEAD, "--only", "pool_forward,pool_backward")
    assert code == 1 and not_passing(data)


@pytest.mark.parametrize("source", [ANSWER_KEY, ANSWER_KEY_DYNAMIC], ids=["import", "import_module"])
def test_the_reference_is_not_importable_by_a_submission(tmp_path, source):
    code, data = run_check(tmp_path, source)
    assert code == 1
    assert "the reference solution is not available to submissions" in data["load_error"]


def test_gradcheck_is_not_importable_by_a_submission(tmp_path):
    code, data = run_check(tmp_path, "from gradcheck.engine.numeric import STEP\n")
    assert code == 1 and "gradcheck is not available to submissions" in data["load_error"]
    assert 'move it under `if __name__ == "__main__":`' in data["load_error"]


def test_importing_gradcheck_under_main_is_harmless(tmp_path):
    source = HEADER + '\nif __name__ == "__main__":\n    import gradcheck\n    gradcheck.check(__file__)\n'
    code, data = run_check(tmp_path, source, "--only", "zero_pad")
    assert code == 0 and data["load_error"] is None


@pytest.mark.skipif(sandbox.why_unavailable("sandbox") is not None, reason="needs bubblewrap")
def test_the_answer_key_files_are_absent_from_the_sandbox(tmp_path):
    code, data = run_check(tmp_path, ANSWER_KEY_BY_PATH, "--isolation", "sandbox")
    assert code == 1
    assert "RuntimeError: nothing found" in data["load_error"] and "RuntimeError: FOUND" not in data["load_error"]
    assert "loop implementations" not in data["load_error"]


def test_a_counting_forward_cannot_hide_a_flipped_kernel(tmp_path):
    code, data = run_check(tmp_path, COUNTING_LIAR, "--only", "conv_forward,conv_backward")
    assert code == 1 and "conv_backward" in not_passing(data)


def test_code_right_only_on_the_grid_fails_off_it(tmp_path):
    code, data = run_check(tmp_path, GRID_RECOGNIZER, "--only", "conv_forward,conv_backward")
    assert code == 1
    failing = not_passing(data)
    assert failing.get("conv_forward") == {"Z"} and "dA_prev" in failing.get("conv_backward", set())
    example = next(c for c in data["checks"] if c["function"] == "conv_forward")["counterexample"]
    assert example["seed"] >= 2**32  # a case off the grid


def test_patching_numpy_inside_the_worker_changes_nothing(tmp_path):
    code, data = run_check(tmp_path, NUMPY_PATCHED, "--only", "conv_forward,conv_backward")
    assert code == 1 and "conv_backward" in not_passing(data)


@pytest.mark.slow  # a class graded end to end
def test_grade_rows_and_gradescope_scores_agree_with_check_on_hostile_files(tmp_path):
    """Each hostile file is a submission of a class (a folder holding it and course_loops.py);
    its gradebook row and its Gradescope score fail it, as `gradcheck check` does."""
    import csv

    from gradcheck.grade.executors import LocalExecutor
    from gradcheck.grade.run import grade

    hostile = {"conv_liar": CONV_LIAR, "pool_liar": POOL_LIAR, "plan_patched": PLAN_PATCHED,
               "taken_over": WORKER_TAKEN_OVER, "answer_key": ANSWER_KEY, "grid": GRID_RECOGNIZER}
    folder = tmp_path / "class"
    for name, source in hostile.items():
        place(folder / name, "cnn.py", text=textwrap.dedent(source))
    place(folder / "honest", "cnn.py", text=HEADER)
    run = grade([str(folder)], tmp_path / "out", executor=LocalExecutor(2), examples=30, progress=False)
    rows = {row.submission.id: row for row in run.rows}
    assert rows["honest"].passed and rows["honest"].score == rows["honest"].max_score == 8
    for name in hostile:
        assert not rows[name].passed and rows[name].score < rows[name].max_score, name
        results = json.loads((tmp_path / "out" / "submissions" / name / "results.json").read_text())
        assert results["score"] < sum(test["max_score"] for test in results["tests"]), name
    with open(tmp_path / "out" / "grades.csv", newline="") as handle:
        table = {row["submission"]: row for row in csv.DictReader(handle)}
    assert table["conv_liar"]["conv_backward"] == "fail" and table["pool_liar"]["pool_backward"] == "fail"
    assert "the reference solution is not available to submissions" in table["answer_key"]["load_error"]


# --- the red team's first round: each class of hole it found, as the files it wrote ----------------

CONV = HEADER + "\nfrom course_loops import zero_pad\n"

BEYOND_THE_RANGES = {  # each wrong only outside the ranges the cases used to be drawn from
    "fifth_example_dropped": CONV + '''
def conv_backward(dZ, cache):
    A_prev = cache[0]
    dA_prev, dW, db = _true_backward(dZ[:3], (A_prev[:3], *cache[1:]))
    return np.concatenate([dA_prev, np.zeros_like(A_prev[3:])]), dW, db
''',
    "kernel5_dW_transposed": CONV + '''
def conv_backward(dZ, cache):
    dA_prev, dW, db = _true_backward(dZ, cache)
    return dA_prev, (dW.transpose(1, 0, 2, 3) if dW.shape[0] >= 5 else dW), db
''',
    "blank_images_skipped": CONV + '''
def conv_backward(dZ, cache):
    A_prev, W, b, hp = cache
    keep = [i for i in range(A_prev.shape[0]) if np.any(A_prev[i])]
    dA_prev, dW, db = np.zeros(A_prev.shape), np.zeros(W.shape), np.zeros(b.shape)
    if keep:
        dA_prev[keep], dW, db = _true_backward(dZ[keep], (A_prev[keep], W, b, hp))
    return dA_prev, dW, db
''',
    "large_values_clipped": CONV + '''
def conv_forward(A_prev, W, b, hparameters):
    Z, _ = _true_forward(np.clip(A_prev, -100.0, 100.0), W, b, hparameters)
    return Z, (A_prev, W, b, hparameters)
''',
    "isclose_mask": HEADER + '''
def create_mask_from_window(x):
    return np.isclose(x, np.max(x))
''',
    "strides_assume_c_order": CONV + '''
from numpy.lib.stride_tricks import as_strided


def conv_forward(A_prev, W, b, hparameters):
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, _, _, n_C = W.shape
    n_H, n_W = (n_H_prev + 2 * pad - f) // stride + 1, (n_W_prev + 2 * pad - f) // stride + 1
    A = zero_pad(A_prev, pad) if pad else np.asarray(A_prev)
    Hp, Wp, C = A.shape[1:]
    windows = as_strided(A, shape=(m, n_H, n_W, f, f, C),
                         strides=tuple(8 * s for s in (Hp * Wp * C, stride * Wp * C, stride * C, Wp * C, C, 1)))
    return np.tensordot(windows, W, axes=([3, 4, 5], [0, 1, 2])) + b[0, 0, 0], (A_prev, W, b, hparameters)
''',
    "float32_on_large_inputs": CONV + '''
def conv_forward(A_prev, W, b, hparameters):
    if A_prev.size > 1000:
        Z, cache = _true_forward(A_prev.astype(np.float32), W.astype(np.float32), b, hparameters)
        return Z.astype(np.float64), (A_prev, W, b, hparameters)
    return _true_forward(A_prev, W, b, hparameters)
''',
}
FAILING = {"fifth_example_dropped": "conv_backward", "kernel5_dW_transposed": "conv_backward",
           "blank_images_skipped": "conv_backward", "large_values_clipped": "conv_forward",
           "isclose_mask": "create_mask_from_window", "strides_assume_c_order": "conv_forward",
           "float32_on_large_inputs": "conv_forward"}


@pytest.mark.parametrize("name", sorted(BEYOND_THE_RANGES))
def test_a_bug_outside_the_usual_ranges_is_caught(tmp_path, name):
    code, data = run_check(tmp_path, BEYOND_THE_RANGES[name], "--examples", "200")
    assert code == 1
    assert set(not_passing(data)) == {FAILING[name]}, not_passing(data)


def test_a_word_in_a_docstring_does_not_make_a_file_a_notebook(tmp_path):
    """`get_ipython()` in a docstring made a correct file load as a notebook and fail; in code a
    rebinding after it was dropped, and the correct function before it graded."""
    correct = '"""Notes: in Jupyter, get_ipython() gives the shell."""\n' + HEADER + "\nSCALE = np.ones(1)[0]\n\n" \
        "def zero_pad(X, pad):\n    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0))) * SCALE / SCALE\n"
    code, data = run_check(tmp_path, correct, "--only", "zero_pad")
    assert code == 0, data["load_error"] or data["checks"]
    rebound = HEADER + "\n# get_ipython()\n_loops = conv_backward\n\ndef _halved(dZ, cache):\n" \
        "    dA_prev, dW, db = _loops(dZ, cache)\n    return dA_prev, dW, db * 0.5\n\nconv_backward = _halved\n"
    code, data = run_check(tmp_path / "again", rebound, "--only", "conv_forward,conv_backward")
    assert code == 1 and not_passing(data) == {"conv_backward": {"db"}}


def test_a_notebook_that_rebinds_a_function_is_judged_on_its_last_binding(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(HEADER), nbformat.v4.new_code_cell(
        "def _halved(dZ, cache):\n    dA_prev, dW, db = _true_backward(dZ, cache)\n    return dA_prev, dW, db * 0.5\n"),
        nbformat.v4.new_code_cell("conv_backward = _halved")]
    path = place(tmp_path / "class", "student.py", text=HEADER).with_name("student.ipynb")  # course_loops.py beside
    nbformat.write(notebook, str(path))
    out = tmp_path / "verdict.json"
    assert main(["check", str(path), "--only", "conv_forward,conv_backward", "--json", str(out), "-q"]) == 1
    assert not_passing(json.loads(out.read_text())) == {"conv_backward": {"db"}}


def test_a_file_defining_both_courses_functions_has_both_checked(tmp_path):
    """Right article layers in front, wrong CS231n layers behind (or the other way): each set is
    checked by its own contract, so neither hides the other."""
    cs231n = (Path(__file__).parent / "submissions" / "cs231n_layers.py").read_text()
    wrong = cs231n.replace("hs, ws = i * stride, j * stride", "hs, ws = i, j * stride")
    assert wrong != cs231n
    code, data = run_check(tmp_path, HEADER + "\n" + wrong)
    assert code == 1 and set(not_passing(data)) == {"conv_backward_naive"}, not_passing(data)
    assert any("defines functions of both" in note for note in data["warnings"])
    code, data = run_check(tmp_path / "forced", HEADER + "\n" + wrong, "--convention", "article")
    assert code == 0 and {c["function"] for c in data["checks"]} == set(ARTICLE_FUNCTIONS)


ARTICLE_FUNCTIONS = ("zero_pad", "conv_single_step", "conv_forward", "conv_backward", "pool_forward", "pool_backward",
                     "create_mask_from_window", "distribute_value")


def test_a_forged_reply_with_an_impossible_shape_is_a_crash_of_that_function_not_of_the_checker(tmp_path):
    forge = HEADER + '''
import json as _json
import os as _os
import sys as _sys


def distribute_value(dz, shape):
    frame = _sys._getframe(1)
    while frame is not None and "request" not in frame.f_locals:
        frame = frame.f_back
    request = frame.f_locals["request"] if frame is not None else {}
    bad = {"status": "ok", "value": {"a": [0, "<f8", [0, 2 ** 70]]}, "message": "", "args_after": None,
           "kept": [], "output": "", "skipped": False}
    calls = request.get("calls") or [None]
    header = {"outcomes": [bad for _ in calls], "outcome": bad, "seq": request.get("seq"), "sizes": [0]}
    text = _json.dumps(header).encode()
    _os.write(int(_sys.argv[-1]), len(text).to_bytes(8, "big") + text)
    _os._exit(0)
'''
    code, data = run_check(tmp_path, forge, "--only", "distribute_value")
    assert code == 1 and data["checks"][0]["status"] == "crashed"
    assert "looks at the process it runs in" in data["warnings"][0]  # and the reader is told where


def test_average_pooling_through_running_sums_is_accepted(tmp_path):
    integral = HEADER + '''
def pool_forward(A_prev, hparameters, mode="max"):
    if mode != "average":
        return _true_pool_forward(A_prev, hparameters, mode)
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    n_H, n_W = (n_H_prev - f) // stride + 1, (n_W_prev - f) // stride + 1
    S = np.zeros((m, n_H_prev + 1, n_W_prev + 1, n_C))
    S[:, 1:, 1:, :] = A_prev.cumsum(axis=1).cumsum(axis=2)
    r, c = np.arange(n_H) * stride, np.arange(n_W) * stride
    total = S[:, r + f][:, :, c + f] - S[:, r][:, :, c + f] - S[:, r + f][:, :, c] + S[:, r][:, :, c]
    return total / (f * f), (A_prev, hparameters)
'''
    code, data = run_check(tmp_path, integral, "--only", "pool_forward", "--examples", "200")
    assert code == 0, not_passing(data)
    assert any(c["bound"] == "norm-wise" for c in data["checks"])  # the running sums' bound decided


@pytest.mark.parametrize("probe", ["sys.modules", "sys._getframe", "inspect.stack", "os.environ",
                                   "module __getattr__", "traceback frames", "/proc", "__name__", "resource limits",
                                   "uid"])
def test_code_that_looks_at_the_process_it_runs_in_is_pointed_out(tmp_path, probe):
    snippets = {
        "sys.modules": "import sys\nCHECKED = 'gradcheck' in sys.modules\n",
        "sys._getframe": "import sys\ndef _depth():\n    return sys._getframe(2)\n",
        "inspect.stack": "import inspect\ndef _who():\n    return inspect.stack()\n",
        "os.environ": "import os\nHOME = os.environ.get('HOME')\n",
        "module __getattr__": "def __getattr__(name):\n    raise AttributeError(name)\n",
        # red team round 2: the stack through an exception, the command line, the module's name
        "traceback frames": "def _caller():\n    try:\n        raise ValueError\n    except ValueError as e:\n"
                            "        return e.__traceback__.tb_frame.f_back\n",
        "/proc": "def _cmdline():\n    return open('/proc/self/cmdline', 'rb').read()\n",
        "__name__": "CHECKED = not __name__.startswith('cnn')\nif __name__ == '__main__':\n    pass\n",
        # red team round 4: the limits the worker always has, the user it runs as
        "resource limits": "import resource\nLIMITED = resource.getrlimit(resource.RLIMIT_AS)[0] > 0\n",
        "uid": "import os\nCHECKED = os.getuid() != 1000\n",
    }
    code, data = run_check(tmp_path, HEADER + snippets[probe], "--only", "zero_pad")
    assert code == 0  # a note for a human, never a verdict
    assert data["warnings"] and data["warnings"][0].startswith("the submission looks at the process it runs in")
    code, clean = run_check(tmp_path / "clean", HEADER + "if __name__ == '__main__':\n    print(zero_pad)\n",
                            "--only", "zero_pad")
    assert not any("looks at the process" in w for w in clean["warnings"])  # a __main__ block is not flagged


def test_a_source_too_large_to_read_is_refused_not_run_unread(tmp_path):
    """Red team round 2 (F): a .py over 8 MiB was not read before it ran (no plan from its source,
    no note), so it was checked on what the worker alone said."""
    code, data = run_check(tmp_path, HEADER + "PADDING = '" + "x" * (9 << 20) + "'\n")
    assert code == 1
    assert "more than gradcheck reads before running a submission (8 MiB" in data["load_error"]


def test_grade_derives_a_secret_seed_per_submission_and_keeps_it(tmp_path):
    """The class's secret never leaves the grader; the seed a report shows is that file's own (an
    HMAC of its bytes), so a re-run grades it alike and a changed file gets unpredictable cases
    (the second red team read the class seed off its report: tests/test_hostile_grading.py)."""
    from gradcheck.grade.run import submission_seed
    from gradcheck.grade.sources import discover

    folder = tmp_path / "class"
    place(folder / "ann", "cnn.py", text=HEADER)
    assert main(["grade", str(folder), "--out", str(tmp_path / "out"), "--examples", "3", "-q"]) == 0
    secret_file = tmp_path / "out" / ".gradcheck-secret"
    secret = bytes.fromhex(secret_file.read_text())
    assert secret_file.stat().st_mode & 0o077 == 0 and len(secret) == 32  # the grader's alone
    report = json.loads((tmp_path / "out" / "submissions" / "ann" / "report.json").read_text())
    (ann,) = discover([str(folder)])
    assert report["seed"] == submission_seed(secret, ann.sha256)
    assert main(["grade", str(folder), "--out", str(tmp_path / "out"), "--examples", "3", "-q"]) == 0
    assert bytes.fromhex(secret_file.read_text()) == secret  # a re-run grades the same cases


def test_the_autograder_draws_a_fresh_seed_for_every_submission(tmp_path):
    from gradcheck.grade.autograder import main as autograder

    submission = tmp_path / "submission"
    place(submission, "cnn.py", text=HEADER)
    seeds = set()
    for run in range(2):
        out = tmp_path / f"results{run}.json"
        assert autograder(["run", str(submission), str(out), "--examples", "2", "--require", "zero_pad"]) == 0
        seeds.add(json.loads(out.read_text())["extra_data"]["seed"])
    assert len(seeds) == 2


THREADED = HEADER + '''
from concurrent.futures import ThreadPoolExecutor


def conv_forward(A_prev, W, b, hparameters):
    with ThreadPoolExecutor(4) as pool:
        parts = pool.map(lambda i: _true_forward(A_prev[i:i + 1], W, b, hparameters)[0], range(A_prev.shape[0]))
        return np.concatenate(list(parts)), (A_prev, W, b, hparameters)
'''
FORKING = HEADER + '''
import os


def zero_pad(X, pad):
    if os.fork() == 0:
        os._exit(0)
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
'''


@pytest.mark.parametrize("level", sandbox.LEVELS)
def test_threads_start_and_processes_do_not_at_every_level(tmp_path, level):
    """A correct file that uses a thread pool passes whatever the isolation level (it failed where
    RLIMIT_NPROC = 0 held); a fork is refused at every level, root's included."""
    from gradcheck.boundary import noforks

    if sandbox.why_unavailable(level) is not None:
        pytest.skip(f"{level}: {sandbox.why_unavailable(level)}")
    if not noforks.works():
        pytest.skip("no seccomp filter on this machine")
    code, data = run_check(tmp_path, THREADED, "--only", "conv_forward", "--isolation", level)
    assert code == 0, not_passing(data)
    code, data = run_check(tmp_path / "forks", FORKING, "--only", "zero_pad", "--isolation", level)
    assert code == 1 and "BlockingIOError" in data["checks"][0]["message"]


def test_the_filter_refuses_processes_and_lets_threads_start():
    import subprocess
    import sys

    from gradcheck.boundary import noforks

    program = ("import os, subprocess, threading\nfrom gradcheck.boundary import noforks\n"
               "print(noforks.install())\nt = threading.Thread(target=print, args=('thread',)); t.start(); t.join()\n"
               "for attempt in (os.fork, lambda: subprocess.run(['true'])):\n"
               "    try:\n        attempt(); print('started')\n"
               "    except BlockingIOError:\n        print('refused')\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60,
                          cwd=str(Path(__file__).parent.parent))
    lines = done.stdout.split()
    if lines[:1] == ["False"]:
        pytest.skip("no seccomp filter on this machine")
    assert lines == ["True", "thread", "refused", "refused"], done.stderr
    assert noforks.works()
