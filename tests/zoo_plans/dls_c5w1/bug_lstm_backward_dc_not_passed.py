"""Deep Learning Specialization, course 5 week 1:
Building your Recurrent Neural Network - Step by Step.

Caches are dicts and the sequence functions collect lists that are stacked at
the end; gradients are accumulated with x = x + y in a dict. sigmoid is
written with tanh and softmax without the max shift (fine for moderate
scores). Examples are columns.
"""

import numpy as np


def softmax(x):
    e_x = np.exp(x)
    return e_x / e_x.sum(axis=0, keepdims=True)


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def rnn_cell_forward(xt, a_prev, parameters):
    p = parameters
    a_next = np.tanh(p["Wax"] @ xt + p["Waa"] @ a_prev + p["ba"])
    yt_pred = softmax(p["Wya"] @ a_next + p["by"])
    cache = {"a_next": a_next, "a_prev": a_prev, "xt": xt, "parameters": parameters}
    return a_next, yt_pred, cache


def rnn_forward(x, a0, parameters):
    a_list = []
    y_list = []
    cell_caches = []
    a_next = a0
    for t in range(x.shape[2]):
        a_next, yt_pred, cache = rnn_cell_forward(x[:, :, t], a_next, parameters)
        a_list.append(a_next)
        y_list.append(yt_pred)
        cell_caches.append(cache)
    a = np.stack(a_list, axis=2)
    y_pred = np.stack(y_list, axis=2)
    return a, y_pred, (cell_caches, x)


def rnn_cell_backward(da_next, cache):
    p = cache["parameters"]
    dz = da_next * (1 - cache["a_next"] ** 2)
    return {
        "dxt": p["Wax"].T @ dz,
        "da_prev": p["Waa"].T @ dz,
        "dWax": dz @ cache["xt"].T,
        "dWaa": dz @ cache["a_prev"].T,
        "dba": dz.sum(axis=1, keepdims=True),
    }


def rnn_backward(da, caches):
    cell_caches, x = caches
    T = da.shape[2]
    sums = {"dWax": 0.0, "dWaa": 0.0, "dba": 0.0}
    dx_list = []
    da_prev = np.zeros(da.shape[:2])
    for t in range(T - 1, -1, -1):
        da_next = da[:, :, t] + da_prev
        grads = rnn_cell_backward(da_next, cell_caches[t])
        dx_list.insert(0, grads["dxt"])
        da_prev = grads["da_prev"]
        for name in sums:
            sums[name] = sums[name] + grads[name]
    return {"dx": np.stack(dx_list, axis=2), "da0": da_prev, "dWax": sums["dWax"], "dWaa": sums["dWaa"],
            "dba": sums["dba"]}


def lstm_cell_forward(xt, a_prev, c_prev, parameters):
    p = parameters
    concat = np.vstack((a_prev, xt))
    ft = sigmoid(p["Wf"] @ concat + p["bf"])
    it = sigmoid(p["Wi"] @ concat + p["bi"])
    cct = np.tanh(p["Wc"] @ concat + p["bc"])
    ot = sigmoid(p["Wo"] @ concat + p["bo"])
    c_next = ft * c_prev + it * cct
    a_next = ot * np.tanh(c_next)
    yt_pred = softmax(p["Wy"] @ a_next + p["by"])
    cache = {"a_next": a_next, "c_next": c_next, "a_prev": a_prev, "c_prev": c_prev, "ft": ft, "it": it,
             "cct": cct, "ot": ot, "xt": xt, "parameters": parameters}
    return a_next, c_next, yt_pred, cache


def lstm_forward(x, a0, parameters):
    a_list, c_list, y_list, cell_caches = [], [], [], []
    a_next = a0
    c_next = np.zeros_like(a0)
    for t in range(x.shape[2]):
        a_next, c_next, yt, cache = lstm_cell_forward(x[:, :, t], a_next, c_next, parameters)
        a_list.append(a_next)
        c_list.append(c_next)
        y_list.append(yt)
        cell_caches.append(cache)
    a = np.stack(a_list, axis=2)
    y = np.stack(y_list, axis=2)
    c = np.stack(c_list, axis=2)
    return a, y, c, (cell_caches, x)


def lstm_cell_backward(da_next, dc_next, cache):
    p = cache["parameters"]
    ft, it, cct, ot = cache["ft"], cache["it"], cache["cct"], cache["ot"]
    n_a = da_next.shape[0]
    tanh_c = np.tanh(cache["c_next"])
    dc = dc_next + da_next * ot * (1 - tanh_c**2)
    dgates = {
        "f": dc * cache["c_prev"] * ft * (1 - ft),
        "i": dc * cct * it * (1 - it),
        "c": dc * it * (1 - cct**2),
        "o": da_next * tanh_c * ot * (1 - ot),
    }
    concat = np.vstack((cache["a_prev"], cache["xt"]))
    dconcat = 0.0
    gradients = {}
    for gate, dgate in dgates.items():
        dconcat = dconcat + p["W" + gate].T @ dgate
        gradients["dW" + gate] = dgate @ concat.T
        gradients["db" + gate] = dgate.sum(axis=1, keepdims=True)
    gradients["da_prev"] = dconcat[:n_a]
    gradients["dxt"] = dconcat[n_a:]
    gradients["dc_prev"] = dc * ft
    return gradients


def lstm_backward(da, caches):
    cell_caches, x = caches
    T = da.shape[2]
    keys = ["dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo"]
    sums = dict.fromkeys(keys, 0.0)
    dx_list = []
    da_prev = np.zeros(da.shape[:2])
    dc_prev = np.zeros(da.shape[:2])
    for t in range(T - 1, -1, -1):
        da_next = da[:, :, t] + da_prev
        grads = lstm_cell_backward(da_next, dc_prev, cell_caches[t])
        dx_list.insert(0, grads["dxt"])
        da_prev = grads["da_prev"]
        for name in keys:
            sums[name] = sums[name] + grads[name]
    return {"dx": np.stack(dx_list, axis=2), "da0": da_prev, **sums}
