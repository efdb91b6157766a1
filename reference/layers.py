"""Reference layers of CS231n's assignment 2 (``layers.py``) and assignment 1, float64,
forward and backward side by side, in the courses' own signatures and caches.

    affine_forward(x, w, b) -> (out, cache)         x (N, d_1, ..., d_k), w (D, M), b (M,), D = prod(d)
    relu_forward(x) -> (out, cache)
    batchnorm_forward(x, gamma, beta, bn_param)     x (N, D); bn_param {mode, eps, momentum,
                                                    running_mean, running_var}: train mode updates the
                                                    running averages in place, test mode uses them
    layernorm_forward(x, gamma, beta, ln_param)     x (N, D), normalised over D
    softmax_loss(x, y) -> (loss, dx)                x (N, C) scores, y (N,) labels; mean over N
    svm_loss(x, y) -> (loss, dx)                    multiclass hinge, margin 1, mean over N
    softmax_loss_vectorized(W, X, y, reg)           assignment 1: X (N, D), W (D, C); + reg sum(W^2)
    svm_loss_vectorized(W, X, y, reg)

Each backward is the gradient of ``L = sum(dout * out)`` (of the loss for the losses) with
respect to the forward's inputs; the project's tests check every one against central
differences (``tests/test_reference_plan_layers.py``) and, when it is installed, PyTorch
(``tests/test_reference_plan_torch.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray


# --- affine ----------------------------------------------------------------------------------


def affine_forward(x: Array, w: Array, b: Array) -> tuple[Array, tuple[Array, Array, Array]]:
    """out = x.reshape(N, D) @ w + b, shape (N, M); cache (x, w, b)."""
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout: Array, cache: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
    """(dx shaped like x, dw (D, M), db (M,)) of L = sum(dout * out)."""
    x, w, _ = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    return dx, dw, dout.sum(axis=0)


# --- relu ------------------------------------------------------------------------------------


def relu_forward(x: Array) -> tuple[Array, Array]:
    """out = max(0, x); cache x."""
    return np.maximum(0.0, x), x


def relu_backward(dout: Array, cache: Array) -> Array:
    """dx = dout where x > 0, else 0 (0 at x = 0: a valid subgradient)."""
    return dout * (cache > 0)


# --- batch normalisation -----------------------------------------------------------------------


def batchnorm_forward(x: Array, gamma: Array, beta: Array, bn_param: dict[str, Any]) -> tuple[Array, Any]:
    """Train: normalise by the batch mean and variance (biased), update the running averages in
    ``bn_param`` in place (momentum m: running = m * running + (1 - m) * batch); test: normalise
    by the running averages. out = gamma * x_hat + beta."""
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    if mode == "train":
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        x_hat = (x - mean) / np.sqrt(var + eps)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
        return gamma * x_hat + beta, (x_hat, gamma, var + eps)
    if mode == "test":
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        return gamma * x_hat + beta, (x_hat, gamma, running_var + eps)
    raise ValueError(f'Invalid forward batchnorm mode "{mode}"')


def _normalised_backward(dout: Array, x_hat: Array, gamma: Array, var_eps: Array, axis: int) -> Array:
    """dx of x_hat = (x - mean) / sqrt(var + eps), over ``axis``, for the upstream dout * gamma."""
    dx_hat = dout * gamma
    return (dx_hat - dx_hat.mean(axis=axis, keepdims=True)
            - x_hat * (dx_hat * x_hat).mean(axis=axis, keepdims=True)) / np.sqrt(var_eps)


def batchnorm_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """(dx, dgamma, dbeta) of train-mode batch norm: dx = (dxh - mean(dxh) - xh mean(dxh xh)) / std."""
    x_hat, gamma, var_eps = cache
    dx = _normalised_backward(dout, x_hat, gamma, var_eps, axis=0)
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


batchnorm_backward_alt = batchnorm_backward


# --- layer normalisation -----------------------------------------------------------------------


def layernorm_forward(x: Array, gamma: Array, beta: Array, ln_param: dict[str, Any]) -> tuple[Array, Any]:
    """Normalise each example over its D features (biased variance); out = gamma * x_hat + beta."""
    eps = ln_param.get("eps", 1e-5)
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    x_hat = (x - mean) / np.sqrt(var + eps)
    return gamma * x_hat + beta, (x_hat, gamma, var + eps)


def layernorm_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    x_hat, gamma, var_eps = cache
    dx = _normalised_backward(dout, x_hat, gamma, var_eps, axis=1)
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


# --- losses ------------------------------------------------------------------------------------


def softmax_loss(x: Array, y: Array) -> tuple[float, Array]:
    """Mean cross-entropy of softmax(x) against labels y, and its gradient (N, C)."""
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    N = x.shape[0]
    loss = -log_probs[np.arange(N), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    return float(loss), dx / N


def svm_loss(x: Array, y: Array) -> tuple[float, Array]:
    """Mean multiclass hinge loss, margin 1, and its gradient (N, C)."""
    N = x.shape[0]
    correct = x[np.arange(N), y][:, None]
    margins = np.maximum(0.0, x - correct + 1.0)
    margins[np.arange(N), y] = 0.0
    loss = margins.sum() / N
    positive = (margins > 0).astype(x.dtype)
    positive[np.arange(N), y] = -positive.sum(axis=1)
    return float(loss), positive / N


def softmax_loss_vectorized(W: Array, X: Array, y: Array, reg: float) -> tuple[float, Array]:
    """Assignment 1: softmax loss of the scores X @ W plus ``reg * sum(W**2)``, and dW."""
    loss, dscores = softmax_loss(X @ W, y)
    return loss + reg * float(np.sum(W * W)), X.T @ dscores + 2 * reg * W


def svm_loss_vectorized(W: Array, X: Array, y: Array, reg: float) -> tuple[float, Array]:
    """Assignment 1: SVM loss of the scores X @ W plus ``reg * sum(W**2)``, and dW."""
    loss, dscores = svm_loss(X @ W, y)
    return loss + reg * float(np.sum(W * W)), X.T @ dscores + 2 * reg * W


softmax_loss_naive = softmax_loss_vectorized
svm_loss_naive = svm_loss_vectorized
