"""CS231n assignment 3, rnn_layers.py.

Vectorized: the sequence functions precompute the input projections of all time
steps with einsum, cache whole (N, T, .) arrays instead of per-step tuples and
compute the weight gradients once after the backward loop. The LSTM takes its
four gates from one matmul and np.split.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    dz = dnext_h * (1.0 - next_h * next_h)
    dx = dz @ Wx.T
    dprev_h = dz @ Wh.T
    dWx = x.T @ dz
    dWh = dz.T @ prev_h
    db = dz.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    xw = np.einsum("ntd,dh->nth", x, Wx) + b
    h = np.empty((N, T, H))
    prev_h = h0
    for t in range(T):
        prev_h = np.tanh(xw[:, t] + prev_h @ Wh)
        h[:, t] = prev_h
    cache = (x, h0, Wx, Wh, h)
    return h, cache


def rnn_backward(dh, cache):
    x, h0, Wx, Wh, h = cache
    N, T, H = dh.shape
    dz = np.empty((N, T, H))
    dprev_h = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dz[:, t] = (dh[:, t] + dprev_h) * (1.0 - h[:, t] ** 2)
        dprev_h = dz[:, t] @ Wh.T
    h_prev = np.concatenate([h0[:, None, :], h[:, :T - 1]], axis=1)
    dx = np.einsum("nth,dh->ntd", dz, Wx)
    dWx = np.einsum("ntd,nth->dh", x[:, :T], dz)
    dWh = np.einsum("ntg,nth->gh", h_prev, dz)
    db = dz.sum(axis=(0, 1))
    return dx, dprev_h, dWx, dWh, db


def word_embedding_forward(x, W):
    out = W[x, :]
    cache = (x, W.shape[0])
    return out, cache


def word_embedding_backward(dout, cache):
    x, V = cache
    onehot = (x[..., None] == np.arange(V)).astype(dout.dtype)
    dW = np.einsum("ntv,ntd->vd", onehot, dout)
    return dW


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    a = x @ Wx + prev_h @ Wh + b
    ai, af, ao, ag = np.split(a, 4, axis=1)
    i, f, o, g = sigmoid(ai), sigmoid(af), sigmoid(ao), np.tanh(ag)
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    cache = (x, prev_h, prev_c, Wx, Wh, np.hstack([i, f, o, g]), next_c)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, gates, next_c = cache
    i, f, o, g = np.split(gates, 4, axis=1)
    tc = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1.0 - tc * tc)
    da = np.hstack([
        dc * g * i * (1.0 - i),
        dc * prev_c * f * (1.0 - f),
        dnext_h * tc * o * (1.0 - o),
        dc * i * (1.0 - g * g),
    ])
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dprev_c = dc * f
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    xa = np.einsum("ntd,dg->ntg", x, Wx) + b
    h = np.empty((N, T, H))
    c = np.empty((N, T, H))
    gates = np.empty((N, T, 4 * H))
    prev_h = h0
    prev_c = np.zeros((N, H))
    for t in range(T):
        a = xa[:, t] + prev_h @ Wh
        ifo = sigmoid(a[:, :3 * H])
        g = np.tanh(a[:, 3 * H:])
        prev_c = ifo[:, H:2 * H] * prev_c + ifo[:, :H] * g
        prev_h = ifo[:, 2 * H:] * np.tanh(prev_c)
        gates[:, t] = np.hstack([ifo, g])
        c[:, t] = prev_c
        h[:, t] = prev_h
    cache = (x, h0, Wx, Wh, gates, c, h)
    return h, cache


def lstm_backward(dh, cache):
    x, h0, Wx, Wh, gates, c, h = cache
    N, T, H = dh.shape
    c_prev = np.concatenate([np.zeros((N, 1, H)), c[:, :T - 1]], axis=1)
    h_prev = np.concatenate([h0[:, None, :], h[:, :T - 1]], axis=1)
    da = np.empty((N, T, 4 * H))
    dprev_h = np.zeros((N, H))
    dprev_c = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        i, f, o, g = np.split(gates[:, t], 4, axis=1)
        tc = np.tanh(c[:, t])
        dnext = dh[:, t] + dprev_h
        dc = dprev_c + dnext * o * (1.0 - tc * tc)
        da[:, t] = np.hstack([
            dc * g * i * (1.0 - i),
            dc * c_prev[:, t] * f * (1.0 - f),
            dnext * tc * o * (1.0 - o),
            dc * i * (1.0 - g * g),
        ])
        dprev_h = da[:, t] @ Wh.T
        dprev_c = dc * f
    dx = np.einsum("ntg,dg->ntd", da, Wx)
    dWx = np.einsum("ntd,ntg->dg", x[:, :T], da)
    dWh = np.einsum("nth,ntg->hg", h_prev, da)
    db = da.sum(axis=(0, 1))
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db


def temporal_affine_forward(x, w, b):
    N, T, D = x.shape
    M = b.shape[0]
    out = x.reshape(N * T, D).dot(w).reshape(N, T, M) + b
    cache = x, w, b, out
    return out, cache


def temporal_affine_backward(dout, cache):
    x, w, b, out = cache
    N, T, D = x.shape
    M = b.shape[0]
    dx = dout.reshape(N * T, M).dot(w.T).reshape(N, T, D)
    dw = dout.reshape(N * T, M).T.dot(x.reshape(N * T, D)).T
    db = dout.sum(axis=(0, 1))
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)
    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(mask_flat * np.log(probs[np.arange(N * T), y_flat])) / N
    dx_flat = probs.copy()
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat /= N
    dx_flat *= mask_flat[:, None]
    if verbose:
        print("dx_flat: ", dx_flat.shape)
    dx = dx_flat.reshape(N, T, V)
    return loss, dx
