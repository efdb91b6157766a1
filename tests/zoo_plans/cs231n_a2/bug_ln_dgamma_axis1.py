"""CS231n assignment 2, layers.py.

Batchnorm follows the computational graph node by node (forward steps 1-9,
backward in reverse); the rest uses einsum.
"""

import numpy as np


def affine_forward(x, w, b):
    x2 = x.reshape(x.shape[0], -1)
    out = np.einsum("nd,dm->nm", x2, w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    x2 = x.reshape(x.shape[0], -1)
    dx = np.einsum("nm,dm->nd", dout, w).reshape(x.shape)
    dw = np.einsum("nd,nm->dm", x2, dout)
    db = np.einsum("nm->m", dout)
    return dx, dw, db


def relu_forward(x):
    out = np.where(x > 0, x, 0.0)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    x = cache
    dx = np.where(x > 0, dout, 0.0)
    return dx


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == "train":
        # step 1: mean
        mu = 1.0 / N * np.sum(x, axis=0)
        # step 2: subtract the mean
        xmu = x - mu
        # step 3: square
        sq = xmu ** 2
        # step 4: variance
        var = 1.0 / N * np.sum(sq, axis=0)
        # step 5: sqrt(var + eps)
        sqrtvar = np.sqrt(var + eps)
        # step 6: invert
        ivar = 1.0 / sqrtvar
        # step 7: normalize
        xhat = xmu * ivar
        # step 8: scale
        gammax = gamma * xhat
        # step 9: shift
        out = gammax + beta

        running_mean = momentum * running_mean + (1.0 - momentum) * mu
        running_var = momentum * running_var + (1.0 - momentum) * var
        cache = (xhat, gamma, xmu, ivar, sqrtvar, var, eps)
    elif mode == "test":
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * xhat + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    N, D = dout.shape
    # step 9
    dbeta = np.sum(dout, axis=0)
    dgammax = dout
    # step 8
    dgamma = np.sum(dgammax * xhat, axis=0)
    dxhat = dgammax * gamma
    # step 7
    divar = np.sum(dxhat * xmu, axis=0)
    dxmu1 = dxhat * ivar
    # step 6
    dsqrtvar = -1.0 / (sqrtvar ** 2) * divar
    # step 5
    dvar = 0.5 * 1.0 / np.sqrt(var + eps) * dsqrtvar
    # step 4
    dsq = 1.0 / N * np.ones((N, D)) * dvar
    # step 3
    dxmu2 = 2 * xmu * dsq
    # step 2
    dx1 = dxmu1 + dxmu2
    dmu = -1 * np.sum(dxmu1 + dxmu2, axis=0)
    # step 1
    dx2 = 1.0 / N * np.ones((N, D)) * dmu
    dx = dx1 + dx2
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    N = dout.shape[0]
    dbeta = np.einsum("nd->d", dout)
    dgamma = np.einsum("nd,nd->d", dout, xhat)
    dx = (gamma * ivar / N) * (N * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    # transpose so that the batchnorm graph (statistics along axis 0) applies
    xt = x.T
    mu = np.mean(xt, axis=0)
    xmu = xt - mu
    var = np.mean(xmu ** 2, axis=0)
    sqrtvar = np.sqrt(var + eps)
    ivar = 1.0 / sqrtvar
    xhat = (xmu * ivar).T
    out = gamma * xhat + beta
    cache = (xhat, gamma, xmu, ivar, sqrtvar, var, eps)
    return out, cache


def layernorm_backward(dout, cache):
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=1)
    dxhat = (dout * gamma).T
    D = dxhat.shape[0]
    divar = np.sum(dxhat * xmu, axis=0)
    dxmu1 = dxhat * ivar
    dsqrtvar = -divar / sqrtvar ** 2
    dvar = 0.5 * dsqrtvar / sqrtvar
    dxmu2 = 2.0 * xmu * dvar / D
    dmu = -np.sum(dxmu1 + dxmu2, axis=0)
    dx = (dxmu1 + dxmu2 + dmu / D).T
    return dx, dgamma, dbeta


def svm_loss(x, y):
    N, C = x.shape
    onehot = np.zeros((N, C))
    onehot[np.arange(N), y] = 1.0
    correct = np.sum(x * onehot, axis=1, keepdims=True)
    margins = np.maximum(0.0, x - correct + 1.0) * (1.0 - onehot)
    loss = margins.sum() / N
    pos = (margins > 0).astype(np.float64)
    dx = (pos - onehot * pos.sum(axis=1, keepdims=True)) / N
    return loss, dx


def softmax_loss(x, y):
    N, C = x.shape
    m = x.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(x - m).sum(axis=1, keepdims=True))
    log_p = x - lse
    onehot = np.eye(C)[y]
    loss = -np.einsum("nc,nc->", onehot, log_p) / N
    dx = (np.exp(log_p) - onehot) / N
    return loss, dx
