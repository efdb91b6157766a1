"""CS231n assignment 2, layers.py: spatial batch normalization and spatial group normalization.

One pair of helpers normalizes the columns of a 2-D array. Batchnorm feeds it the
(N*H*W, C) pixels (np.moveaxis puts the channels last); group norm feeds it the transposed
(C // G * H * W, N*G) groups, the trick of reusing batchnorm for layer/group norm. Dict caches.
"""

import numpy as np


def _normalize_columns(a, eps):
    mean = a.mean(axis=0)
    var = a.var(axis=0)
    std = np.sqrt(var + eps)
    return (a - mean) / std, mean, var, std


def _normalize_columns_backward(dx_hat, x_hat, std):
    return (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std


def _channels_last(a):
    return np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


def _channels_first(rows, shape):
    N, C, H, W = shape
    return np.moveaxis(rows.reshape(N, H, W, C), -1, 1)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    C = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(C, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(C, dtype=x.dtype))

    rows = _channels_last(x)
    if mode == "train":
        x_hat, mean, var, std = _normalize_columns(rows, eps)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
        cache = {"x_hat": x_hat, "gamma": gamma, "std": std}
    elif mode == "test":
        x_hat = (rows - running_mean) / np.sqrt(running_var + eps)
        cache = None
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)
    out = _channels_first(gamma * x_hat + beta, x.shape)
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    x_hat = cache["x_hat"]
    drows = _channels_last(dout)
    dbeta = drows.sum(axis=0)
    dgamma = (drows * x_hat).sum(axis=0)
    dx_hat = drows * cache["gamma"]
    dx = _normalize_columns_backward(dx_hat, x_hat, cache["std"])
    return _channels_first(dx, dout.shape), dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    cols = x.reshape(N * G, -1).T
    x_hat_cols, _, _, std = _normalize_columns(cols, eps)
    x_hat = x_hat_cols.T.reshape(N, C, H, W)
    out = gamma * x_hat + beta
    cache = {"x_hat": x_hat, "x_hat_cols": x_hat_cols, "gamma": gamma, "std": std, "G": G}
    return out, cache


def spatial_groupnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    G = cache["G"]
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * cache["x_hat"]).sum(axis=(0, 2, 3), keepdims=True)
    dx_hat_cols = (dout * cache["gamma"]).reshape(N * G, -1).T
    dx_cols = _normalize_columns_backward(dx_hat_cols, cache["x_hat_cols"], cache["std"])
    dx = dx_cols.T.reshape(N, C, H, W)
    return dx, dgamma, dbeta
