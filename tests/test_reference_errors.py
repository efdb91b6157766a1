"""Every argument error of the reference layers, pinned with its message.

Each row calls one public function with one thing wrong and checks the
exception type and the part of the message that tells the caller what to fix
(the decisions are listed in ``reference/_validate.py``).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from reference import (
    conv_backward,
    conv_forward,
    conv_single_step,
    create_mask_from_window,
    distribute_value,
    pool_backward,
    pool_forward,
    zero_pad,
)

rng = np.random.default_rng(0)
A = rng.standard_normal((2, 5, 6, 3))  # (m, n_H_prev, n_W_prev, n_C_prev)
W = rng.standard_normal((3, 3, 3, 4))  # (f, f, n_C_prev, n_C)
b = rng.standard_normal((1, 1, 1, 4))
CONV_HP = {"stride": 1, "pad": 0}
dZ = rng.standard_normal((2, 3, 4, 4))  # Z's shape for CONV_HP
POOL_HP = {"f": 2, "stride": 2}
dA = rng.standard_normal((2, 2, 3, 3))  # A's shape for POOL_HP


def with_value(x: np.ndarray, value: float) -> np.ndarray:
    x = x.copy()
    x.flat[1] = value
    return x


def conv_hp(**changes):
    return {**CONV_HP, **changes}


def pool_hp(**changes):
    return {**POOL_HP, **changes}


def case(id, call, error, message):
    """A call that must raise ``error`` whose message contains ``message`` (literally)."""
    return pytest.param(call, error, re.escape(message), id=id)


CASES = [
    # --- arrays: type, dtype, rank, finiteness (reference/_validate.py: as_float_array)
    case(
        "conv_forward: A_prev a list",
        lambda: conv_forward(A.tolist(), W, b, CONV_HP),
        TypeError,
        "A_prev must be a numpy ndarray of shape (m, n_H_prev, n_W_prev, n_C_prev), got list; "
        "wrap it with np.asarray(A_prev, dtype=np.float64)",
    ),
    case(
        "pool_forward: A_prev a list",
        lambda: pool_forward(A.tolist(), POOL_HP),
        TypeError,
        "A_prev must be a numpy ndarray of shape (m, n_H_prev, n_W_prev, n_C), got list",
    ),
    case(
        "conv_forward: integer A_prev",
        lambda: conv_forward(A.astype(np.int64), W, b, CONV_HP),
        TypeError,
        "A_prev has dtype int64; the layers need a floating array (float64): pass A_prev.astype(np.float64)",
    ),
    case(
        "conv_forward: integer W",
        lambda: conv_forward(A, W.astype(np.int32), b, CONV_HP),
        TypeError,
        "W has dtype int32; the layers need a floating array",
    ),
    case(
        "conv_forward: boolean b",
        lambda: conv_forward(A, W, b > 0, CONV_HP),
        TypeError,
        "b has dtype bool; the layers need a floating array",
    ),
    case(
        "pool_forward: integer A_prev",
        lambda: pool_forward(A.astype(np.int64), POOL_HP),
        TypeError,
        "A_prev has dtype int64",
    ),
    case(
        "conv_backward: integer dZ",
        lambda: conv_backward(dZ.astype(np.int64), (A, W, b, CONV_HP)),
        TypeError,
        "dZ has dtype int64",
    ),
    case(
        "pool_backward: integer dA",
        lambda: pool_backward(dA.astype(np.int64), (A, POOL_HP)),
        TypeError,
        "dA has dtype int64",
    ),
    case(
        "zero_pad: integer X",
        lambda: zero_pad(A.astype(np.int64), 1),
        TypeError,
        "X has dtype int64",
    ),
    case(
        "conv_forward: A_prev rank 3 (one image, no batch axis)",
        lambda: conv_forward(A[0], W, b, CONV_HP),
        ValueError,
        "A_prev must have 4 dimensions (m, n_H_prev, n_W_prev, n_C_prev), got shape (5, 6, 3)",
    ),
    case(
        "conv_forward: W rank 3",
        lambda: conv_forward(A, W[..., 0], b, CONV_HP),
        ValueError,
        "W must have 4 dimensions (f, f, n_C_prev, n_C), got shape (3, 3, 3)",
    ),
    case(
        "conv_forward: b rank 1",
        lambda: conv_forward(A, W, b.ravel(), CONV_HP),
        ValueError,
        "b must have 4 dimensions (1, 1, 1, n_C), got shape (4,)",
    ),
    case(
        "pool_forward: A_prev rank 5",
        lambda: pool_forward(A[None], POOL_HP),
        ValueError,
        "A_prev must have 4 dimensions (m, n_H_prev, n_W_prev, n_C), got shape (1, 2, 5, 6, 3)",
    ),
    case(
        "zero_pad: X rank 2",
        lambda: zero_pad(A[0, 0], 1),
        ValueError,
        "X must have 4 dimensions (m, n_H, n_W, n_C), got shape (6, 3)",
    ),
    case(
        "conv_forward: NaN in A_prev",
        lambda: conv_forward(with_value(A, np.nan), W, b, CONV_HP),
        ValueError,
        "A_prev contains 1 NaN or infinite value(s); the layers need finite inputs",
    ),
    case(
        "conv_forward: inf in W",
        lambda: conv_forward(A, with_value(W, np.inf), b, CONV_HP),
        ValueError,
        "W contains 1 NaN or infinite value(s)",
    ),
    case(
        "conv_backward: -inf in dZ",
        lambda: conv_backward(with_value(dZ, -np.inf), (A, W, b, CONV_HP)),
        ValueError,
        "dZ contains 1 NaN or infinite value(s)",
    ),
    case(
        "pool_forward: NaN in A_prev",
        lambda: pool_forward(with_value(A, np.nan), POOL_HP, "average"),
        ValueError,
        "A_prev contains 1 NaN or infinite value(s)",
    ),
    case(
        "pool_backward: NaN in dA",
        lambda: pool_backward(with_value(dA, np.nan), (A, POOL_HP), "max"),
        ValueError,
        "dA contains 1 NaN or infinite value(s)",
    ),
    # --- conv shapes
    case(
        "conv_forward: channel mismatch (NCHW-like A_prev)",
        lambda: conv_forward(A.transpose(0, 3, 1, 2).copy(), W, b, CONV_HP),
        ValueError,
        "channel mismatch: A_prev has n_C_prev=6 channels (shape (2, 3, 5, 6)) but W expects 3 "
        "(shape (3, 3, 3, 4)); arrays are NHWC, W is (f, f, n_C_prev, n_C)",
    ),
    case(
        "conv_forward: b with the wrong number of channels",
        lambda: conv_forward(A, W, b[..., :2], CONV_HP),
        ValueError,
        "b must have shape (1, 1, 1, n_C) = (1, 1, 1, 4), got (1, 1, 1, 2)",
    ),
    case(
        "conv_forward: b shaped (4, 1, 1, 1)",
        lambda: conv_forward(A, W, b.reshape(4, 1, 1, 1), CONV_HP),
        ValueError,
        "b must have shape (1, 1, 1, n_C) = (1, 1, 1, 4), got (4, 1, 1, 1)",
    ),
    case(
        "pool_forward: f neither an int nor a pair",
        lambda: pool_forward(A, {"f": (2,), "stride": 1}),
        ValueError,
        "hparameters['f'] must be an int or a pair (f_H, f_W), got (2,)",
    ),
    case(
        "pool_forward: a window side that is not an integer",
        lambda: pool_forward(A, {"f": (2, 1.5), "stride": 1}),
        TypeError,
        "hparameters['f']['f_W'] must be an integer, got 1.5 (float)",
    ),
    case(
        "conv_backward: dZ not shaped like Z",
        lambda: conv_backward(dZ[:, :, :3], (A, W, b, CONV_HP)),
        ValueError,
        "dZ must have the shape of Z, (m, n_H, n_W, n_C) = (2, 3, 4, 4), got (2, 3, 3, 4)",
    ),
    case(
        "conv_backward: cache of length 3",
        lambda: conv_backward(dZ, (A, W, b)),
        TypeError,
        "cache must be the tuple (A_prev, W, b, hparameters) returned by conv_forward, got tuple of length 3",
    ),
    case(
        "conv_backward: cache an array",
        lambda: conv_backward(dZ, A),
        TypeError,
        "cache must be the tuple (A_prev, W, b, hparameters) returned by conv_forward, got ndarray",
    ),
    case(
        "conv_backward: channel mismatch in the cache",
        lambda: conv_backward(dZ, (A[..., :2], W, b, CONV_HP)),
        ValueError,
        "channel mismatch: A_prev has n_C_prev=2 channels",
    ),
    case(
        "conv_single_step: slice and W shapes differ",
        lambda: conv_single_step(A[0, :3, :3], W[:2, :, :, 0], b[..., 0]),
        ValueError,
        "a_slice_prev shape (3, 3, 3) must equal W shape (2, 3, 3)",
    ),
    case(
        "conv_single_step: b with 4 values",
        lambda: conv_single_step(A[0, :3, :3], W[..., 0], b),
        ValueError,
        "b must hold exactly one value (shape (1, 1, 1)), got shape (1, 1, 1, 4)",
    ),
    case(
        "conv_single_step: a_slice_prev rank 2",
        lambda: conv_single_step(A[0, 0], W[..., 0], b[..., 0]),
        ValueError,
        "a_slice_prev must have 3 dimensions (f, f, n_C_prev), got shape (6, 3)",
    ),
    case(
        "conv_single_step: integer b",
        lambda: conv_single_step(A[0, :3, :3], W[..., 0], np.ones((1, 1, 1), dtype=np.int64)),
        TypeError,
        "b has dtype int64",
    ),
    # --- hparameters (reference/_validate.py: hparams, int_param)
    case(
        "conv_forward: stride 0",
        lambda: conv_forward(A, W, b, conv_hp(stride=0)),
        ValueError,
        "hparameters['stride'] must be >= 1, got 0",
    ),
    case(
        "conv_forward: pad -1",
        lambda: conv_forward(A, W, b, conv_hp(pad=-1)),
        ValueError,
        "hparameters['pad'] must be >= 0, got -1",
    ),
    case(
        "pool_forward: stride 0",
        lambda: pool_forward(A, pool_hp(stride=0)),
        ValueError,
        "hparameters['stride'] must be >= 1, got 0",
    ),
    case(
        "pool_forward: f 0",
        lambda: pool_forward(A, pool_hp(f=0)),
        ValueError,
        "hparameters['f'] must be >= 1, got 0",
    ),
    case(
        "conv_forward: stride 2.0 (a float)",
        lambda: conv_forward(A, W, b, conv_hp(stride=2.0)),
        TypeError,
        "hparameters['stride'] must be an integer, got 2.0 (float)",
    ),
    case(
        "conv_forward: pad True (a bool)",
        lambda: conv_forward(A, W, b, conv_hp(pad=True)),
        TypeError,
        "hparameters['pad'] must be an integer, got True (bool)",
    ),
    case(
        "pool_forward: f 2.0 (a float)",
        lambda: pool_forward(A, pool_hp(f=2.0)),
        TypeError,
        "hparameters['f'] must be an integer, got 2.0 (float)",
    ),
    case(
        "pool_forward: stride '2' (a str)",
        lambda: pool_forward(A, pool_hp(stride="2")),
        TypeError,
        "hparameters['stride'] must be an integer, got '2' (str)",
    ),
    case(
        "zero_pad: pad 1.5",
        lambda: zero_pad(A, 1.5),
        TypeError,
        "zero_pad['pad'] must be an integer, got 1.5 (float)",
    ),
    case(
        "zero_pad: pad -1",
        lambda: zero_pad(A, -1),
        ValueError,
        "zero_pad['pad'] must be >= 0, got -1",
    ),
    case(
        "conv_forward: hparameters missing 'pad'",
        lambda: conv_forward(A, W, b, {"stride": 1}),
        ValueError,
        "hparameters is missing key(s) ['pad']; expected a dict with keys ['stride', 'pad'], got keys ['stride']",
    ),
    case(
        "pool_forward: conv hparameters (missing 'f')",
        lambda: pool_forward(A, CONV_HP),
        ValueError,
        "hparameters is missing key(s) ['f']; expected a dict with keys ['f', 'stride'], got keys ['pad', 'stride']",
    ),
    case(
        "conv_forward: hparameters a tuple",
        lambda: conv_forward(A, W, b, (1, 0)),
        TypeError,
        "hparameters must be a dict with keys ['stride', 'pad'], got tuple",
    ),
    case(
        "conv_forward: f larger than the padded height",
        lambda: conv_forward(A[:, :2], W, b, CONV_HP),
        ValueError,
        "filter size f=3 is larger than the padded input height n_H_prev "
        "(2 + 2*pad=0 = 2); use a smaller f or a larger pad",
    ),
    case(
        "conv_forward: f larger than the padded width",
        lambda: conv_forward(A[:, :, :1], W, b, CONV_HP),
        ValueError,
        "filter size f=3 is larger than the padded input width n_W_prev (1 + 2*pad=0 = 1)",
    ),
    case(
        "pool_forward: f larger than the input",
        lambda: pool_forward(A, pool_hp(f=6)),
        ValueError,
        "filter size f=6 is larger than the padded input height n_H_prev (5 + 2*pad=0 = 5)",
    ),
    # --- pooling mode, cache and dA
    case(
        "pool_forward: mode 'min'",
        lambda: pool_forward(A, POOL_HP, "min"),
        ValueError,
        "mode must be 'max' or 'average', got 'min'",
    ),
    case(
        "pool_forward: mode 'avg'",
        lambda: pool_forward(A, POOL_HP, mode="avg"),
        ValueError,
        "mode must be 'max' or 'average', got 'avg'",
    ),
    case(
        "pool_backward: mode 'mean'",
        lambda: pool_backward(dA, (A, POOL_HP), "mean"),
        ValueError,
        "mode must be 'max' or 'average', got 'mean'",
    ),
    case(
        "pool_backward: cache an array",
        lambda: pool_backward(dA, A, "max"),
        TypeError,
        "cache must be the tuple (A_prev, hparameters) returned by pool_forward, got ndarray",
    ),
    case(
        "pool_backward: conv cache",
        lambda: pool_backward(dA, (A, W, b, CONV_HP), "max"),
        TypeError,
        "cache must be the tuple (A_prev, hparameters) returned by pool_forward, got tuple",
    ),
    case(
        "pool_backward: dA not shaped like A",
        lambda: pool_backward(dA[:, :1], (A, POOL_HP), "average"),
        ValueError,
        "dA must have the shape of A, (m, n_H, n_W, n_C) = (2, 2, 3, 3), got (2, 1, 3, 3)",
    ),
    # --- create_mask_from_window, distribute_value
    case(
        "create_mask_from_window: a list",
        lambda: create_mask_from_window([[1.0, 2.0]]),
        ValueError,
        "x must be a non-empty numpy array (a pooling window), got [[1.0, 2.0]]",
    ),
    case(
        "create_mask_from_window: empty",
        lambda: create_mask_from_window(np.zeros((0, 2))),
        ValueError,
        "x must be a non-empty numpy array (a pooling window), got array([]",
    ),
    case(
        "create_mask_from_window: integer window",
        lambda: create_mask_from_window(np.eye(2, dtype=np.int64)),
        TypeError,
        "x has dtype int64; the layers need a floating array (float64): pass x.astype(np.float64)",
    ),
    case(
        "create_mask_from_window: NaN",
        lambda: create_mask_from_window(np.array([[1.0, np.nan]])),
        ValueError,
        "x contains 1 NaN or infinite value(s)",
    ),
    case(
        "distribute_value: dz a str",
        lambda: distribute_value("1.0", (2, 2)),
        TypeError,
        "dz must be a finite real number, got '1.0'",
    ),
    case(
        "distribute_value: dz NaN",
        lambda: distribute_value(float("nan"), (2, 2)),
        TypeError,
        "dz must be a finite real number, got nan",
    ),
    case(
        "distribute_value: dz a bool",
        lambda: distribute_value(True, (2, 2)),
        TypeError,
        "dz must be a finite real number, got True",
    ),
    case(
        "distribute_value: dz a vector",
        lambda: distribute_value(np.ones(2), (2, 2)),
        TypeError,
        "dz must be a finite real number, got array([1., 1.])",
    ),
    case(
        "distribute_value: shape with a 0",
        lambda: distribute_value(1.0, (2, 0)),
        ValueError,
        "shape must be a tuple of positive integers like (n_H, n_W), got (2, 0)",
    ),
    case(
        "distribute_value: shape an int",
        lambda: distribute_value(1.0, 4),
        ValueError,
        "shape must be a tuple of positive integers like (n_H, n_W), got 4",
    ),
    case(
        "distribute_value: shape of floats",
        lambda: distribute_value(1.0, (2.0, 2.0)),
        ValueError,
        "shape must be a tuple of positive integers like (n_H, n_W), got (2.0, 2.0)",
    ),
]


@pytest.mark.parametrize("call, error, message", CASES)
def test_argument_error_names_argument_and_fix(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(
    "hparameters",
    [
        pytest.param({"stride": np.int64(2), "pad": np.int32(1)}, id="numpy integers"),
        pytest.param({"stride": 2, "pad": 1, "f": 3}, id="extra key ignored"),
    ],
)
def test_conv_accepts_integer_like_hparameters(hparameters) -> None:
    Z, _ = conv_forward(A, W, b, hparameters)
    assert Z.shape == (2, 3, 3, 4)


def test_distribute_value_accepts_a_one_element_array() -> None:
    """``dA[i, h, w, c]`` is a NumPy scalar, and some students pass ``dA[i:i+1, h, w, c]``."""
    assert distribute_value(np.array([2.0]), (2, 2)).tolist() == [[0.5, 0.5], [0.5, 0.5]]


@pytest.mark.filterwarnings("error")  # and no overflow warning reaches the caller
def test_huge_finite_values_are_accepted_though_their_sum_overflows() -> None:
    """On a large array finiteness is read from the sum first; a finite array whose sum
    overflows to inf (1e308 + 1e308) is settled element by element, and accepted, while
    one NaN or inf among them is still refused."""
    huge = np.full((1, 64, 64, 2), 1e308)
    pooled, cache = pool_forward(huge, {"f": 2, "stride": 2}, "max")
    assert (pooled == 1e308).all()
    assert pool_backward(np.ones(pooled.shape), cache, "max").sum() == pooled.size
    Z, _ = conv_forward(huge, np.full((1, 1, 2, 1), 1e-10), np.zeros((1, 1, 1, 1)), {"stride": 1, "pad": 0})
    assert np.allclose(Z, 2e298)
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match=r"A_prev contains 1 NaN or infinite value\(s\)"):
            pool_forward(with_value(huge, bad), {"f": 2, "stride": 2}, "max")
