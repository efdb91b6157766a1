"""Reference of the Deep Learning Specialization, course 5 week 1, "Building your Recurrent Neural
Network - Step by Step" (with its ``rnn_utils`` softmax and sigmoid), float64, forward and backward
side by side. Examples are COLUMNS: xt (n_x, m), x (n_x, m, T_x), a (n_a, m, T_x).

    rnn_cell_forward(xt, a_prev, parameters) -> (a_next, yt_pred, cache)
                        parameters {"Wax" (n_a, n_x), "Waa" (n_a, n_a), "Wya" (n_y, n_a), "ba" (n_a, 1),
                        "by" (n_y, 1)}; a_next = tanh(Wax xt + Waa a_prev + ba),
                        yt_pred = softmax(Wya a_next + by) over axis 0; cache (a_next, a_prev, xt, parameters)
    rnn_forward(x, a0, parameters) -> (a, y_pred, caches)       caches (list of the T_x cell caches, x)
    rnn_cell_backward(da_next, cache) -> {"dxt", "da_prev", "dWax", "dWaa", "dba"}
    rnn_backward(da, caches) -> {"dx", "da0", "dWax", "dWaa", "dba"}
    lstm_cell_forward(xt, a_prev, c_prev, parameters) -> (a_next, c_next, yt_pred, cache)
                        parameters {"Wf", "Wi", "Wc", "Wo" (n_a, n_a + n_x), "bf", "bi", "bc", "bo" (n_a, 1),
                        "Wy" (n_y, n_a), "by" (n_y, 1)}; every gate sees the concatenation [a_prev; xt]
                        (a_prev's rows first): ft, it, ot = sigmoid(W [a_prev; xt] + b), cct = tanh(...),
                        c_next = ft * c_prev + it * cct, a_next = ot * tanh(c_next), yt_pred = softmax(Wy a_next + by);
                        cache (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    lstm_forward(x, a0, parameters) -> (a, y, c, caches)        c starts at zero; caches (list, x)
    lstm_cell_backward(da_next, dc_next, cache) -> {"dxt", "da_prev", "dc_prev", "dWf", "dbf", "dWi", "dbi",
                                                    "dWc", "dbc", "dWo", "dbo"}
    lstm_backward(da, caches) -> {"dx", "da0", "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo"}

Every db is summed over the m examples with keepdims (shape (n_a, 1)); nothing is divided by m
(the notebook: "it is assumed that loss has been adjusted for batch size"). What each backward is
the gradient of, a the stacked hidden states of the forward:

- rnn_cell_backward: of sum(da_next * a_next) w.r.t. xt, a_prev, Wax, Waa, ba.
- rnn_backward(da, caches): of sum(da * a[:, :, :T]) w.r.t. x[:, :, :T], a0, Wax, Waa, ba, with
  T = da.shape[2] (the notebook takes T_x from da, so a da shorter than the forward covers its first
  T steps; dx then has T steps). da is only the upstream gradient of the hidden states: the y_pred
  branch (Wya, by, the softmax) is not backpropagated, the notebook leaves it out.
- lstm_cell_backward: of sum(da_next * a_next + dc_next * c_next) w.r.t. xt, a_prev, c_prev and the
  gate weights and biases (Wy, by untouched).
- lstm_backward(da, caches): of sum(da * a[:, :, :T]) w.r.t. x[:, :, :T], a0 and the gate weights,
  T = da.shape[2], c0 = 0 a constant: each cell gets da[:, :, t] + the da_prev of the cell after it.

Versions (read from public copies of the notebook; the backward part is ungraded in all of them):
the 2021-on notebook ("UNGRADED FUNCTION: lstm_backward", test variables ``*_tmp``, e.g. a copy
with "gradients_tmp" and expected da0[2][3] = 0.312770310257) feeds da[:, :, t] + da_prevt to each
cell, as this module does. The earlier notebook (2018 to the 2021 revision, "### START CODE HERE
###"; e.g. antonio-f/Building_a_Recurrent_Neural_Network_Step_by_Step) printed an expected output
(da0[2][3] = -0.095911501954) that comes from calling lstm_cell_backward(da[:, :, t], dc_prevt, ...)
with neither da_prevt nor dc_prevt ever updated (both stay zero): every cell is differentiated on
its own, nothing flows back through time. That is not the gradient of sum(da * a) but of the same
sum with each cell's inputs a_prev and c_prev held constant (truncation after one step); da0 is the
t = 0 cell's da_prev. ``lstm_backward_legacy`` reproduces it (to the printed digits).
rnn_backward's expected output is the same in both (da[:, :, t] + da_prevt). The earlier text's
LSTM equations also had typos (c~_prev for c_prev in dGamma_f; "W_f = W_f[:n_a, :]" for the
columns W_f[:, :n_a]), fixed in 2021. Docstring slips kept in every version: rnn_cell_backward
documents "dx" but returns the key "dxt"; lstm_cell_backward gives dc_prev the shape
(n_a, m, T_x), it is (n_a, m).
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def softmax(z: Array) -> Array:
    """Softmax over axis 0 (each column an example), as rnn_utils.softmax."""
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _sigmoid(z: Array) -> Array:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# --- basic RNN -------------------------------------------------------------------------------------


def rnn_cell_forward(xt: Array, a_prev: Array, parameters: dict[str, Array]) -> tuple[Array, Array, tuple]:
    """a_next = tanh(Wax xt + Waa a_prev + ba) (n_a, m), yt_pred = softmax(Wya a_next + by) (n_y, m);
    cache (a_next, a_prev, xt, parameters)."""
    a_next = np.tanh(parameters["Wax"] @ xt + parameters["Waa"] @ a_prev + parameters["ba"])
    yt_pred = softmax(parameters["Wya"] @ a_next + parameters["by"])
    return a_next, yt_pred, (a_next, a_prev, xt, parameters)


def rnn_forward(x: Array, a0: Array, parameters: dict[str, Array]) -> tuple[Array, Array, tuple[list, Array]]:
    """a (n_a, m, T_x), y_pred (n_y, m, T_x) by rnn_cell_forward from a0; caches (list of cell caches, x)."""
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a = np.zeros((n_a, m, T_x))
    y_pred = np.zeros((n_y, m, T_x))
    caches = []
    a_next = a0
    for t in range(T_x):
        a_next, y_pred[:, :, t], cache = rnn_cell_forward(x[:, :, t], a_next, parameters)
        a[:, :, t] = a_next
        caches.append(cache)
    return a, y_pred, (caches, x)


def rnn_cell_backward(da_next: Array, cache: tuple) -> dict[str, Array]:
    """The gradient of sum(da_next * a_next): {"dxt" (n_x, m), "da_prev" (n_a, m), "dWax", "dWaa",
    "dba" (n_a, 1)}."""
    a_next, a_prev, xt, parameters = cache
    dz = (1.0 - a_next**2) * da_next
    return {"dxt": parameters["Wax"].T @ dz, "da_prev": parameters["Waa"].T @ dz,
            "dWax": dz @ xt.T, "dWaa": dz @ a_prev.T, "dba": dz.sum(axis=1, keepdims=True)}


def rnn_backward(da: Array, caches: tuple[list, Array]) -> dict[str, Array]:
    """The gradient of sum(da * a[:, :, :T]), T = da.shape[2]: {"dx" (n_x, m, T), "da0" (n_a, m),
    "dWax", "dWaa", "dba" (n_a, 1)}; each cell gets da[:, :, t] plus the da_prev of the next."""
    cells, _ = caches
    n_a, m, T = da.shape
    n_x = cells[0][2].shape[0]
    dx = np.zeros((n_x, m, T))
    dWax, dWaa, dba = np.zeros((n_a, n_x)), np.zeros((n_a, n_a)), np.zeros((n_a, 1))
    da_prev = np.zeros((n_a, m))
    for t in reversed(range(T)):
        step = rnn_cell_backward(da[:, :, t] + da_prev, cells[t])
        dx[:, :, t], da_prev = step["dxt"], step["da_prev"]
        dWax += step["dWax"]
        dWaa += step["dWaa"]
        dba += step["dba"]
    return {"dx": dx, "da0": da_prev, "dWax": dWax, "dWaa": dWaa, "dba": dba}


# --- LSTM ------------------------------------------------------------------------------------------


def lstm_cell_forward(xt: Array, a_prev: Array, c_prev: Array,
                      parameters: dict[str, Array]) -> tuple[Array, Array, Array, tuple]:
    """One LSTM step on concat = [a_prev; xt]; returns (a_next, c_next (n_a, m), yt_pred (n_y, m),
    cache (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters))."""
    concat = np.concatenate([a_prev, xt], axis=0)
    ft = _sigmoid(parameters["Wf"] @ concat + parameters["bf"])
    it = _sigmoid(parameters["Wi"] @ concat + parameters["bi"])
    cct = np.tanh(parameters["Wc"] @ concat + parameters["bc"])
    ot = _sigmoid(parameters["Wo"] @ concat + parameters["bo"])
    c_next = ft * c_prev + it * cct
    a_next = ot * np.tanh(c_next)
    yt_pred = softmax(parameters["Wy"] @ a_next + parameters["by"])
    return a_next, c_next, yt_pred, (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)


def lstm_forward(x: Array, a0: Array, parameters: dict[str, Array]) -> tuple[Array, Array, Array, tuple[list, Array]]:
    """a, c (n_a, m, T_x) and y (n_y, m, T_x) by lstm_cell_forward from a0 and a zero cell state;
    caches (list of cell caches, x)."""
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape
    a, c, y = np.zeros((n_a, m, T_x)), np.zeros((n_a, m, T_x)), np.zeros((n_y, m, T_x))
    caches = []
    a_next, c_next = a0, np.zeros((n_a, m))
    for t in range(T_x):
        a_next, c_next, y[:, :, t], cache = lstm_cell_forward(x[:, :, t], a_next, c_next, parameters)
        a[:, :, t], c[:, :, t] = a_next, c_next
        caches.append(cache)
    return a, y, c, (caches, x)


def lstm_cell_backward(da_next: Array, dc_next: Array, cache: tuple) -> dict[str, Array]:
    """The gradient of sum(da_next * a_next + dc_next * c_next): dxt (n_x, m), da_prev, dc_prev (n_a, m),
    dW* (n_a, n_a + n_x) and db* (n_a, 1) of the gates f, i, c, o."""
    a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters = cache
    n_a = a_next.shape[0]
    tanh_c = np.tanh(c_next)
    dc = dc_next + ot * (1.0 - tanh_c**2) * da_next
    gates = {"f": dc * c_prev * ft * (1.0 - ft), "i": dc * cct * it * (1.0 - it),
             "c": dc * it * (1.0 - cct**2), "o": da_next * tanh_c * ot * (1.0 - ot)}
    concat = np.concatenate([a_prev, xt], axis=0)
    dconcat = sum(parameters[f"W{gate}"].T @ dgate for gate, dgate in gates.items())
    gradients = {"dxt": dconcat[n_a:], "da_prev": dconcat[:n_a], "dc_prev": dc * ft}
    for gate, dgate in gates.items():
        gradients[f"dW{gate}"] = dgate @ concat.T
        gradients[f"db{gate}"] = dgate.sum(axis=1, keepdims=True)
    return gradients


def _lstm_backward(da: Array, caches: tuple[list, Array], recurrent: bool) -> dict[str, Array]:
    cells, _ = caches
    n_a, m, T = da.shape
    n_x = cells[0][8].shape[0]
    dx = np.zeros((n_x, m, T))
    sums = {f"{kind}{gate}": np.zeros((n_a, n_a + n_x) if kind == "dW" else (n_a, 1))
            for kind in ("dW", "db") for gate in "fico"}
    da_prev, dc_prev = np.zeros((n_a, m)), np.zeros((n_a, m))
    for t in reversed(range(T)):
        if recurrent:
            step = lstm_cell_backward(da[:, :, t] + da_prev, dc_prev, cells[t])
        else:
            step = lstm_cell_backward(da[:, :, t], np.zeros((n_a, m)), cells[t])
        dx[:, :, t], da_prev, dc_prev = step["dxt"], step["da_prev"], step["dc_prev"]
        for key in sums:
            sums[key] += step[key]
    return {"dx": dx, "da0": da_prev, **{key: sums[key] for key in
                                         ("dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo")}}


def lstm_backward(da: Array, caches: tuple[list, Array]) -> dict[str, Array]:
    """The gradient of sum(da * a[:, :, :T]), T = da.shape[2] (2021 on): {"dx" (n_x, m, T),
    "da0" (n_a, m), "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo"}."""
    return _lstm_backward(da, caches, recurrent=True)


def lstm_backward_legacy(da: Array, caches: tuple[list, Array]) -> dict[str, Array]:
    """The pre-2021 expected output: each cell on its own, da_next = da[:, :, t], dc_next = 0 (no
    gradient through time); the gradient of sum(da * a) with each cell's a_prev, c_prev held constant."""
    return _lstm_backward(da, caches, recurrent=False)
