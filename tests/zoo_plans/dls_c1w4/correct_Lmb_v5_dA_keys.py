"""Building your Deep Neural Network: Step by Step (course 1, week 4).

First version, with loops over the examples (columns) and over the entries;
includes the dnn_utils helpers.
"""

import numpy as np


def sigmoid(Z):
    A = np.zeros(Z.shape)
    for idx in np.ndindex(*Z.shape):
        A[idx] = 1.0 / (1.0 + np.exp(-Z[idx]))
    cache = Z
    return A, cache


def relu(Z):
    A = np.zeros(Z.shape)
    for idx in np.ndindex(*Z.shape):
        A[idx] = Z[idx] if Z[idx] > 0 else 0.0
    cache = Z
    return A, cache


def relu_backward(dA, cache):
    Z = cache
    dZ = np.zeros(Z.shape)
    for idx in np.ndindex(*Z.shape):
        if Z[idx] > 0:
            dZ[idx] = dA[idx]
    return dZ


def sigmoid_backward(dA, cache):
    Z = cache
    dZ = np.zeros(Z.shape)
    for idx in np.ndindex(*Z.shape):
        s = 1.0 / (1.0 + np.exp(-Z[idx]))
        dZ[idx] = dA[idx] * s * (1.0 - s)
    return dZ


def linear_forward(A, W, b):
    n, m = W.shape[0], A.shape[1]
    Z = np.zeros((n, m))
    for i in range(m):  # one example (column) at a time
        Z[:, i] = W.dot(A[:, i]) + b[:, 0]
    cache = (A, W, b)
    return Z, cache


def linear_activation_forward(A_prev, W, b, activation):
    Z, linear_cache = linear_forward(A_prev, W, b)
    if activation == "relu":
        A, activation_cache = relu(Z)
    elif activation == "sigmoid":
        A, activation_cache = sigmoid(Z)
    else:
        raise ValueError("unknown activation " + str(activation))
    return A, (linear_cache, activation_cache)


def L_model_forward(X, parameters):
    caches = []
    L = len(parameters) // 2
    A = X
    layer = 1
    while layer <= L:
        activation = "sigmoid" if layer == L else "relu"
        A, cache = linear_activation_forward(A, parameters["W%d" % layer], parameters["b%d" % layer], activation)
        caches.append(cache)
        layer += 1
    AL = A
    return AL, caches


def compute_cost(AL, Y):
    m = Y.shape[1]
    total = 0.0
    for i in range(m):
        y, a = Y[0, i], AL[0, i]
        total += y * np.log(a) + (1 - y) * np.log(1 - a)
    cost = -total / m
    return cost


def linear_backward(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = np.zeros(W.shape)
    db = np.zeros(b.shape)
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        dW += np.outer(dZ[:, i], A_prev[:, i])
        db[:, 0] += dZ[:, i]
        dA_prev[:, i] = W.T.dot(dZ[:, i])
    dW /= m
    db /= m
    return dA_prev, dW, db


def linear_activation_backward(dA, cache, activation):
    linear_cache, activation_cache = cache
    if activation == "relu":
        dZ = relu_backward(dA, activation_cache)
    elif activation == "sigmoid":
        dZ = sigmoid_backward(dA, activation_cache)
    else:
        raise ValueError("unknown activation " + str(activation))
    return linear_backward(dZ, linear_cache)


def L_model_backward(AL, Y, caches):
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    dA = -(Y / AL - (1 - Y) / (1 - AL))
    for layer in range(L, 0, -1):
        activation = "sigmoid" if layer == L else "relu"
        dA_prev, dW, db = linear_activation_backward(dA, caches[layer - 1], activation)
        grads["dA" + str(layer)] = dA_prev
        grads["dW" + str(layer)] = dW
        grads["db" + str(layer)] = db
        dA = dA_prev
    return grads
