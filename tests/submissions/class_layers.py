"""A small class-based layer library of the shape numpy-from-scratch libraries have (numpy-ml's
``Conv2D`` and ``Pool2D``: NHWC, parameters and gradients in dicts on the object, lazy
initialisation on the first forward), written for the tests: the spec of
``tests/test_plan_objects.py`` checks it through its methods."""

import numpy as np


class Conv2D:
    def __init__(self, out_ch, kernel_shape, pad=0, stride=1):
        self.out_ch, self.kernel_shape, self.pad, self.stride = out_ch, kernel_shape, pad, stride
        self.parameters = {"W": None, "b": None}
        self.gradients = {}
        self.is_initialized = False

    def _init_params(self):
        rng = np.random.default_rng(0)
        fr, fc = self.kernel_shape
        self.parameters = {"W": rng.standard_normal((fr, fc, self.in_ch, self.out_ch)),
                           "b": np.zeros((1, 1, 1, self.out_ch))}
        self.gradients = {"W": np.zeros_like(self.parameters["W"]), "b": np.zeros_like(self.parameters["b"])}
        self.is_initialized = True

    def forward(self, X):
        if not self.is_initialized:
            self.in_ch = X.shape[3]
            self._init_params()
        W, b, s, p = self.parameters["W"], self.parameters["b"], self.stride, self.pad
        fr, fc = self.kernel_shape
        Xp = np.pad(X, ((0, 0), (p, p), (p, p), (0, 0)))
        n, rows, cols, _ = Xp.shape
        out_rows, out_cols = (rows - fr) // s + 1, (cols - fc) // s + 1
        Y = np.empty((n, out_rows, out_cols, self.out_ch))
        for i in range(out_rows):
            for j in range(out_cols):
                window = Xp[:, i * s : i * s + fr, j * s : j * s + fc, :]
                Y[:, i, j, :] = np.tensordot(window, W, axes=([1, 2, 3], [0, 1, 2])) + b[0, 0, 0]
        self.X = X
        return Y

    def backward(self, dLdY):
        X, W, s, p = self.X, self.parameters["W"], self.stride, self.pad
        fr, fc = self.kernel_shape
        Xp = np.pad(X, ((0, 0), (p, p), (p, p), (0, 0)))
        dXp, dW = np.zeros_like(Xp), np.zeros_like(W)
        for i in range(dLdY.shape[1]):
            for j in range(dLdY.shape[2]):
                window = Xp[:, i * s : i * s + fr, j * s : j * s + fc, :]
                dW += np.tensordot(window, dLdY[:, i, j, :], axes=([0], [0]))
                dXp[:, i * s : i * s + fr, j * s : j * s + fc, :] += np.tensordot(dLdY[:, i, j, :], W, axes=([1], [3]))
        self.gradients["W"] += dW  # accumulated, as in numpy-ml
        self.gradients["b"] += dLdY.sum(axis=(0, 1, 2)).reshape(1, 1, 1, -1)
        return dXp[:, p : p + X.shape[1], p : p + X.shape[2], :]


class Pool2D:
    def __init__(self, kernel_shape, stride=1, mode="max"):
        self.kernel_shape, self.stride, self.mode = kernel_shape, stride, mode

    def forward(self, X):
        fr, fc = self.kernel_shape
        s = self.stride
        n, rows, cols, ch = X.shape
        out_rows, out_cols = (rows - fr) // s + 1, (cols - fc) // s + 1
        Y = np.empty((n, out_rows, out_cols, ch))
        for i in range(out_rows):
            for j in range(out_cols):
                window = X[:, i * s : i * s + fr, j * s : j * s + fc, :]
                Y[:, i, j, :] = window.max(axis=(1, 2)) if self.mode == "max" else window.mean(axis=(1, 2))
        self.X = X
        return Y

    def backward(self, dLdY):
        fr, fc = self.kernel_shape
        s, X = self.stride, self.X
        dX = np.zeros_like(X)
        for i in range(dLdY.shape[1]):
            for j in range(dLdY.shape[2]):
                window = X[:, i * s : i * s + fr, j * s : j * s + fc, :]
                if self.mode == "max":
                    mask = window == window.max(axis=(1, 2), keepdims=True)
                    dX[:, i * s : i * s + fr, j * s : j * s + fc, :] += mask * dLdY[:, i : i + 1, j : j + 1, :]
                else:
                    dX[:, i * s : i * s + fr, j * s : j * s + fc, :] += dLdY[:, i : i + 1, j : j + 1, :] / (fr * fc)
        return dX
