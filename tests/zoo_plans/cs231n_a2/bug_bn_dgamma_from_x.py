"""CS231n assignment 2, layers.py.

Written with explicit loops over examples and features first (the way the
naive versions are derived), before vectorizing.
"""

import numpy as np


def affine_forward(x, w, b):
    N = x.shape[0]
    D, M = w.shape
    x_rows = x.reshape(N, D)
    out = np.zeros((N, M))
    for i in range(N):
        for j in range(M):
            total = b[j]
            for k in range(D):
                total += x_rows[i, k] * w[k, j]
            out[i, j] = total
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    N = x.shape[0]
    D, M = w.shape
    x_rows = x.reshape(N, D)
    dx_rows = np.zeros((N, D))
    dw = np.zeros((D, M))
    db = np.zeros(M)
    for i in range(N):
        for j in range(M):
            db[j] += dout[i, j]
            for k in range(D):
                dx_rows[i, k] += dout[i, j] * w[k, j]
                dw[k, j] += x_rows[i, k] * dout[i, j]
    dx = dx_rows.reshape(x.shape)
    return dx, dw, db


def relu_forward(x):
    out = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        if x[idx] > 0:
            out[idx] = x[idx]
    cache = x
    return out, cache


def relu_backward(dout, cache):
    x = cache
    dx = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        if x[idx] > 0:
            dx[idx] = dout[idx]
    return dx


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    out = np.zeros((N, D))
    cache = None
    if mode == "train":
        mean = np.zeros(D)
        var = np.zeros(D)
        for j in range(D):
            s = 0.0
            for i in range(N):
                s += x[i, j]
            mean[j] = s / N
            sq = 0.0
            for i in range(N):
                sq += (x[i, j] - mean[j]) ** 2
            var[j] = sq / N
        x_hat = np.zeros((N, D))
        for j in range(D):
            inv_std = 1.0 / np.sqrt(var[j] + eps)
            for i in range(N):
                x_hat[i, j] = (x[i, j] - mean[j]) * inv_std
                out[i, j] = gamma[j] * x_hat[i, j] + beta[j]
        new_mean = np.zeros(D)
        new_var = np.zeros(D)
        for j in range(D):
            new_mean[j] = momentum * running_mean[j] + (1 - momentum) * mean[j]
            new_var[j] = momentum * running_var[j] + (1 - momentum) * var[j]
        running_mean = new_mean
        running_var = new_var
        cache = (x, mean, var, x_hat, gamma, eps)
    elif mode == "test":
        for j in range(D):
            inv_std = 1.0 / np.sqrt(running_var[j] + eps)
            for i in range(N):
                out[i, j] = gamma[j] * (x[i, j] - running_mean[j]) * inv_std + beta[j]
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    x, mean, var, x_hat, gamma, eps = cache
    N, D = x.shape
    dx = np.zeros((N, D))
    dgamma = np.zeros(D)
    dbeta = np.zeros(D)
    for j in range(D):
        std = np.sqrt(var[j] + eps)
        dvar = 0.0
        dmean = 0.0
        for i in range(N):
            dxhat = dout[i, j] * gamma[j]
            dvar += dxhat * (x[i, j] - mean[j]) * (-0.5) / std ** 3
            dmean -= dxhat / std
        centred_sum = 0.0
        for i in range(N):
            centred_sum += x[i, j] - mean[j]
        dmean += dvar * (-2.0) * centred_sum / N
        for i in range(N):
            dxhat = dout[i, j] * gamma[j]
            dx[i, j] = dxhat / std + dvar * 2.0 * (x[i, j] - mean[j]) / N + dmean / N
            dgamma[j] += dout[i, j] * x[i, j]
            dbeta[j] += dout[i, j]
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    x, mean, var, x_hat, gamma, eps = cache
    N, D = x.shape
    dx = np.zeros((N, D))
    dgamma = np.zeros(D)
    dbeta = np.zeros(D)
    for j in range(D):
        std = np.sqrt(var[j] + eps)
        sum_dout = 0.0
        sum_dout_xhat = 0.0
        for i in range(N):
            sum_dout += dout[i, j]
            sum_dout_xhat += dout[i, j] * x_hat[i, j]
        dbeta[j] = sum_dout
        dgamma[j] = sum_dout_xhat
        for i in range(N):
            dx[i, j] = gamma[j] / (N * std) * (N * dout[i, j] - sum_dout - x_hat[i, j] * sum_dout_xhat)
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    N, D = x.shape
    out = np.zeros((N, D))
    x_hat = np.zeros((N, D))
    inv_std = np.zeros(N)
    for i in range(N):
        mu = 0.0
        for j in range(D):
            mu += x[i, j]
        mu /= D
        var = 0.0
        for j in range(D):
            var += (x[i, j] - mu) ** 2
        var /= D
        inv_std[i] = 1.0 / np.sqrt(var + eps)
        for j in range(D):
            x_hat[i, j] = (x[i, j] - mu) * inv_std[i]
            out[i, j] = gamma[j] * x_hat[i, j] + beta[j]
    cache = (x_hat, inv_std, gamma)
    return out, cache


def layernorm_backward(dout, cache):
    x_hat, inv_std, gamma = cache
    N, D = x_hat.shape
    dx = np.zeros((N, D))
    dgamma = np.zeros(D)
    dbeta = np.zeros(D)
    for i in range(N):
        s1 = 0.0
        s2 = 0.0
        for j in range(D):
            g = dout[i, j] * gamma[j]
            s1 += g
            s2 += g * x_hat[i, j]
            dgamma[j] += dout[i, j] * x_hat[i, j]
            dbeta[j] += dout[i, j]
        for j in range(D):
            g = dout[i, j] * gamma[j]
            dx[i, j] = inv_std[i] / D * (D * g - s1 - x_hat[i, j] * s2)
    return dx, dgamma, dbeta


def svm_loss(x, y):
    N, C = x.shape
    loss = 0.0
    dx = np.zeros((N, C))
    for i in range(N):
        for j in range(C):
            if j == y[i]:
                continue
            margin = x[i, j] - x[i, y[i]] + 1.0
            if margin > 0:
                loss += margin
                dx[i, j] += 1.0
                dx[i, y[i]] -= 1.0
    loss /= N
    dx /= N
    return loss, dx


def softmax_loss(x, y):
    N, C = x.shape
    loss = 0.0
    dx = np.zeros((N, C))
    for i in range(N):
        m = np.max(x[i])
        exps = np.zeros(C)
        total = 0.0
        for j in range(C):
            exps[j] = np.exp(x[i, j] - m)
            total += exps[j]
        loss += -np.log(exps[y[i]] / total)
        for j in range(C):
            p = exps[j] / total
            if j == y[i]:
                dx[i, j] = p - 1.0
            else:
                dx[i, j] = p
    loss /= N
    dx /= N
    return loss, dx
