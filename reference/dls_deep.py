"""Reference of the Deep Learning Specialization, course 1 week 4, "Building your Deep Neural
Network: Step by Step" (and its helpers ``dnn_utils``), float64, forward and backward side by
side. Examples are COLUMNS: X (n_x, m), A^[l] (n_l, m), W^[l] (n_l, n_{l-1}), b^[l] (n_l, 1).

    sigmoid(Z) -> (A, cache=Z)                 relu(Z) -> (A, cache=Z)
    sigmoid_backward(dA, cache) -> dZ          relu_backward(dA, cache) -> dZ
    linear_forward(A, W, b) -> (Z, cache=(A, W, b))                  Z = W A + b
    linear_activation_forward(A_prev, W, b, activation) -> (A, cache=(linear_cache, activation_cache))
                                               activation "relu" or "sigmoid"
    L_model_forward(X, parameters) -> (AL, caches)                   parameters {"W1", "b1", ..., "WL", "bL"};
                                               relu for layers 1..L-1, sigmoid for layer L; caches a list of L
    compute_cost(AL, Y) -> cost                AL, Y (1, m); mean cross-entropy over the m examples
    linear_backward(dZ, cache) -> (dA_prev, dW, db)
    linear_activation_backward(dA, cache, activation) -> (dA_prev, dW, db)
    L_model_backward(AL, Y, caches) -> grads   {"dA0", ..., "dA{L-1}", "dW1", ..., "dWL", "db1", ..., "dbL"}
    update_parameters(params, grads, learning_rate) -> parameters    a new dict: W -= lr dW, b -= lr db

What each backward is the gradient of (the course puts the 1/m of the mean cost into
linear_backward, so the dA's and the dW, db's are gradients of different scalars):

- relu_backward(dA, Z) = d/dZ sum(dA * relu(Z)) (0 where Z <= 0, the course's choice at the kink);
  sigmoid_backward(dA, Z) = d/dZ sum(dA * sigmoid(Z)).
- linear_backward(dZ, (A, W, b)) with S = sum(dZ * (W A + b)) and m = A.shape[1]:
  dA_prev = W^T dZ = dS/dA, dW = dZ A^T / m = (1/m) dS/dW, db = sum(dZ, axis=1, keepdims=True) / m
  = (1/m) dS/db. linear_activation_backward likewise with S = sum(dA * g(W A_prev + b)).
- L_model_backward(AL, Y, caches), with AL the output of L_model_forward(X, parameters) and
  J = compute_cost(AL, Y): grads["dW" + str(l)] = dJ/dW^[l] and grads["db" + str(l)] = dJ/db^[l]
  (the mean cost), while grads["dA" + str(l)] = m dJ/dA^[l] = the gradient of the SUMMED cross-entropy
  m J with respect to A^[l] (dAL = -(Y/AL - (1-Y)/(1-AL)) is not divided by m). dA0 is m dJ/dX.

Versions (read from public copies of the notebook and of its public_tests.py, e.g.
Silva-6/deeplearning.AI-deep_learning, 0-neural_networks-nd-deep_learning/3-step_by_step-build_your_DNN):

- grads keys. The current notebook (2021 on, "# YOUR CODE STARTS HERE", public_tests.py checks
  dA0, dA1, dW1, db1, dW2, db2 for L = 2) stores the gradient of A^[l] under "dA" + str(l),
  l = 0..L-1: grads["dA" + str(L-1)] from the sigmoid layer, grads["dA" + str(l)] in the loop.
  The earlier notebook (2017-2020, "### START CODE HERE ###") stored it one index higher,
  "dA" + str(l + 1) = gradient of A^[l], so keys dA1..dAL, with no dA0
  (grads["dA" + str(L)] from the sigmoid layer, the loop reading grads["dA" + str(l + 2)]).
  dW, db keys are the same in both. ``L_model_backward_legacy`` returns the earlier keys.
- update_parameters: the current notebook is update_parameters(params, grads, learning_rate) and
  returns a deep copy; the earlier one, update_parameters(parameters, grads, learning_rate),
  rebinds the entries of the dict it is given (the caller's dict changes). This reference never
  changes its arguments.
- compute_cost returns np.squeeze of a (1, 1) array: a 0-d numpy ndarray (shape (), not a numpy
  scalar nor a Python float), as the course's np.dot form does; a student's np.sum form gives an
  np.float64 (also shape ()). The earlier notebook asserted cost.shape == (), which a Python float
  fails; the current public test compares values only.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

Array = np.ndarray
LinearCache = tuple[Array, Array, Array]
Cache = tuple[LinearCache, Array]


# --- activations (dnn_utils) -----------------------------------------------------------------


def sigmoid(Z: Array) -> tuple[Array, Array]:
    """A = 1 / (1 + exp(-Z)); cache Z."""
    return 1.0 / (1.0 + np.exp(-Z)), Z


def relu(Z: Array) -> tuple[Array, Array]:
    """A = max(0, Z); cache Z."""
    return np.maximum(0.0, Z), Z


def relu_backward(dA: Array, cache: Array) -> Array:
    """dZ = dA where Z > 0, else 0: the gradient of sum(dA * relu(Z))."""
    return dA * (cache > 0)


def sigmoid_backward(dA: Array, cache: Array) -> Array:
    """dZ = dA * s * (1 - s), s = sigmoid(Z): the gradient of sum(dA * sigmoid(Z))."""
    s = 1.0 / (1.0 + np.exp(-cache))
    return dA * s * (1.0 - s)


_ACTIVATIONS = {"relu": (relu, relu_backward), "sigmoid": (sigmoid, sigmoid_backward)}


def _activation(name: str):
    if name not in _ACTIVATIONS:
        raise ValueError(f'activation must be "relu" or "sigmoid", not {name!r}')
    return _ACTIVATIONS[name]


# --- forward -------------------------------------------------------------------------------------


def linear_forward(A: Array, W: Array, b: Array) -> tuple[Array, LinearCache]:
    """Z = W A + b, shape (n_l, m); cache (A, W, b)."""
    return W @ A + b, (A, W, b)


def linear_activation_forward(A_prev: Array, W: Array, b: Array, activation: str) -> tuple[Array, Cache]:
    """A = g(W A_prev + b), g = relu or sigmoid; cache (linear_cache, activation_cache = Z)."""
    forward, _ = _activation(activation)
    Z, linear_cache = linear_forward(A_prev, W, b)
    A, activation_cache = forward(Z)
    return A, (linear_cache, activation_cache)


def L_model_forward(X: Array, parameters: dict[str, Array]) -> tuple[Array, list[Cache]]:
    """[LINEAR -> RELU] * (L-1) -> LINEAR -> SIGMOID with L = len(parameters) // 2;
    AL (n_L, m); caches, one per layer, caches[l - 1] that of layer l."""
    L = len(parameters) // 2
    caches = []
    A = X
    for layer in range(1, L + 1):
        A, cache = linear_activation_forward(A, parameters[f"W{layer}"], parameters[f"b{layer}"],
                                             "sigmoid" if layer == L else "relu")
        caches.append(cache)
    return A, caches


def compute_cost(AL: Array, Y: Array) -> Array:
    """J = -(1/m) sum(Y log AL + (1 - Y) log(1 - AL)), m = Y.shape[1], as a 0-d array."""
    m = Y.shape[1]
    cost = -(Y @ np.log(AL).T + (1 - Y) @ np.log(1 - AL).T) / m
    return np.squeeze(cost)


# --- backward ------------------------------------------------------------------------------------


def linear_backward(dZ: Array, cache: LinearCache) -> tuple[Array, Array, Array]:
    """(dA_prev, dW, db) = (W^T dZ, dZ A^T / m, sum(dZ, axis=1, keepdims=True) / m): with
    S = sum(dZ * Z), dA_prev = dS/dA while dW and db are dS/dW and dS/db divided by m."""
    A_prev, W, _ = cache
    m = A_prev.shape[1]
    return W.T @ dZ, dZ @ A_prev.T / m, dZ.sum(axis=1, keepdims=True) / m


def linear_activation_backward(dA: Array, cache: Cache, activation: str) -> tuple[Array, Array, Array]:
    """linear_backward of the activation's dZ: with S = sum(dA * A), (dS/dA_prev, dS/dW / m, dS/db / m)."""
    _, backward = _activation(activation)
    linear_cache, activation_cache = cache
    return linear_backward(backward(dA, activation_cache), linear_cache)


def _layers_backward(AL: Array, Y: Array, caches: list[Cache]) -> list[tuple[Array, Array, Array]]:
    """(dA_prev, dW, db) of layers L, L-1, ..., 1, in that order."""
    Y = Y.reshape(AL.shape)
    dA = -(Y / AL - (1 - Y) / (1 - AL))
    L = len(caches)
    out = []
    for layer in range(L, 0, -1):
        dA, dW, db = linear_activation_backward(dA, caches[layer - 1], "sigmoid" if layer == L else "relu")
        out.append((dA, dW, db))
    return out


def L_model_backward(AL: Array, Y: Array, caches: list[Cache]) -> dict[str, Array]:
    """grads of the current notebook: "dW{l}", "db{l}" = dJ/dW^[l], dJ/db^[l] (J the mean cost),
    "dA{l}" (l = 0..L-1) = m dJ/dA^[l], the gradient of the summed cost with respect to A^[l]."""
    grads = {}
    L = len(caches)
    for layer, (dA_prev, dW, db) in zip(range(L, 0, -1), _layers_backward(AL, Y, caches), strict=True):
        grads[f"dA{layer - 1}"] = dA_prev
        grads[f"dW{layer}"] = dW
        grads[f"db{layer}"] = db
    return grads


def L_model_backward_legacy(AL: Array, Y: Array, caches: list[Cache]) -> dict[str, Array]:
    """The 2017-2020 notebook's keys: the same arrays, the gradient of A^[l] under "dA{l + 1}"
    (keys dA1..dAL)."""
    grads = L_model_backward(AL, Y, caches)
    return {(f"dA{int(key[2:]) + 1}" if key.startswith("dA") else key): value for key, value in grads.items()}


def update_parameters(params: dict[str, Array], grads: dict[str, Any], learning_rate: float) -> dict[str, Array]:
    """A new dict: W{l} - learning_rate * dW{l}, b{l} - learning_rate * db{l}, l = 1..L; the
    arguments are left as they were."""
    parameters = copy.deepcopy(params)
    for layer in range(1, len(parameters) // 2 + 1):
        parameters[f"W{layer}"] = parameters[f"W{layer}"] - learning_rate * grads[f"dW{layer}"]
        parameters[f"b{layer}"] = parameters[f"b{layer}"] - learning_rate * grads[f"db{layer}"]
    return parameters
