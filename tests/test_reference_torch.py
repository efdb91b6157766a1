"""Cross-check of the reference layers against PyTorch (CPU, float64); skipped without torch.

PyTorch is not a project dependency. Arrays are NHWC here and NCHW there:
A_prev (m, H, W, C) <-> (m, C, H, W); W (f, f, C_prev, C) <-> (C, C_prev, f, f).
Backward is ``torch.autograd.grad`` of the same loss sum(G * output) with a
random upstream gradient G.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from reference import conv_backward, conv_forward, pool_backward, pool_forward

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.torch
TOL = {"rtol": 1e-11, "atol": 1e-11}


def to_nchw(x: np.ndarray):
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


def to_nhwc(t) -> np.ndarray:
    return t.detach().permute(0, 2, 3, 1).numpy()


# (m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad)
CONV_GEOMETRIES = [
    (2, 5, 5, 2, 3, 3, 1, 0),
    (2, 6, 7, 3, 4, 3, 1, 1),
    (1, 7, 8, 1, 2, 2, 3, 0),
    (2, 3, 4, 2, 1, 1, 1, 0),
    (2, 6, 9, 2, 2, 3, 2, 0),
    (3, 9, 8, 3, 5, 5, 2, 2),
    (2, 2, 3, 2, 2, 4, 3, 1),
]


def conv_id(geometry) -> str:
    m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad = geometry
    shape = f"({m},{n_H_prev},{n_W_prev},{n_C_prev})"
    return f"conv(A={shape}, n_C={n_C}, f={f}, stride={stride}, pad={pad})"


@pytest.mark.parametrize("geometry", CONV_GEOMETRIES, ids=conv_id)
def test_conv_matches_torch_conv2d(geometry) -> None:
    m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad = geometry
    rng = np.random.default_rng(sum(geometry))
    A_prev = rng.standard_normal((m, n_H_prev, n_W_prev, n_C_prev))
    W = rng.standard_normal((f, f, n_C_prev, n_C))
    b = rng.standard_normal((1, 1, 1, n_C))
    Z, cache = conv_forward(A_prev, W, b, {"stride": stride, "pad": pad})
    G = rng.standard_normal(Z.shape)
    dA_prev, dW, db = conv_backward(G, cache)

    tA = to_nchw(A_prev).requires_grad_()
    tW = torch.from_numpy(W).permute(3, 2, 0, 1).contiguous().requires_grad_()
    tb = torch.from_numpy(b.reshape(n_C)).clone().requires_grad_()
    tZ = F.conv2d(tA, tW, tb, stride=stride, padding=pad)
    tdA, tdW, tdb = torch.autograd.grad(tZ, (tA, tW, tb), to_nchw(G))

    assert_allclose(Z, to_nhwc(tZ), **TOL)
    assert_allclose(dA_prev, to_nhwc(tdA), **TOL)
    assert_allclose(dW, tdW.permute(2, 3, 1, 0).numpy(), **TOL)
    assert_allclose(db.reshape(n_C), tdb.numpy(), **TOL)


# (m, n_H_prev, n_W_prev, n_C, f, stride)
POOL_GEOMETRIES = [
    (2, 4, 6, 2, 2, 2),
    (2, 5, 5, 2, 3, 1),
    (1, 7, 8, 1, 2, 3),
    (2, 3, 4, 2, 1, 1),
    (2, 7, 6, 3, 2, 2),
    (2, 3, 9, 2, 3, 2),
    (3, 10, 9, 4, 3, 2),
]


def pool_id(geometry) -> str:
    m, n_H_prev, n_W_prev, n_C, f, stride = geometry
    return f"pool(A=({m},{n_H_prev},{n_W_prev},{n_C}), f={f}, stride={stride})"


@pytest.mark.parametrize("values", ["normal", "ties"])
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("geometry", POOL_GEOMETRIES, ids=pool_id)
def test_pool_matches_torch_pool2d(geometry, mode: str, values: str) -> None:
    """With ties too: both route a max window's gradient to its first maximum."""
    m, n_H_prev, n_W_prev, n_C, f, stride = geometry
    rng = np.random.default_rng(sum(geometry))
    shape = (m, n_H_prev, n_W_prev, n_C)
    if values == "ties":
        A_prev = rng.integers(0, 3, size=shape).astype(np.float64)
    else:
        A_prev = rng.standard_normal(shape)
    A, cache = pool_forward(A_prev, {"f": f, "stride": stride}, mode)
    G = rng.standard_normal(A.shape)
    dA_prev = pool_backward(G, cache, mode)

    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    tA = to_nchw(A_prev).requires_grad_()
    tout = pool(tA, f, stride)
    (tdA,) = torch.autograd.grad(tout, (tA,), to_nchw(G))

    assert_allclose(A, to_nhwc(tout), **TOL)
    # at a tie, routing to another maximum would differ by a whole G value
    assert_allclose(dA_prev, to_nhwc(tdA), **TOL)
