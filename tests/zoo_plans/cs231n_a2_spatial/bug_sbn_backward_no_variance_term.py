"""CS231n assignment 2, layers.py: spatial batch normalization and spatial group normalization.

Spatial batchnorm with einsum reductions over n, h, w; group norm with explicit loops over
the examples and the groups of consecutive channels.
"""

import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    N, C, H, W = x.shape
    M = N * H * W
    running_mean = bn_param.get("running_mean", np.zeros(C, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(C, dtype=x.dtype))

    out, cache = None, None
    if mode == "train":
        mean = np.einsum("nchw->c", x) / M
        xc = x - mean[None, :, None, None]
        var = np.einsum("nchw,nchw->c", xc, xc) / M
        inv_std = 1.0 / np.sqrt(var + eps)
        x_hat = np.einsum("nchw,c->nchw", xc, inv_std)
        out = np.einsum("nchw,c->nchw", x_hat, gamma) + beta[None, :, None, None]
        cache = {"x_hat": x_hat, "gamma": gamma, "inv_std": inv_std}
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        inv_std = 1.0 / np.sqrt(running_var + eps)
        x_hat = np.einsum("nchw,c->nchw", x - running_mean[None, :, None, None], inv_std)
        out = np.einsum("nchw,c->nchw", x_hat, gamma) + beta[None, :, None, None]
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache["x_hat"], cache["gamma"], cache["inv_std"]
    N, C, H, W = dout.shape
    M = N * H * W
    dbeta = np.einsum("nchw->c", dout)
    dgamma = np.einsum("nchw,nchw->c", dout, x_hat)
    inner = M * dout - dbeta[None, :, None, None]
    dx = np.einsum("c,nchw->nchw", gamma * inv_std / M, inner)
    return dx, dgamma, dbeta


def _group_channels(g, channels_per_group, G):
    return slice(g * channels_per_group, (g + 1) * channels_per_group)


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    cg = C // G
    x_hat = np.zeros_like(x)
    inv_std = np.zeros((N, G))
    for n in range(N):
        for g in range(G):
            chans = _group_channels(g, cg, G)
            block = x[n, chans]
            mu = block.mean()
            v = ((block - mu) ** 2).mean()
            inv_std[n, g] = 1.0 / np.sqrt(v + eps)
            x_hat[n, chans] = (block - mu) * inv_std[n, g]
    out = gamma * x_hat + beta
    cache = (x_hat, gamma, inv_std, G)
    return out, cache


def spatial_groupnorm_backward(dout, cache):
    x_hat, gamma, inv_std, G = cache
    N, C, H, W = dout.shape
    cg = C // G
    dbeta = np.sum(dout, axis=(0, 2, 3)).reshape(gamma.shape)
    dgamma = np.sum(dout * x_hat, axis=(0, 2, 3)).reshape(gamma.shape)
    dx_hat = dout * gamma
    dx = np.zeros_like(dout)
    for n in range(N):
        for g in range(G):
            chans = _group_channels(g, cg, G)
            dxh = dx_hat[n, chans]
            xh = x_hat[n, chans]
            m = dxh.size
            dx[n, chans] = inv_std[n, g] / m * (m * dxh - dxh.sum() - xh * np.sum(dxh * xh))
    return dx, dgamma, dbeta
