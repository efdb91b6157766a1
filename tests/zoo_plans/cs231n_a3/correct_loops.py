"""CS231n assignment 3, rnn_layers.py.

Explicit loops: the step functions go through the minibatch one example at a
time (weight gradients as sums of outer products), the word embedding through
every (n, t) position; the sequence functions call the step functions.
"""

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    N = x.shape[0]
    H = Wh.shape[0]
    next_h = np.zeros((N, H))
    for n in range(N):
        next_h[n] = np.tanh(np.dot(x[n], Wx) + np.dot(prev_h[n], Wh) + b)
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    N = x.shape[0]
    dx = np.zeros(x.shape)
    dprev_h = np.zeros(prev_h.shape)
    dWx = np.zeros(Wx.shape)
    dWh = np.zeros(Wh.shape)
    db = np.zeros(Wh.shape[0])
    for n in range(N):
        dz = dnext_h[n] * (1 - next_h[n] ** 2)
        dx[n] = np.dot(Wx, dz)
        dprev_h[n] = np.dot(Wh, dz)
        dWx += np.outer(x[n], dz)
        dWh += np.outer(prev_h[n], dz)
        db += dz
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    cache = []
    for t in range(T):
        if t == 0:
            prev_h = h0
        else:
            prev_h = h[:, t - 1, :]
        next_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = next_h
        cache.append(step_cache)
    return h, cache


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dh0 = np.zeros((N, H))
    dWx = np.zeros((D, H))
    dWh = np.zeros((H, H))
    db = np.zeros(H)
    for t in range(T - 1, -1, -1):
        dx[:, t, :], dh0, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dh0, cache[t])
        dWx = dWx + dWx_t
        dWh = dWh + dWh_t
        db = db + db_t
    return dx, dh0, dWx, dWh, db


def word_embedding_forward(x, W):
    N, T = x.shape
    D = W.shape[1]
    out = np.zeros((N, T, D))
    for n in range(N):
        for t in range(T):
            out[n, t, :] = W[x[n, t], :]
    cache = (x, W.shape)
    return out, cache


def word_embedding_backward(dout, cache):
    x, W_shape = cache
    N, T = x.shape
    dW = np.zeros(W_shape)
    for n in range(N):
        for t in range(T):
            dW[x[n, t], :] += dout[n, t, :]
    return dW


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    N, H = prev_h.shape
    next_h = np.zeros((N, H))
    next_c = np.zeros((N, H))
    gates = np.zeros((N, 4, H))
    for n in range(N):
        a = np.dot(x[n], Wx) + np.dot(prev_h[n], Wh) + b
        i = sigmoid(a[0:H])
        f = sigmoid(a[H:2 * H])
        o = sigmoid(a[2 * H:3 * H])
        g = np.tanh(a[3 * H:4 * H])
        next_c[n] = f * prev_c[n] + i * g
        next_h[n] = o * np.tanh(next_c[n])
        gates[n] = [i, f, o, g]
    cache = (x, prev_h, prev_c, Wx, Wh, gates, next_c)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, gates, next_c = cache
    N, H = prev_h.shape
    dx = np.zeros(x.shape)
    dprev_h = np.zeros((N, H))
    dprev_c = np.zeros((N, H))
    dWx = np.zeros(Wx.shape)
    dWh = np.zeros(Wh.shape)
    db = np.zeros(4 * H)
    for n in range(N):
        i, f, o, g = gates[n]
        tanh_c = np.tanh(next_c[n])
        dc = dnext_c[n] + dnext_h[n] * o * (1 - tanh_c**2)
        da = np.zeros(4 * H)
        da[0:H] = dc * g * i * (1 - i)
        da[H:2 * H] = dc * prev_c[n] * f * (1 - f)
        da[2 * H:3 * H] = dnext_h[n] * tanh_c * o * (1 - o)
        da[3 * H:4 * H] = dc * i * (1 - g**2)
        dx[n] = np.dot(Wx, da)
        dprev_h[n] = np.dot(Wh, da)
        dprev_c[n] = dc * f
        dWx += np.outer(x[n], da)
        dWh += np.outer(prev_h[n], da)
        db += da
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    cache = []
    prev_h = h0
    prev_c = np.zeros((N, H))
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        h[:, t, :] = prev_h
        cache.append(step_cache)
    return h, cache


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, 4 * H))
    dWh = np.zeros((H, 4 * H))
    db = np.zeros(4 * H)
    dh_next = np.zeros((N, H))
    dc_next = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dh_t = dh[:, t, :] + dh_next
        dx[:, t, :], dh_next, dc_next, dWx_t, dWh_t, db_t = lstm_step_backward(dh_t, dc_next, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dh_next
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
