"""CS231n's layers are judged by CS231n's contract: rectangular kernels and pool windows, output
sizes that are integers, and nothing outside it; the verdicts speak CS231n's names and NCHW."""

from __future__ import annotations

import itertools
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

from gradcheck.api import check
from gradcheck.boundary.backend import InProcessBackend
from gradcheck.engine.runner import OutsideContract, evaluate_case
from gradcheck.load.loaders import as_contract
from gradcheck.plans.convolution import sampling
from gradcheck.plans.convolution.plan import CS231N_SPECS, SPECS, specs_for
from gradcheck.strategies import (
    CS231nConvGeometry,
    CS231nPoolGeometry,
    cs231n_conv_geometries,
    cs231n_pool_geometries,
)

# A correct CS231n layers.py in the strict style real students write: it asserts what the
# starter's docstring lets it assume, and sizes its arrays by the exact formula.
STRICT = '''
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    assert (H + 2 * pad - HH) % stride == 0, "Stride, padding and filter size are not compatible"
    assert (W + 2 * pad - WW) % stride == 0, "Stride, padding and filter size are not compatible"
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    H_out = int(1 + (H + 2 * pad - HH) / stride)
    W_out = int(1 + (W + 2 * pad - WW) / stride)
    assert dout.shape == (N, F, H_out, W_out)
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i * stride, i * stride + HH)
                    cols = slice(j * stride, j * stride + WW)
                    dw[f] += x_pad[n, :, rows, cols] * dout[n, f, i, j]
                    dx_pad[n, :, rows, cols] += w[f] * dout[n, f, i, j]
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db


def max_pool_forward_naive(x, pool_param):
    N, C, H, W = x.shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    assert (H - ph) % stride == 0 and (W - pw) % stride == 0, "Invalid pooling parameters"
    H_out, W_out = (H - ph) // stride + 1, (W - pw) // stride + 1
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw].max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    N, C, H, W = x.shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    assert (H - ph) % stride == 0 and (W - pw) % stride == 0, "Invalid pooling parameters"
    H_out, W_out = (H - ph) // stride + 1, (W - pw) // stride + 1
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    p, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + p, j * stride + q] += dout[n, c, i, j]
    return dx
'''

# the max-pool backward's one mistake: the argmax of a (ph, pw) window unravelled with
# pool_height on both axes, right whenever ph == pw and wrong on rectangular windows only
UNRAVEL_SQUARE = STRICT.replace(
    "p, q = np.unravel_index(np.argmax(window), window.shape)",
    "p, q = np.unravel_index(np.argmax(window), (ph, ph))",
)
# the conv backward's one mistake: the width of the kernel taken from its height
WIDTH_FROM_HEIGHT = STRICT.replace(
    "cols = slice(j * stride, j * stride + WW)", "cols = slice(j * stride, j * stride + HH)"
)
# the forward's output one column too wide (W_out from the wrong formula): a shape mismatch
WIDE_OUTPUT = STRICT.replace(
    "    out = np.zeros((N, F, H_out, W_out))\n", "    out = np.zeros((N, F, H_out, W_out + 1))\n", 1
)


def _write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def _statuses(report) -> dict[tuple[str, str], str]:
    return {(check.function, check.quantity): check.status for check in report.checks}


CS231N_QUANTITIES = {
    ("conv_forward_naive", "out"), ("conv_backward_naive", "dx"), ("conv_backward_naive", "dw"),
    ("conv_backward_naive", "db"), ("max_pool_forward_naive", "out"), ("max_pool_backward_naive", "dx"),
    ("max_pool_backward_naive", "ties"),
}


# --- what is drawn: all of the contract, nothing outside it ---------------------------------


def test_every_drawn_cs231n_case_is_inside_its_contract_and_rectangles_are_drawn():
    rng = np.random.default_rng(0)
    convs = list(itertools.islice(sampling.cs231n_conv_cases(rng), 300))
    pools = list(itertools.islice(sampling.cs231n_pool_cases(rng), 100))
    usual = [g for g in convs if sampling.usual(g)]  # the wide and heavy cases come between
    for geometry in convs + pools:
        assert geometry.valid(), geometry
    for g in convs:
        assert (g.n_H_prev + 2 * g.pad - g.f) % g.stride == 0 and (g.n_W_prev + 2 * g.pad - g.f_W) % g.stride == 0
    for g in pools:
        assert (g.n_H_prev - g.f) % g.stride == 0 and (g.n_W_prev - g.f_W) % g.stride == 0
    # every (HH, WW, stride, pad) in 144 usual cases, rectangular kernels and windows among them
    assert {(g.f, g.f_W, g.stride, g.pad) for g in usual[:144]} == set(
        itertools.product(range(1, 5), range(1, 5), range(1, 4), range(3))
    )
    usual_pools = [g for g in pools if sampling.usual(g)]
    assert {(g.f, g.f_W, g.stride) for g in usual_pools[:27]} == set(itertools.product(range(1, 4), repeat=3))
    assert any(max(g.window) >= 5 and g.m >= 4 for g in convs)  # and beyond: wide cases
    assert any(g.stride > 1 and g.pad == 0 and g.f != g.f_W for g in convs)


@settings(max_examples=200, database=None, deadline=None)
@given(cs231n_conv_geometries(), cs231n_pool_geometries())
def test_the_public_cs231n_strategies_are_inside_the_contract(conv, pool):
    assert conv.valid() and pool.valid()
    assert conv.n_H * conv.stride == conv.n_H_prev + 2 * conv.pad - conv.f + conv.stride
    assert pool.n_W * pool.stride == pool.n_W_prev - pool.f_W + pool.stride


def test_shrinking_a_cs231n_case_stays_inside_the_contract():
    geometry = CS231nConvGeometry(m=3, n_H_prev=9, n_W_prev=8, n_C_prev=3, n_C=2, f=3, stride=3, pad=0, f_W=2)
    assert geometry.valid()
    candidates = sampling.shrink_candidates(geometry, 7)
    assert candidates and all(candidate.valid() for candidate, _ in candidates)
    assert sampling.smallest_case(geometry).valid()
    pool = CS231nPoolGeometry(m=2, n_H_prev=7, n_W_prev=9, n_C=2, f=3, stride=2, f_W=3)
    assert all(candidate.valid() for candidate, _ in sampling.shrink_candidates(pool, 3))


def test_a_geometry_outside_the_contract_is_never_run_for_cs231n():
    backend = InProcessBackend(as_contract(_module(STRICT)))
    outside = {"m": 1, "n_H_prev": 2, "n_W_prev": 2, "n_C_prev": 1, "n_C": 1, "f": 1, "f_W": 1, "stride": 2, "pad": 0}
    with pytest.raises(OutsideContract):
        evaluate_case(backend, "conv_forward", "Z", outside, 0)
    assert evaluate_case(backend, "conv_forward", "Z", {**outside, "n_H_prev": 3, "n_W_prev": 3}, 0).passed


def test_the_article_course_keeps_its_own_plan():
    assert specs_for(None) is SPECS and specs_for("article") is SPECS and specs_for("cs231n") is CS231N_SPECS
    assert {key[0] for key in CS231N_SPECS} == {"conv_forward", "conv_backward", "pool_forward", "pool_backward"}
    assert all("average" not in quantity for _, quantity in CS231N_SPECS)


_MODULES: dict[str, object] = {}


def _module(source: str):
    """A CS231n module from source, loaded in process (for the engine-level tests)."""
    import types

    if source not in _MODULES:
        module = types.ModuleType(f"cs231n_inline_{len(_MODULES)}")
        exec(compile(textwrap.dedent(source), module.__name__, "exec"), module.__dict__)  # noqa: S102
        _MODULES[source] = module
    return _MODULES[source]


# --- verdicts, both ways ---------------------------------------------------------------------------


def test_a_strict_correct_cs231n_file_passes_every_check(tmp_path):
    report = check(str(_write(tmp_path, "layers.py", STRICT)), examples=60)
    assert report.load_error is None
    assert _statuses(report) == dict.fromkeys(CS231N_QUANTITIES, "pass")
    assert report.passed


def test_the_same_file_fails_when_drawn_from_the_other_courses_geometry():
    """The contract is what makes the strict file pass: the article's geometry (an output size
    that is not an integer) makes its assertion fire. So the CS231n draws are what decide."""
    from gradcheck.engine.driver import run_case
    from gradcheck.engine.screening import factory
    from gradcheck.strategies import ConvGeometry

    backend = InProcessBackend(as_contract(_module(STRICT)))
    article_case = ConvGeometry(m=1, n_H_prev=2, n_W_prev=2, n_C_prev=1, n_C=1, f=1, stride=2, pad=0)
    verdict = run_case(backend, factory(SPECS[("conv_forward", "Z")], article_case, 0, first=False))
    assert verdict.status == "error" and "Stride, padding and filter size are not compatible" in verdict.message


def test_a_pool_backward_unravelling_with_the_height_twice_fails_for_exactly_that_function(tmp_path):
    report = check(str(_write(tmp_path, "layers.py", UNRAVEL_SQUARE)), examples=60)
    statuses = _statuses(report)
    assert statuses.pop(("max_pool_backward_naive", "dx")) in ("fail", "error")  # wrong, or an index error
    statuses.pop(("max_pool_backward_naive", "ties"))  # the same function: either verdict
    assert set(statuses.values()) == {"pass"}
    failed = next(c for c in report.checks if not c.passed)
    assert failed.counterexample["pool_height"] != failed.counterexample["pool_width"]


def test_a_conv_backward_using_the_kernel_height_for_its_width_fails_for_exactly_that_function(tmp_path):
    report = check(str(_write(tmp_path, "layers.py", WIDTH_FROM_HEIGHT)), examples=60)
    statuses = _statuses(report)
    for quantity in ("dx", "dw", "db"):  # a broadcasting error on a rectangular kernel
        assert statuses.pop(("conv_backward_naive", quantity)) in ("fail", "error")
    assert set(statuses.values()) == {"pass"}
    assert all(c.counterexample["HH"] != c.counterexample["WW"] for c in report.checks if not c.passed)


def test_a_cs231n_file_with_helpers_named_like_the_other_courses_is_judged_as_cs231n(tmp_path):
    """Students write helpers called zero_pad or create_mask_from_window beside their *_naive
    layers (a correct held-out file did): the layers decide the convention, not the helpers."""
    from gradcheck.conventions import detect

    helpers = STRICT + textwrap.dedent('''
        def zero_pad(x, pad):
            return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")


        def create_mask_from_window(x):
            return x == np.max(x)
    ''')
    report = check(str(_write(tmp_path, "layers.py", helpers)), examples=20)
    assert _statuses(report) == dict.fromkeys(CS231N_QUANTITIES, "pass")
    assert detect({"zero_pad", "conv_single_step", "conv_forward_naive"}) == "cs231n"
    assert detect({"zero_pad", "conv_forward", "conv_forward_naive"}) == "article"  # a tie: the article
    assert detect({"zero_pad"}) == "article" and detect(()) == "article"


# --- CS231n's names and layout in every output ---------------------------------------------------


def test_a_shape_mismatch_is_told_in_cs231n_names_and_nchw(tmp_path):
    report = check(str(_write(tmp_path, "layers.py", WIDE_OUTPUT)), examples=20, only=["conv_forward"])
    (result,) = report.checks
    assert (result.function, result.quantity, result.status) == ("conv_forward_naive", "out", "fail")
    example = result.counterexample
    assert list(example) == ["N", "C", "H", "W", "F", "HH", "WW", "stride", "pad", "seed"]
    shape = (example["N"], example["F"], 1 + (example["H"] + 2 * example["pad"] - example["HH"]) // example["stride"],
             1 + (example["W"] + 2 * example["pad"] - example["WW"]) // example["stride"])
    wide = (*shape[:3], shape[3] + 1)
    assert f"out has shape {wide}, expected {shape}" in result.message
    assert "the smallest failing case (N=1, C=1, H=1, W=1, F=1, HH=1, WW=1, stride=1, pad=0, seed=0)" in result.message
    assert "n_H_prev" not in result.message


# the backward's one mistake: the windows placed as if stride were 1 (a wrong value, no crash)
STRIDE_IGNORED = STRICT.replace("rows = slice(i * stride, i * stride + HH)", "rows = slice(i, i + HH)").replace(
    "cols = slice(j * stride, j * stride + WW)", "cols = slice(j, j + WW)"
)


def test_the_json_worst_index_points_at_the_wrong_element_of_the_students_nchw_array(tmp_path):
    assert STRIDE_IGNORED != STRICT
    path = _write(tmp_path, "layers.py", STRIDE_IGNORED)
    out = tmp_path / "verdict.json"
    from gradcheck.cli import main

    assert main(["check", str(path), "--examples", "40", "--only", "conv_backward", "--json", str(out)]) == 1
    checks = {c["quantity"]: c for c in json.loads(out.read_text())["checks"]}
    dx = checks["dx"]
    example = dx["counterexample"]
    assert set(example) == {"N", "C", "H", "W", "F", "HH", "WW", "stride", "pad", "seed"}
    assert len(dx["worst_index"]) == 4
    n, c, h, w = dx["worst_index"]
    assert n < example["N"] and c < example["C"] and h < example["H"] and w < example["W"]
    assert "[n, c, h, w]" not in dx["message"]  # the table lists indices, and they are NCHW:
    first_row = next(line for line in dx["message"].splitlines() if line.startswith("  [")).strip()
    assert first_row.startswith(str(dx["worst_index"]) + ":")
    dw = checks["dw"]
    assert dw["status"] == "fail" and len(dw["worst_index"]) == 4
    assert dw["worst_index"][0] < dw["counterexample"]["F"] and dw["worst_index"][2] < dw["counterexample"]["HH"]


def test_the_article_course_output_is_unchanged_by_the_cs231n_convention(tmp_path):
    report = check("reference.naive", examples=10, only=["conv_backward"])
    assert {c.quantity for c in report.checks} == {"dA_prev", "dW", "db"}
    assert all(c.function == "conv_backward" for c in report.checks)
