"""CS231n assignment 2, layers.py.

Compact formulas: tensordot, keepdims statistics, dict caches, np.add.at.
"""

import numpy as np


def affine_forward(x, w, b):
    flat = np.reshape(x, (len(x), np.prod(x.shape[1:], dtype=int)))
    out = np.tensordot(flat, w, axes=([1], [0])) + b[np.newaxis, :]
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    flat = np.reshape(x, (len(x), -1))
    dx = np.reshape(np.tensordot(dout, w, axes=([1], [1])), x.shape)
    dw = np.tensordot(flat, dout, axes=([0], [0]))
    db = dout.sum(axis=0, keepdims=True).ravel()
    return dx, dw, db


def relu_forward(x):
    mask = x > 0
    out = x * mask
    cache = mask
    return out, cache


def relu_backward(dout, cache):
    mask = cache
    dx = np.multiply(dout, mask)
    return dx


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    cache = None
    if mode == "train":
        mean = np.mean(x, axis=0, keepdims=True)
        var = np.mean((x - mean) ** 2, axis=0, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + eps)
        x_hat = (x - mean) * inv_std
        out = x_hat * gamma + beta
        # exponential moving average, written as a step towards the batch value
        running_mean = running_mean + (1.0 - momentum) * (mean.ravel() - running_mean)
        running_var = running_var + (1.0 - momentum) * (var.ravel() - running_var)
        cache = {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma}
    elif mode == "test":
        scale = gamma / np.sqrt(running_var + eps)
        shift = beta - running_mean * scale
        out = x * scale + shift
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    # same graph as the forward pass, but through the normalized values only
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    g = dout * gamma
    # d/dx of x_hat = (x - mean) * inv_std
    dx = inv_std * (g - g.mean(axis=0, keepdims=True)
                    - x_hat * (g * x_hat).mean(axis=0, keepdims=True))
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(x_hat * dout, axis=0)
    dx = gamma * inv_std / N * (N * dout - dbeta[np.newaxis, :] - x_hat * dgamma[np.newaxis, :])
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mean = np.mean(x, axis=1, keepdims=True)
    var = np.mean(np.square(x - mean), axis=1, keepdims=True)
    inv_std = (var + eps) ** -0.5
    x_hat = (x - mean) * inv_std
    out = x_hat * gamma + beta
    cache = {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma}
    return out, cache


def layernorm_backward(dout, cache):
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    g = dout * gamma
    dx = inv_std * (g - g.mean(axis=1, keepdims=True)
                    - x_hat * (g * x_hat).mean(axis=1, keepdims=True))
    return dx, dgamma, dbeta


def svm_loss(x, y):
    N = x.shape[0]
    rows = np.arange(N)
    margins = x - x[rows, y].reshape(-1, 1) + 1.0
    margins[rows, y] = 0.0
    active = margins > 0
    loss = float(np.sum(margins[active])) / N
    dx = active.astype(np.float64)
    np.add.at(dx, (rows, y), -active.sum(axis=1))
    dx = dx / N
    return loss, dx


def softmax_loss(x, y):
    # no max-subtraction: fine for moderate scores
    N = x.shape[0]
    e = np.exp(x)
    probs = e / e.sum(axis=1, keepdims=True)
    loss = (-np.log(probs[np.arange(N), y]).mean()).item()
    dx = probs
    dx[np.arange(N), y] -= 1.0
    dx = dx / N
    return loss, dx
