"""Deep Learning Specialization, course 5 week 1:
Building your Recurrent Neural Network - Step by Step.

Explicit loops: the cells go through the m examples one column at a time
(weight gradients as sums of outer products), the LSTM cell backward splits
the gradient of the concatenation [a_prev; xt] by rows. rnn_utils' softmax
and sigmoid are defined here. Examples are columns.
"""

import numpy as np


def softmax(x):
    e_x = np.exp(x - np.max(x))
    return e_x / e_x.sum(axis=0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def rnn_cell_forward(xt, a_prev, parameters):
    Wax, Waa, ba = parameters["Wax"], parameters["Waa"], parameters["ba"]
    Wya, by = parameters["Wya"], parameters["by"]
    n_a = Waa.shape[0]
    n_y = Wya.shape[0]
    m = xt.shape[1]
    a_next = np.zeros((n_a, m))
    yt_pred = np.zeros((n_y, m))
    for j in range(m):
        a_next[:, j] = np.tanh(Wax.dot(xt[:, j]) + Waa.dot(a_prev[:, j]) + ba[:, 0])
        yt_pred[:, j] = softmax(Wya.dot(a_next[:, j]) + by[:, 0])
    cache = (a_next, a_prev, xt, parameters)
    return a_next, yt_pred, cache


def rnn_forward(x, a0, parameters):
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a = np.zeros((n_a, m, T_x))
    y_pred = np.zeros((n_y, m, T_x))
    caches = []
    for t in range(T_x):
        a_prev = a0 if t == 0 else a[:, :, t - 1]
        a[:, :, t], y_pred[:, :, t], cache = rnn_cell_forward(x[:, :, t], a_prev, parameters)
        caches.append(cache)
    return a, y_pred, (caches, x)


def rnn_cell_backward(da_next, cache):
    a_next, a_prev, xt, parameters = cache
    Wax, Waa = parameters["Wax"], parameters["Waa"]
    n_x, m = xt.shape
    n_a = a_next.shape[0]
    dxt = np.zeros((n_x, m))
    da_prev = np.zeros((n_a, m))
    dWax = np.zeros((n_a, n_x))
    dWaa = np.zeros((n_a, n_a))
    dba = np.zeros((n_a, 1))
    for j in range(m):
        dtanh = (1 - a_next[:, j] ** 2) * da_next[:, j]
        dxt[:, j] = Wax.T.dot(dtanh)
        da_prev[:, j] = Waa.T.dot(dtanh)
        dWax += np.outer(dtanh, xt[:, j])
        dWaa += np.outer(dtanh, a_prev[:, j])
        dba[:, 0] += dtanh
    return {"dxt": dxt, "da_prev": da_prev, "dWax": dWax, "dWaa": dWaa, "dba": dba}


def rnn_backward(da, caches):
    caches, x = caches
    n_a, m, T_x = da.shape
    n_x = x.shape[0]
    dx = np.zeros((n_x, m, T_x))
    dWax = np.zeros((n_a, n_x))
    dWaa = np.zeros((n_a, n_a))
    dba = np.zeros((n_a, 1))
    da_prevt = np.zeros((n_a, m))
    t = T_x - 1
    while t >= 0:
        gradients = rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])
        dx[:, :, t] = gradients["dxt"]
        da_prevt = gradients["da_prev"]
        dWax += gradients["dWax"]
        dWaa += gradients["dWaa"]
        dba += gradients["dba"]
        t -= 1
    return {"dx": dx, "da0": da_prevt, "dWax": dWax, "dWaa": dWaa, "dba": dba}


def lstm_cell_forward(xt, a_prev, c_prev, parameters):
    n_x, m = xt.shape
    n_a = a_prev.shape[0]
    n_y = parameters["Wy"].shape[0]
    a_next = np.zeros((n_a, m))
    c_next = np.zeros((n_a, m))
    yt_pred = np.zeros((n_y, m))
    ft = np.zeros((n_a, m))
    it = np.zeros((n_a, m))
    cct = np.zeros((n_a, m))
    ot = np.zeros((n_a, m))
    for j in range(m):
        concat = np.concatenate((a_prev[:, j], xt[:, j]))
        ft[:, j] = sigmoid(parameters["Wf"].dot(concat) + parameters["bf"][:, 0])
        it[:, j] = sigmoid(parameters["Wi"].dot(concat) + parameters["bi"][:, 0])
        cct[:, j] = np.tanh(parameters["Wc"].dot(concat) + parameters["bc"][:, 0])
        ot[:, j] = sigmoid(parameters["Wo"].dot(concat) + parameters["bo"][:, 0])
        c_next[:, j] = ft[:, j] * c_prev[:, j] + it[:, j] * cct[:, j]
        a_next[:, j] = ot[:, j] * np.tanh(c_next[:, j])
        yt_pred[:, j] = softmax(parameters["Wy"].dot(a_next[:, j]) + parameters["by"][:, 0])
    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    return a_next, c_next, yt_pred, cache


def lstm_forward(x, a0, parameters):
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape
    a = np.zeros((n_a, m, T_x))
    c = np.zeros((n_a, m, T_x))
    y = np.zeros((n_y, m, T_x))
    caches = []
    a_next = a0
    c_next = np.zeros((n_a, m))
    for t in range(T_x):
        a_next, c_next, yt, cache = lstm_cell_forward(x[:, :, t], a_next, c_next, parameters)
        a[:, :, t] = a_next
        y[:, :, t] = yt
        caches.append(cache)
    return a, y, c, (caches, x)


def lstm_cell_backward(da_next, dc_next, cache):
    a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters = cache
    n_x, m = xt.shape
    n_a = a_next.shape[0]
    gradients = {"dxt": np.zeros((n_x, m)), "da_prev": np.zeros((n_a, m)), "dc_prev": np.zeros((n_a, m))}
    for gate in "fico":
        gradients["dW" + gate] = np.zeros((n_a, n_a + n_x))
        gradients["db" + gate] = np.zeros((n_a, 1))
    for j in range(m):
        tanh_c = np.tanh(c_next[:, j])
        dc = dc_next[:, j] + da_next[:, j] * ot[:, j] * (1 - tanh_c**2)
        dgate = {
            "f": dc * c_prev[:, j] * ft[:, j] * (1 - ft[:, j]),
            "i": dc * cct[:, j] * it[:, j] * (1 - it[:, j]),
            "c": dc * it[:, j] * (1 - cct[:, j] ** 2),
            "o": da_next[:, j] * tanh_c * ot[:, j] * (1 - ot[:, j]),
        }
        concat = np.concatenate((a_prev[:, j], xt[:, j]))
        dconcat = np.zeros(n_a + n_x)
        for gate in "fico":
            dconcat += parameters["W" + gate].T.dot(dgate[gate])
            gradients["dW" + gate] += np.outer(dgate[gate], concat)
            gradients["db" + gate][:, 0] += dgate[gate]
        gradients["da_prev"][:, j] = dconcat[:n_a]
        gradients["dxt"][:, j] = dconcat[n_a:]
        gradients["dc_prev"][:, j] = dc * ft[:, j]
    return gradients


def lstm_backward(da, caches):
    caches, x = caches
    n_a, m, T_x = da.shape
    n_x = x.shape[0]
    dx = np.zeros((n_x, m, T_x))
    grads = {}
    for gate in "fico":
        grads["dW" + gate] = np.zeros((n_a, n_a + n_x))
        grads["db" + gate] = np.zeros((n_a, 1))
    da_prevt = np.zeros((n_a, m))
    dc_prevt = np.zeros((n_a, m))
    t = T_x - 1
    while t >= 0:
        gradients = lstm_cell_backward(da[:, :, t] + da_prevt, dc_prevt, caches[t])
        dx[:, :, t] = gradients["dxt"]
        da_prevt = gradients["da_prev"]
        dc_prevt = gradients["dc_prev"]
        for key in grads:
            grads[key] += gradients[key]
        t -= 1
    return {"dx": dx, "da0": da_prevt, "dWf": grads["dWf"], "dbf": grads["dbf"], "dWi": grads["dWi"],
            "dbi": grads["dbi"], "dWc": grads["dWc"], "dbc": grads["dbc"], "dWo": grads["dWo"], "dbo": grads["dbo"]}
