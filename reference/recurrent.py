"""Reference recurrent layers of CS231n's assignment 3 (``rnn_layers.py``), float64, forward and
backward side by side, in the starter code's signatures; examples are ROWS (N is the batch).

    rnn_step_forward(x, prev_h, Wx, Wh, b) -> (next_h, cache)     x (N, D), prev_h (N, H), Wx (D, H),
                                                                  Wh (H, H), b (H,); next_h = tanh(x Wx + prev_h Wh + b)
    rnn_step_backward(dnext_h, cache) -> (dx, dprev_h, dWx, dWh, db)
    rnn_forward(x, h0, Wx, Wh, b) -> (h, cache)                   x (N, T, D), h0 (N, H), h (N, T, H)
    rnn_backward(dh, cache) -> (dx, dh0, dWx, dWh, db)            dh (N, T, H): the upstream gradient of
                                                                  every h[:, t] (not what flows between steps)
    word_embedding_forward(x, W) -> (out, cache)                  x int (N, T) in [0, V), W (V, D), out (N, T, D)
    word_embedding_backward(dout, cache) -> dW                    dW (V, D); repeated words accumulate
    temporal_affine_forward(x, w, b) -> (out, cache)              x (N, T, D), w (D, M), b (M,); cache (x, w, b, out)
    temporal_affine_backward(dout, cache) -> (dx, dw, db)
    temporal_softmax_loss(x, y, mask, verbose=False) -> (loss, dx)
                                                                  x (N, T, V) scores, y int (N, T), mask bool (N, T):
                                                                  cross-entropy summed over the unmasked (n, t),
                                                                  divided by N (not by the number of unmasked steps)
    lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b) -> (next_h, next_c, cache)
                                                                  Wx (D, 4H), Wh (H, 4H), b (4H,); the 4H columns are
                                                                  the gates i, f, o, g in that order
    lstm_step_backward(dnext_h, dnext_c, cache) -> (dx, dprev_h, dprev_c, dWx, dWh, db)
    lstm_forward(x, h0, Wx, Wh, b) -> (h, cache)                  the initial cell state is zero and not an input
    lstm_backward(dh, cache) -> (dx, dh0, dWx, dWh, db)

Each backward is the gradient of ``L = sum(dout * out)`` over the forward's outputs with respect
to its inputs: rnn_step_backward of sum(dnext_h * next_h), lstm_step_backward of
sum(dnext_h * next_h + dnext_c * next_c), rnn_backward and lstm_backward of sum(dh * h) through
all the time steps (with respect to x, h0 and the weights; the LSTM's zero initial cell state is a
constant), word_embedding_backward of sum(dout * out) with respect to W (x is integer); the loss
returns the gradient of its own value. Caches are this module's own (the course leaves them to
the student), except temporal_affine's, which the starter code provides.

Versions (cs231n.github.io assignment 3; read from public copies: wrwwctb/Stanford-CS231n-2015-2016-winter
as3/cs231n/rnn_layers.py, Burton2000/CS231n-2017, 0809zheng/CS231n-assignment2019 and
AnirudhM1/CS231n-2022-Solutions, each assignment3/cs231n/rnn_layers.py): every numpy version from
winter 2016 to 2022 has these names, signatures, return tuples and the i, f, o, g gate order (the
LSTM ones live in the same file as the vanilla RNN's and are used by LSTM_Captioning.ipynb; 2017 and
2019 do not differ). temporal_affine_* and temporal_softmax_loss are given, not written by students.
The 2022 file also carries a copy of affine_forward/affine_backward. The 2025-2026 course
(MuQY1818/cs231n-2026-zh, JiangShiYu6/cs231n-2026) moved captioning to assignment 2 as
``rnn_layers_pytorch.py``: torch tensors, forward only, no caches (rnn_step_forward returns
next_h, lstm_step_forward (next_h, next_c), temporal_softmax_loss the loss alone), gradients by
autograd; the forward math there is this module's.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def _sigmoid(z: Array) -> Array:
    """1 / (1 + exp(-z)) without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# --- vanilla RNN -------------------------------------------------------------------------------


def rnn_step_forward(x: Array, prev_h: Array, Wx: Array, Wh: Array, b: Array) -> tuple[Array, tuple]:
    """next_h = tanh(x Wx + prev_h Wh + b), shape (N, H); cache (x, prev_h, Wx, Wh, next_h)."""
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h: Array, cache: tuple) -> tuple[Array, Array, Array, Array, Array]:
    """(dx (N, D), dprev_h (N, H), dWx (D, H), dWh (H, H), db (H,)) of L = sum(dnext_h * next_h)."""
    x, prev_h, Wx, Wh, next_h = cache
    dz = dnext_h * (1.0 - next_h**2)
    return dz @ Wx.T, dz @ Wh.T, x.T @ dz, prev_h.T @ dz, dz.sum(axis=0)


def rnn_forward(x: Array, h0: Array, Wx: Array, Wh: Array, b: Array) -> tuple[Array, list]:
    """h[:, t] = rnn_step_forward(x[:, t], h[:, t - 1]) from h0, shape (N, T, H); cache the
    list of the T step caches."""
    N, T, _ = x.shape
    h = np.empty((N, T, h0.shape[1]), dtype=np.result_type(x, h0, Wx, Wh, b))
    steps = []
    prev_h = h0
    for t in range(T):
        prev_h, step = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
        steps.append(step)
    return h, steps


def rnn_backward(dh: Array, cache: list) -> tuple[Array, Array, Array, Array, Array]:
    """(dx (N, T, D), dh0 (N, H), dWx, dWh, db) of L = sum(dh * h): backpropagation through
    time, each step receiving dh[:, t] plus the gradient flowing back from step t + 1."""
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.empty((N, T, D), dtype=dh.dtype)
    dWx = np.zeros((D, H), dtype=dh.dtype)
    dWh = np.zeros((H, H), dtype=dh.dtype)
    db = np.zeros(H, dtype=dh.dtype)
    dprev_h = np.zeros((N, H), dtype=dh.dtype)
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


# --- word embedding ------------------------------------------------------------------------------


def word_embedding_forward(x: Array, W: Array) -> tuple[Array, tuple[Array, tuple[int, ...]]]:
    """out = W[x], shape (N, T, D); cache (x, W.shape)."""
    return W[x], (x, W.shape)


def word_embedding_backward(dout: Array, cache: tuple[Array, tuple[int, ...]]) -> Array:
    """dW (V, D) of L = sum(dout * W[x]): row v gets the sum of dout over the positions holding v."""
    x, shape = cache
    dW = np.zeros(shape, dtype=dout.dtype)
    np.add.at(dW, x, dout)
    return dW


# --- temporal affine and loss (given in the starter code) -----------------------------------------


def temporal_affine_forward(x: Array, w: Array, b: Array) -> tuple[Array, tuple[Array, Array, Array, Array]]:
    """out[n, t] = x[n, t] w + b, shape (N, T, M); cache (x, w, b, out) as the starter code's."""
    N, T, D = x.shape
    out = (x.reshape(N * T, D) @ w).reshape(N, T, w.shape[1]) + b
    return out, (x, w, b, out)


def temporal_affine_backward(dout: Array, cache: tuple[Array, Array, Array, Array]) -> tuple[Array, Array, Array]:
    """(dx (N, T, D), dw (D, M), db (M,)) of L = sum(dout * out)."""
    x, w, _, _ = cache
    N, T, D = x.shape
    rows = dout.reshape(N * T, -1)
    return (rows @ w.T).reshape(N, T, D), x.reshape(N * T, D).T @ rows, rows.sum(axis=0)


def temporal_softmax_loss(x: Array, y: Array, mask: Array, verbose: bool = False) -> tuple[float, Array]:
    """loss = -sum over (n, t) with mask[n, t] of log softmax(x[n, t])[y[n, t]], divided by N;
    dx (N, T, V) its gradient (zero at masked-out steps). ``verbose`` prints dx's flat shape,
    as the starter code does."""
    N, T, V = x.shape
    scores = x.reshape(N * T, V)
    labels = y.reshape(N * T)
    weights = mask.reshape(N * T).astype(x.dtype)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(N * T)
    loss = -(weights * log_probs[rows, labels]).sum() / N
    dx = np.exp(log_probs)
    dx[rows, labels] -= 1.0
    dx *= weights[:, None] / N
    if verbose:
        print("dx_flat: ", dx.shape)
    return float(loss), dx.reshape(N, T, V)


# --- LSTM ------------------------------------------------------------------------------------------


def lstm_step_forward(x: Array, prev_h: Array, prev_c: Array, Wx: Array, Wh: Array,
                      b: Array) -> tuple[Array, Array, tuple]:
    """a = x Wx + prev_h Wh + b (N, 4H) split into i, f, o, g (sigmoid, sigmoid, sigmoid, tanh);
    next_c = f * prev_c + i * g, next_h = o * tanh(next_c), both (N, H);
    cache (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    gates = _sigmoid(a[:, :3 * H])  # i, f, o side by side: one call, the same values
    i, f, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)


def lstm_step_backward(dnext_h: Array, dnext_c: Array, cache: tuple) -> tuple[Array, Array, Array, Array, Array, Array]:
    """(dx (N, D), dprev_h (N, H), dprev_c (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)) of
    L = sum(dnext_h * next_h + dnext_c * next_c)."""
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tanh_c = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1.0 - tanh_c**2)
    da = np.concatenate([dc * g * i * (1.0 - i),
                         dc * prev_c * f * (1.0 - f),
                         dnext_h * tanh_c * o * (1.0 - o),
                         dc * i * (1.0 - g**2)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(x: Array, h0: Array, Wx: Array, Wh: Array, b: Array) -> tuple[Array, list]:
    """h[:, t] from lstm_step_forward with the cell state starting at zero, shape (N, T, H);
    cache the list of the T step caches."""
    N, T, _ = x.shape
    h = np.empty((N, T, h0.shape[1]), dtype=np.result_type(x, h0, Wx, Wh, b))
    steps = []
    prev_h, prev_c = h0, np.zeros_like(h)[:, 0]
    for t in range(T):
        prev_h, prev_c, step = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
        steps.append(step)
    return h, steps


def lstm_backward(dh: Array, cache: list) -> tuple[Array, Array, Array, Array, Array]:
    """(dx (N, T, D), dh0 (N, H), dWx, dWh, db) of L = sum(dh * h) through time: each step gets
    dh[:, t] plus the hidden and cell gradients flowing back from step t + 1."""
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.empty((N, T, D), dtype=dh.dtype)
    dWx = np.zeros((D, 4 * H), dtype=dh.dtype)
    dWh = np.zeros((H, 4 * H), dtype=dh.dtype)
    db = np.zeros(4 * H, dtype=dh.dtype)
    dprev_h = np.zeros((N, H), dtype=dh.dtype)
    dprev_c = np.zeros((N, H), dtype=dh.dtype)
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t] + dprev_h, dprev_c, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db
