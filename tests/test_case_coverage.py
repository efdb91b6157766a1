"""The cases reach where real code hides bugs (red team 2, rows 01-05, 10, 11, 23, 24, 30).

Each rule is pinned both ways: a file wrong only there fails exactly that function, and a
correct file written the same way passes. The drawing itself (heavy geometries, flag bits,
strided views, sparse upstream gradients) is pinned without the engine.
"""

from __future__ import annotations

import itertools
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from fixture_files import place

from gradcheck.boundary import protocol
from gradcheck.boundary.values import StridedView, strided_view
from gradcheck.cli import main
from gradcheck.engine import numeric as fd
from gradcheck.engine.checks.case import hparameters_of
from gradcheck.load.cs231n import CS231nAdapter
from gradcheck.plans.convolution import sampling
from gradcheck.strategies import ConvGeometry, PoolGeometry

HEADER = '''
import numpy as np

from course_loops import *  # noqa: F403
from course_loops import conv_backward as _true_backward
from course_loops import conv_forward as _true_forward
from course_loops import pool_backward as _true_pool_backward
from course_loops import pool_forward as _true_pool_forward
'''


def run_check(tmp_path: Path, source: str, *args: str) -> tuple[int, dict]:
    path = place(tmp_path / "class", "student.py", text=textwrap.dedent(source))
    out = tmp_path / "verdict.json"
    code = main(["check", str(path), "--json", str(out), "-q", *args])
    return code, json.loads(out.read_text())


def not_passing(data: dict) -> set[str]:
    return {check["function"] for check in data["checks"] if check["status"] not in ("pass", "missing")}


# --- the drawing, without the engine ------------------------------------------------------------


def test_heavy_conv_and_pool_cases_reach_beyond_the_usual_ranges_at_a_bounded_cost():
    convs = list(itertools.islice(sampling.conv_cases(np.random.default_rng(0)), 200))
    pools = list(itertools.islice(sampling.pool_cases(np.random.default_rng(0), "max"), 200))
    assert any(g.stride >= 4 for g in convs) and any(g.pad >= 4 for g in convs)
    assert any(g.n_H_prev > 12 for g in convs) and any(g.m >= 7 for g in convs)
    assert any(max(g.n_C_prev, g.n_C) >= 6 for g in convs) and any(g.f >= 6 for g in convs)
    assert any(g.f >= 6 for g in pools) and any(g.m >= 7 for g in pools) and any(g.stride >= 4 for g in pools)
    for cases in (convs, pools):
        for g in cases[sampling.HEAVY_AT::sampling.HEAVY_EVERY]:  # the heavy ones: bounded outputs
            assert g.n_H >= 1 and g.n_W >= 1 and g.m * g.n_H * g.n_W * g.n_C <= sampling.HEAVY_OUTPUTS, g
    heavy = [g for g in convs if not sampling.usual(g)]
    assert len(heavy) < len(convs) // 4  # mostly small: the cost stays that of the usual cases


def test_heavy_cs231n_cases_stay_inside_cs231n_contract():
    rng = np.random.default_rng(1)
    convs = [sampling.heavy_conv(rng, turn, rectangular=True) for turn in range(20)]
    pools = [sampling.heavy_pool(rng, turn, "max", rectangular=True) for turn in range(20)]
    for g in convs + pools:
        assert g.valid(), g
    assert any(g.stride >= 4 for g in convs) and any(max(g.window) >= 6 for g in pools)


def test_large_windows_reach_create_mask_and_distribute():
    windows = list(itertools.islice(sampling.window_cases(np.random.default_rng(0)), 60))
    assert any(max(w.n_H, w.n_W) >= 6 for w in windows)
    assert sum(max(w.n_H, w.n_W) <= 4 for w in windows) > 0.8 * len(windows)


def test_every_call_kind_is_drawn_and_leaves_the_values_alone():
    drawn = sampling.draw_cases(sampling.conv_cases(np.random.default_rng(0)), np.random.default_rng(1), 32)
    seeds = [seed for _, seed in drawn]
    for flag in (fd.OTHER_LAYOUT, fd.STRIDED_LAYOUT, fd.SPARSE_UPSTREAM, fd.DEFAULT_MODE, fd.COURSE_KEY_ORDER,
                 fd.CALLED_AGAIN):
        assert any(seed & flag for seed in seeds), hex(flag)
        assert sum(bool(seed & flag) for seed in seeds) <= len(seeds) // 2  # most cases are called the usual way
    geometry = ConvGeometry(2, 5, 5, 2, 3, 3, 2, 1)
    seed = next(seed for seed in seeds if seed & fd.CALL_KINDS)
    for flagged, plain in zip(geometry.random_inputs(seed), geometry.random_inputs(fd.value_seed(seed)), strict=True):
        assert np.array_equal(flagged, plain)


def test_hparameters_come_in_the_courses_key_order_on_flagged_cases():
    conv, pool = ConvGeometry(1, 5, 5, 1, 1, 3, 2, 1), PoolGeometry(1, 5, 5, 1, 3, 2, "max")
    assert list(hparameters_of(conv, 0)) == ["stride", "pad"]
    assert list(hparameters_of(conv, fd.COURSE_KEY_ORDER)) == ["pad", "stride"]  # {"pad": 2, "stride": 2}
    assert list(hparameters_of(pool, fd.COURSE_KEY_ORDER)) == ["stride", "f"]  # {"stride": 2, "f": 3}
    assert hparameters_of(conv, fd.COURSE_KEY_ORDER) == hparameters_of(conv, 0)


def test_a_sparse_upstream_gradient_has_zeros_but_is_never_all_zero():
    rng = np.random.default_rng(0)
    for shape in [(1,), (1, 1, 1, 1), (2, 3, 3, 2)]:
        for _ in range(20):
            upstream = fd.upstream_gradient(rng, shape, sparse=True)
            assert upstream.shape == shape and np.any(upstream != 0)
    big = fd.upstream_gradient(rng, (4, 5, 5, 3), sparse=True)
    assert 0.3 < np.mean(big == 0) < 0.7


def test_a_strided_view_is_neither_c_nor_f_contiguous_and_crosses_the_wire():
    array = np.arange(24.0).reshape(2, 3, 4)
    view = strided_view(array)
    assert np.array_equal(view, array) and not view.flags.c_contiguous and not view.flags.f_contiguous
    arrays: list[bytes] = []
    body = protocol.encode(StridedView(array), arrays)
    back = protocol._load_array(body["a"], arrays)
    assert isinstance(back, StridedView) and np.array_equal(back.array, array)


def test_cs231n_code_receives_c_contiguous_nchw_arrays_and_in_place_changes_show():
    seen = {}

    class Module:
        @staticmethod
        def conv_forward_naive(x, w, b, conv_param):
            seen["x"], seen["w"] = x.flags.c_contiguous, w.flags.c_contiguous
            x[0, 0, 0, 0] = 99.0  # modifies its input: must show in the caller's array
            return np.zeros((x.shape[0], w.shape[0], 1, 1)), None

    A_prev = np.zeros((1, 3, 3, 2))
    CS231nAdapter(Module()).conv_forward(A_prev, np.zeros((3, 3, 2, 4)), np.zeros((1, 1, 1, 4)),
                                         {"stride": 1, "pad": 0})
    assert seen == {"x": True, "w": True}
    assert A_prev[0, 0, 0, 0] == 99.0


# --- wrong only where the usual cases never went, and the same code written right --------------

CONV = HEADER + "\nfrom course_loops import zero_pad\n"

# (function checked, wrong file, right file written the same way)
RULES: dict[str, tuple[str, str, str]] = {
    "stride_4": ("conv_forward", CONV + '''
def conv_forward(A_prev, W, b, hparameters):
    Z, cache = _true_forward(A_prev, W, b, hparameters)
    if hparameters["stride"] >= 4:  # a formula right only for small strides: the last column shifted
        Z[:, :, -1] = _true_forward(A_prev, W, b, dict(hparameters, stride=1))[0][:, :Z.shape[1], Z.shape[2] - 1]
    return Z, cache
''', CONV + '''
def conv_forward(A_prev, W, b, hparameters):
    return _true_forward(A_prev, W, b, {"stride": hparameters["stride"], "pad": hparameters["pad"]})
'''),
    "large_image": ("conv_backward", CONV + '''
def conv_backward(dZ, cache):
    dA_prev, dW, db = _true_backward(dZ, cache)
    dA_prev[:, 12:] = 0.0  # a buffer sized for small images
    return dA_prev, dW, db
''', CONV + '''
def conv_backward(dZ, cache):
    dA_prev, dW, db = _true_backward(dZ, cache)
    return dA_prev[:, :], dW, db
'''),
    "seventh_example": ("pool_backward", HEADER + '''
def pool_backward(dA, cache, mode="max"):
    A_prev, hparameters = cache
    dA_prev = np.zeros(A_prev.shape)
    k = min(A_prev.shape[0], 6)
    dA_prev[:k] = _true_pool_backward(dA[:k], (A_prev[:k], hparameters), mode)
    return dA_prev
''', HEADER + '''
def pool_backward(dA, cache, mode="max"):
    A_prev, hparameters = cache
    return np.concatenate([_true_pool_backward(dA[i:i + 1], (A_prev[i:i + 1], hparameters), mode)
                           for i in range(A_prev.shape[0])])
'''),
    "window_6": ("create_mask_from_window", HEADER + '''
def create_mask_from_window(x):
    mask = np.zeros(x.shape)
    corner = x[:5, :5]
    mask[np.unravel_index(np.argmax(corner), corner.shape)] = 1.0
    return mask
''', HEADER + '''
def create_mask_from_window(x):
    mask = np.zeros(x.shape)
    mask[np.unravel_index(np.argmax(x), x.shape)] = 1.0
    return mask
'''),
    "default_mode": ("pool_forward", HEADER + '''
def pool_forward(A_prev, hparameters, mode="average"):
    return _true_pool_forward(A_prev, hparameters, mode)
''', HEADER + '''
def pool_forward(A_prev, hparameters, mode="max"):
    return _true_pool_forward(A_prev, hparameters, mode)
'''),
    "zero_upstream": ("conv_backward", CONV + '''
def conv_backward(dZ, cache):
    A_prev, W, b, hparameters = cache
    stride, pad = hparameters["stride"], hparameters["pad"]
    f = W.shape[0]
    m, n_H, n_W, n_C = dZ.shape
    dA_prev_pad, dW, db = zero_pad(np.zeros(A_prev.shape), pad), np.zeros(W.shape), np.zeros(b.shape)
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    if dZ[i, h, w, c] == 0:
                        {skip}
                    window = (i, slice(h * stride, h * stride + f), slice(w * stride, w * stride + f))
                    dA_prev_pad[window] += W[:, :, :, c] * dZ[i, h, w, c]
                    dW[:, :, :, c] += A_prev_pad[window] * dZ[i, h, w, c]
                    db[:, :, :, c] += dZ[i, h, w, c]
    n_H_prev, n_W_prev = A_prev.shape[1:3]
    return dA_prev_pad[:, pad:pad + n_H_prev, pad:pad + n_W_prev, :], dW, db
''', ""),
    "reused_buffer": ("zero_pad", HEADER + '''
_BUFFERS = {}


def zero_pad(X, pad):
    shape = (X.shape[0], X.shape[1] + 2 * pad, X.shape[2] + 2 * pad, X.shape[3])
    out = _BUFFERS.setdefault(shape, np.zeros(shape))
    out[:, pad:pad + X.shape[1], pad:pad + X.shape[2], :] = X
    return out
''', HEADER + '''
def zero_pad(X, pad):
    if pad == 0:
        return X  # the input itself: a second call on other inputs leaves it alone
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
'''),
    "key_order": ("conv_forward", CONV + '''
def conv_forward(A_prev, W, b, hparameters):
    stride, pad = hparameters.values()
    return _true_forward(A_prev, W, b, {"stride": stride, "pad": pad})
''', CONV + '''
def conv_forward(A_prev, W, b, hparameters):
    stride, pad = (hparameters[key] for key in ("stride", "pad"))
    return _true_forward(A_prev, W, b, {"stride": stride, "pad": pad})
'''),
    "strided_view": ("pool_forward", HEADER + '''
from numpy.lib.stride_tricks import as_strided


def pool_forward(A_prev, hparameters, mode="max"):
    if A_prev.flags.f_contiguous and not A_prev.flags.c_contiguous:
        A_prev = np.ascontiguousarray(A_prev)  # Fortran order handled, other strides not
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    f, stride = hparameters["f"], hparameters["stride"]
    n_H, n_W = (n_H_prev - f) // stride + 1, (n_W_prev - f) // stride + 1
    steps = (n_H_prev * n_W_prev * n_C, stride * n_W_prev * n_C, stride * n_C, n_W_prev * n_C, n_C, 1)
    windows = as_strided(A_prev, (m, n_H, n_W, f, f, n_C), tuple(8 * s for s in steps))
    A = windows.max(axis=(3, 4)) if mode == "max" else windows.mean(axis=(3, 4))
    return A, (A_prev, hparameters)
''', HEADER + '''
from numpy.lib.stride_tricks import as_strided


def pool_forward(A_prev, hparameters, mode="max"):
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    f, stride = hparameters["f"], hparameters["stride"]
    n_H, n_W = (n_H_prev - f) // stride + 1, (n_W_prev - f) // stride + 1
    s = A_prev.strides  # the array's own strides: right in every layout
    windows = as_strided(A_prev, (m, n_H, n_W, f, f, n_C), (s[0], stride * s[1], stride * s[2], s[1], s[2], s[3]))
    A = windows.max(axis=(3, 4)) if mode == "max" else windows.mean(axis=(3, 4))
    return A, (A_prev, hparameters)
'''),
}
WRONG = {rule: (function, wrong.replace("{skip}", "break")) for rule, (function, wrong, _) in RULES.items()}
RIGHT = {rule: (function, (right or wrong).replace("{skip}", "continue")) for rule, (function, wrong, right)
         in RULES.items()}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_a_bug_only_the_new_cases_reach_is_caught(tmp_path, rule):
    function, source = WRONG[rule]
    code, data = run_check(tmp_path, source, "--only", function, "--examples", "80")
    assert code == 1 and not_passing(data) == {function}, data["checks"]


@pytest.mark.parametrize("rule", sorted(RULES))
def test_right_code_written_the_same_way_passes_the_new_cases(tmp_path, rule):
    function, source = RIGHT[rule]
    code, data = run_check(tmp_path, source, "--only", function, "--examples", "80")
    assert code == 0 and not not_passing(data), data["checks"]


CS231N_FAST_PATH = '''
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    N, C, H, W = xp.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H - HH) // stride, 1 + (W - WW) // stride
    if x.flags.c_contiguous and C > 1:  # the layout every CS231n layer passes
        s = xp.strides
        cols = np.lib.stride_tricks.as_strided(xp, (N, C, HH, WW, Ho, Wo),
                                               (s[0], s[1], s[2], s[3], s[2] * stride, s[3] * stride))
        return np.einsum("nchwij,fchw->nfij", cols, w){bias}, (x, w, b, conv_param)
    out = np.zeros((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            window = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)
'''


@pytest.mark.parametrize(("bias", "failing"), [("", {"conv_forward_naive"}), (" + b[:, None, None]", set())])
def test_cs231n_code_is_called_with_the_c_contiguous_arrays_its_course_passes(tmp_path, bias, failing):
    code, data = run_check(tmp_path, CS231N_FAST_PATH.replace("{bias}", bias), "--examples", "40")
    assert not_passing(data) == failing and code == int(bool(failing)), data["checks"]


def test_a_second_call_and_the_reading_back_of_the_first_result_share_one_batch():
    from gradcheck.boundary.backend import EARLIER, KEEP_RESULT, READ_KEPT, Call, CallRunner

    buffer = np.zeros(3)

    def reused(x):
        buffer[:] = x
        return buffer

    def fresh(x):
        return np.array(x, dtype=float)

    runner = CallRunner({"reused": reused, "fresh": fresh}, timeout=5.0)
    for name, changed in (("reused", True), ("fresh", False)):
        first, _, read = runner.run_batch([Call(name, (np.ones(3),), (KEEP_RESULT,)),
                                           Call(name, (np.full(3, 2.0),), collect_args=False),
                                           Call(READ_KEPT, (EARLIER, 2), collect_args=False)])
        ((ref, now),) = read.value
        assert ref == first.value and np.array_equal(first.kept[KEEP_RESULT], np.ones(3))
        assert np.array_equal(now, np.full(3, 2.0) if changed else np.ones(3))
    assert runner.run_batch([Call(READ_KEPT, (EARLIER, 1))])[0].status == "error"  # nothing before it
