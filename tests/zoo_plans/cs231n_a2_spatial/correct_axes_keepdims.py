"""CS231n assignment 2, layers.py: spatial batch normalization and spatial group normalization.

Works on the (N, C, H, W) array directly: reductions over axis=(0, 2, 3) with keepdims for
batchnorm, over the last three axes of an (N, G, C // G, H, W) view for group norm, and the
backward pass follows the computational graph (dvar, dmean).
"""

import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    N, C, H, W = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(C, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(C, dtype=x.dtype))
    g = gamma.reshape(1, C, 1, 1)
    b = beta.reshape(1, C, 1, 1)

    out, cache = None, None
    if mode == "train":
        mu = np.mean(x, axis=(0, 2, 3), keepdims=True)
        xc = x - mu
        var = np.mean(xc ** 2, axis=(0, 2, 3), keepdims=True)
        std = np.sqrt(var + eps)
        x_hat = xc / std
        out = g * x_hat + b
        cache = (xc, var, std, x_hat, g, eps)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu.ravel()
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var.ravel()
    elif mode == "test":
        mu = running_mean.reshape(1, C, 1, 1)
        var = running_var.reshape(1, C, 1, 1)
        out = g * (x - mu) / np.sqrt(var + eps) + b
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    xc, var, std, x_hat, g, eps = cache
    N, C, H, W = dout.shape
    M = N * H * W
    dbeta = np.sum(dout, axis=(0, 2, 3))
    dgamma = np.sum(dout * x_hat, axis=(0, 2, 3))
    dx_hat = dout * g
    dvar = np.sum(dx_hat * xc, axis=(0, 2, 3), keepdims=True) * -0.5 * (var + eps) ** -1.5
    dmu = (-np.sum(dx_hat, axis=(0, 2, 3), keepdims=True) / std
           + dvar * np.mean(-2.0 * xc, axis=(0, 2, 3), keepdims=True))
    dx = dx_hat / std + dvar * 2.0 * xc / M + dmu / M
    return dx, dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    axes = (2, 3, 4)
    xg = x.reshape(N, G, C // G, H, W)
    mu = np.mean(xg, axis=axes, keepdims=True)
    xc = xg - mu
    var = np.mean(xc ** 2, axis=axes, keepdims=True)
    std = np.sqrt(var + eps)
    x_hat = (xc / std).reshape(N, C, H, W)
    out = gamma * x_hat + beta
    cache = (xc, var, std, x_hat, gamma, G, eps)
    return out, cache


def spatial_groupnorm_backward(dout, cache):
    xc, var, std, x_hat, gamma, G, eps = cache
    N, C, H, W = dout.shape
    M = (C // G) * H * W
    axes = (2, 3, 4)
    dbeta = np.sum(dout, axis=(0, 2, 3), keepdims=True)
    dgamma = np.sum(dout * x_hat, axis=(0, 2, 3), keepdims=True)
    dx_hat = (dout * gamma).reshape(N, G, C // G, H, W)
    dvar = np.sum(dx_hat * xc, axis=axes, keepdims=True) * -0.5 * (var + eps) ** -1.5
    dmu = (-np.sum(dx_hat, axis=axes, keepdims=True) / std
           + dvar * np.mean(-2.0 * xc, axis=axes, keepdims=True))
    dx = dx_hat / std + dvar * 2.0 * xc / M + dmu / M
    return dx.reshape(N, C, H, W), dgamma, dbeta
