"""Layers written the way numpy-from-scratch libraries write them: classes whose ``forward``
keeps what ``backward`` reads on the object, and whose ``backward`` returns the input's
gradient and keeps the parameters' gradients as attributes (``dW``, ``db``).

They are the example of docs/usage.md ("A library author's layer") and the layers the
benchmark ``benchmarks/bench_vjp.py`` checks with ``gradcheck.check_vjp`` and with
``torch.autograd.gradcheck``. NHWC, float64. Shapes:

    Conv2D     x (m, n_H_prev, n_W_prev, n_C_prev), W (f, f, n_C_prev, n_C), b (n_C,)
               -> (m, n_H, n_W, n_C), n_H = (n_H_prev + 2 pad - f) // stride + 1
    MaxPool2D  x (m, n_H_prev, n_W_prev, n_C) -> (m, n_H, n_W, n_C), n_H = (n_H_prev - f) // stride + 1
    LayerNorm  x (..., n_C), gamma (n_C,), beta (n_C,) -> (..., n_C), normalised over the last axis
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


class Conv2D:
    """Cross-correlation with a bias, by im2col (one matrix product each way)."""

    def __init__(self, n_C_prev: int, n_C: int, f: int, *, stride: int = 1, pad: int = 1,
                 rng: np.random.Generator | None = None) -> None:
        rng = rng if rng is not None else np.random.default_rng(0)
        self.f, self.stride, self.pad = f, stride, pad
        self.W = rng.standard_normal((f, f, n_C_prev, n_C)) * np.sqrt(2.0 / (f * f * n_C_prev))
        self.b = np.zeros(n_C)
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        f, s, p = self.f, self.stride, self.pad
        x_pad = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        windows = sliding_window_view(x_pad, (f, f), axis=(1, 2))[:, ::s, ::s]  # (m, n_H, n_W, C, f, f)
        m, n_H, n_W = windows.shape[:3]
        cols = windows.transpose(0, 1, 2, 4, 5, 3).reshape(m * n_H * n_W, -1)  # (rows, f*f*C)
        self.x_shape, self.cols = x.shape, cols  # what backward reads
        out = cols @ self.W.reshape(cols.shape[1], -1) + self.b
        return out.reshape(m, n_H, n_W, -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        f, s, p = self.f, self.stride, self.pad
        m, n_H, n_W, n_C = dout.shape
        d2 = dout.reshape(-1, n_C)
        self.dW = (self.cols.T @ d2).reshape(self.W.shape)
        self.db = d2.sum(axis=0)
        dcols = (d2 @ self.W.reshape(-1, n_C).T).reshape(m, n_H, n_W, f, f, -1)
        _, H, W_, C = self.x_shape
        dx_pad = np.zeros((m, H + 2 * p, W_ + 2 * p, C))
        for i in range(f):
            for j in range(f):
                dx_pad[:, i : i + s * n_H : s, j : j + s * n_W : s, :] += dcols[:, :, :, i, j, :]
        return dx_pad[:, p : p + H, p : p + W_, :]


class MaxPool2D:
    """Max over f x f windows; the gradient goes to the (first) maximum of each window."""

    def __init__(self, f: int = 2, *, stride: int | None = None) -> None:
        self.f, self.stride = f, stride if stride is not None else f

    def forward(self, x: np.ndarray) -> np.ndarray:
        f, s = self.f, self.stride
        windows = sliding_window_view(x, (f, f), axis=(1, 2))[:, ::s, ::s]  # (m, n_H, n_W, C, f, f)
        flat = windows.reshape(*windows.shape[:4], f * f)
        self.x_shape, self.argmax = x.shape, flat.argmax(axis=-1)  # what backward reads
        return np.take_along_axis(flat, self.argmax[..., None], axis=-1)[..., 0]

    def backward(self, dout: np.ndarray) -> np.ndarray:
        f, s = self.f, self.stride
        m, n_H, n_W, _ = dout.shape
        dx = np.zeros(self.x_shape)
        for i in range(f):
            for j in range(f):
                routed = np.where(self.argmax == i * f + j, dout, 0.0)
                dx[:, i : i + s * n_H : s, j : j + s * n_W : s, :] += routed
        return dx


class LayerNorm:
    """``gamma * (x - mean) / sqrt(var + eps) + beta`` over the last axis: smooth and not linear."""

    def __init__(self, n_C: int, *, eps: float = 1e-5) -> None:
        self.eps = eps
        self.gamma, self.beta = np.ones(n_C), np.zeros(n_C)
        self.dgamma: np.ndarray | None = None
        self.dbeta: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        self.inv_std = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + self.eps)
        self.x_hat = (x - mean) * self.inv_std  # what backward reads
        return self.gamma * self.x_hat + self.beta

    def backward(self, dout: np.ndarray) -> np.ndarray:
        axes = tuple(range(dout.ndim - 1))
        self.dgamma = (dout * self.x_hat).sum(axis=axes)
        self.dbeta = dout.sum(axis=axes)
        dx_hat = dout * self.gamma
        return self.inv_std * (dx_hat - dx_hat.mean(axis=-1, keepdims=True)
                               - self.x_hat * (dx_hat * self.x_hat).mean(axis=-1, keepdims=True))
