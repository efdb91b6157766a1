"""Deep Learning Specialization, course 5 week 1:
Building your Recurrent Neural Network - Step by Step.

Stacked weights and einsum: the RNN cell multiplies [Waa, Wax] by
[a_prev; xt], the LSTM cell computes its four gates with one matmul of the
stacked [Wf; Wi; Wc; Wo] and splits the result. rnn_utils' softmax and
sigmoid are defined here. Examples are columns.
"""

import numpy as np


def softmax(x):
    e_x = np.exp(x - np.max(x, axis=0, keepdims=True))
    return e_x / np.sum(e_x, axis=0, keepdims=True)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def rnn_cell_forward(xt, a_prev, parameters):
    W = np.hstack([parameters["Waa"], parameters["Wax"]])
    z = np.einsum("ij,jm->im", W, np.vstack([a_prev, xt])) + parameters["ba"]
    a_next = np.tanh(z)
    yt_pred = softmax(np.einsum("ij,jm->im", parameters["Wya"], a_next) + parameters["by"])
    cache = (a_next, a_prev, xt, parameters)
    return a_next, yt_pred, cache


def rnn_forward(x, a0, parameters):
    T_x = x.shape[2]
    a_list, y_list, cell_caches = [], [], []
    a_t = a0
    for t in range(T_x):
        a_t, y_t, cache_t = rnn_cell_forward(x[..., t], a_t, parameters)
        a_list.append(a_t)
        y_list.append(y_t)
        cell_caches.append(cache_t)
    a = np.stack(a_list, axis=-1)
    y_pred = np.stack(y_list, axis=-1)
    return a, y_pred, (cell_caches, x)


def rnn_cell_backward(da_next, cache):
    a_next, a_prev, xt, parameters = cache
    dz = da_next * (1.0 - a_next * a_next)
    gradients = {
        "dxt": np.einsum("ij,im->jm", parameters["Wax"], dz),
        "da_prev": np.einsum("ij,im->jm", parameters["Waa"], dz),
        "dWax": np.einsum("im,jm->ij", dz, xt),
        "dWaa": np.einsum("im,jm->ij", dz, a_prev),
        "dba": np.einsum("im->i", dz)[:, None],
    }
    return gradients


def rnn_backward(da, caches):
    cell_caches, x = caches
    n_a, m, T = da.shape
    n_x = x.shape[0]
    dx = np.zeros((n_x, m, T))
    totals = {"dWax": np.zeros((n_a, n_x)), "dWaa": np.zeros((n_a, n_a)), "dba": np.zeros((n_a, 1))}
    da_prev = np.zeros((n_a, m))
    for t in reversed(range(1, T)):
        g = rnn_cell_backward(da[..., t] + da_prev, cell_caches[t])
        dx[..., t] = g["dxt"]
        da_prev = g["da_prev"]
        for k in totals:
            totals[k] += g[k]
    return {"dx": dx, "da0": da_prev, **totals}


def lstm_cell_forward(xt, a_prev, c_prev, parameters):
    n_a = a_prev.shape[0]
    W = np.concatenate([parameters["W" + k] for k in "fico"], axis=0)
    b = np.concatenate([parameters["b" + k] for k in "fico"], axis=0)
    concat = np.concatenate([a_prev, xt], axis=0)
    z = np.einsum("ij,jm->im", W, concat) + b
    ft = sigmoid(z[:n_a])
    it = sigmoid(z[n_a:2 * n_a])
    cct = np.tanh(z[2 * n_a:3 * n_a])
    ot = sigmoid(z[3 * n_a:])
    c_next = ft * c_prev + it * cct
    a_next = ot * np.tanh(c_next)
    yt_pred = softmax(np.einsum("ij,jm->im", parameters["Wy"], a_next) + parameters["by"])
    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    return a_next, c_next, yt_pred, cache


def lstm_forward(x, a0, parameters):
    n_x, m, T_x = x.shape
    n_a = a0.shape[0]
    n_y = parameters["Wy"].shape[0]
    a = np.zeros((n_a, m, T_x))
    c = np.zeros((n_a, m, T_x))
    y = np.zeros((n_y, m, T_x))
    cell_caches = []
    a_t, c_t = a0, np.zeros((n_a, m))
    for t in range(T_x):
        a_t, c_t, y[..., t], cache_t = lstm_cell_forward(x[..., t], a_t, c_t, parameters)
        a[..., t] = a_t
        c[..., t] = c_t
        cell_caches.append(cache_t)
    return a, y, c, (cell_caches, x)


def lstm_cell_backward(da_next, dc_next, cache):
    a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters = cache
    n_a = a_next.shape[0]
    tanh_c = np.tanh(c_next)
    dc = dc_next + da_next * ot * (1.0 - tanh_c**2)
    dz = np.concatenate([
        dc * c_prev * ft * (1.0 - ft),
        dc * cct * it * (1.0 - it),
        dc * it * (1.0 - cct**2),
        da_next * tanh_c * ot * (1.0 - ot),
    ], axis=0)
    W = np.concatenate([parameters["W" + k] for k in "fico"], axis=0)
    concat = np.concatenate([a_prev, xt], axis=0)
    dconcat = np.einsum("ij,im->jm", W, dz)
    dW = np.einsum("im,jm->ij", dz, concat)
    db = np.einsum("im->i", dz)[:, None]
    gradients = {"dxt": dconcat[n_a:], "da_prev": dconcat[:n_a], "dc_prev": dc * ft}
    for j, k in enumerate("fico"):
        gradients["dW" + k] = dW[j * n_a:(j + 1) * n_a]
        gradients["db" + k] = db[j * n_a:(j + 1) * n_a]
    return gradients


def lstm_backward(da, caches):
    cell_caches, x = caches
    n_a, m, T = da.shape
    n_x = x.shape[0]
    dx = np.zeros((n_x, m, T))
    totals = {}
    for k in "fico":
        totals["dW" + k] = np.zeros((n_a, n_a + n_x))
        totals["db" + k] = np.zeros((n_a, 1))
    da_prev = np.zeros((n_a, m))
    dc_prev = np.zeros((n_a, m))
    for t in reversed(range(T)):
        g = lstm_cell_backward(da[..., t] + da_prev, dc_prev, cell_caches[t])
        dx[..., t] = g["dxt"]
        da_prev, dc_prev = g["da_prev"], g["dc_prev"]
        for k in totals:
            totals[k] += g[k]
    return {"dx": dx, "da0": da_prev, **totals}
