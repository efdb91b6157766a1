"""CS231n assignment 3, rnn_layers.py.

Stacked weights: each step multiplies the concatenation [x, prev_h] by
W = [Wx; Wh] once and splits the gradient afterwards. Caches are dicts, the
sequence caches lists of them; the word-embedding gradient is a one-hot matmul.
"""

import numpy as np


def sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    xh = np.hstack([x, prev_h])
    W = np.vstack([Wx, Wh])
    next_h = np.tanh(xh @ W + b)
    cache = {"xh": xh, "W": W, "D": x.shape[1], "next_h": next_h}
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    D = cache["D"]
    dz = (1 - cache["next_h"] ** 2) * dnext_h
    dxh = dz @ cache["W"].T
    dW = cache["xh"].T @ dz
    dx, dprev_h = dxh[:, :D], dxh[:, D:]
    dWx, dWh = dW[:D], dW[D:]
    db = dz.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    hs = []
    cache = []
    h_t = h0
    for t in range(x.shape[1]):
        h_t, step_cache = rnn_step_forward(x[:, t], h_t, Wx, Wh, b)
        hs.append(h_t)
        cache.append(step_cache)
    h = np.stack(hs, axis=1)
    return h, cache


def rnn_backward(dh, cache):
    T = dh.shape[1]
    dxs = [None] * T
    grads = None
    dh_next = np.zeros_like(dh[:, 0])
    for t in range(T - 1, -1, -1):
        dh[:, t] += dh_next
        dx_t, dh_next, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t], cache[t])
        dxs[t] = dx_t
        if grads is None:
            grads = [dWx_t, dWh_t, db_t]
        else:
            grads = [grads[0] + dWx_t, grads[1] + dWh_t, grads[2] + db_t]
    dx = np.stack(dxs, axis=1)
    dWx, dWh, db = grads
    return dx, dh_next, dWx, dWh, db


def word_embedding_forward(x, W):
    out = np.take(W, x, axis=0)
    cache = {"x": x, "V": W.shape[0]}
    return out, cache


def word_embedding_backward(dout, cache):
    x, V = cache["x"], cache["V"]
    D = dout.shape[-1]
    onehot = np.eye(V)[x.ravel()]
    dW = onehot.T @ dout.reshape(-1, D)
    return dW


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    xh = np.hstack([x, prev_h])
    W = np.vstack([Wx, Wh])
    a = xh @ W + b
    gates = {
        "i": sigmoid(a[:, 0:H]),
        "f": sigmoid(a[:, H:2 * H]),
        "o": sigmoid(a[:, 2 * H:3 * H]),
        "g": np.tanh(a[:, 3 * H:4 * H]),
    }
    next_c = gates["f"] * prev_c + gates["i"] * gates["g"]
    next_h = gates["o"] * np.tanh(next_c)
    cache = {"xh": xh, "W": W, "D": x.shape[1], "prev_c": prev_c, "next_c": next_c, **gates}
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    i, f, o, g = cache["i"], cache["f"], cache["o"], cache["g"]
    D = cache["D"]
    tanh_c = np.tanh(cache["next_c"])
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    d_gates = [
        dc * g * i * (1 - i),
        dc * cache["prev_c"] * f * (1 - f),
        dnext_h * tanh_c * o * (1 - o),
        dc * i * (1 - g**2),
    ]
    da = np.concatenate(d_gates, axis=1)
    dxh = da @ cache["W"].T
    dW = cache["xh"].T @ da
    dprev_c = f * dc
    return dxh[:, :D], dxh[:, D:], dprev_c, dW[:D], dW[D:], da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b):
    hs = []
    cache = []
    h_t = h0
    c_t = np.zeros_like(h0)
    for t in range(x.shape[1]):
        h_t, c_t, step_cache = lstm_step_forward(x[:, t], h_t, c_t, Wx, Wh, b)
        hs.append(h_t)
        cache.append(step_cache)
    h = np.stack(hs, axis=1)
    return h, cache


def lstm_backward(dh, cache):
    T = dh.shape[1]
    dxs = [None] * T
    grads = None
    dh_next = np.zeros_like(dh[:, 0])
    dc_next = np.zeros_like(dh[:, 0])
    for t in range(T - 1, -1, -1):
        dx_t, dh_next, dc_next, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t] + dh_next, dc_next, cache[t])
        dxs[t] = dx_t
        if grads is None:
            grads = [dWx_t, dWh_t, db_t]
        else:
            grads = [grads[0] + dWx_t, grads[1] + dWh_t, grads[2] + db_t]
    dx = np.stack(dxs, axis=1)
    dWx, dWh, db = grads
    return dx, dh_next, dWx, dWh, db


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
