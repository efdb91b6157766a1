"""Building your Deep Neural Network: Step by Step (course 1, week 4).

Written with einsum; L_model_forward and L_model_backward are written out in
full (sigmoid + cross-entropy combined: dZ = AL - Y for the output layer).
Includes the dnn_utils helpers.
"""

import numpy as np


def sigmoid(Z):
    A = 0.5 * (1.0 + np.tanh(0.5 * Z))
    cache = Z
    return A, cache


def relu(Z):
    A = np.where(Z > 0, Z, 0.0)
    cache = Z
    return A, cache


def relu_backward(dA, cache):
    dZ = np.where(dA > 0, dA, 0.0)
    return dZ


def sigmoid_backward(dA, cache):
    Z = cache
    s = 0.5 * (1.0 + np.tanh(0.5 * Z))
    dZ = dA * s * (1.0 - s)
    return dZ


def linear_forward(A, W, b):
    Z = np.einsum("ij,jk->ik", W, A) + b
    cache = (A, W, b)
    return Z, cache


def linear_activation_forward(A_prev, W, b, activation):
    Z = np.einsum("ij,jk->ik", W, A_prev) + b
    if activation == "sigmoid":
        A = 0.5 * (1.0 + np.tanh(0.5 * Z))
    else:
        A = np.where(Z > 0, Z, 0.0)
    cache = ((A_prev, W, b), Z)
    return A, cache


def L_model_forward(X, parameters):
    L = len(parameters) // 2
    A = X
    caches = []
    for layer in range(1, L + 1):
        W, b = parameters["W" + str(layer)], parameters["b" + str(layer)]
        Z = np.einsum("ij,jk->ik", W, A) + b
        caches.append(((A, W, b), Z))
        A = 0.5 * (1.0 + np.tanh(0.5 * Z)) if layer == L else np.where(Z > 0, Z, 0.0)
    return A, caches


def compute_cost(AL, Y):
    m = AL.shape[1]
    log_likelihood = np.einsum("ij,ij->", Y, np.log(AL)) + np.einsum("ij,ij->", 1 - Y, np.log(1 - AL))
    cost = -log_likelihood / m
    return cost


def linear_backward(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = np.einsum("ik,jk->ij", dZ, A_prev) / m
    db = np.einsum("ik->i", dZ)[:, None] / m
    dA_prev = np.einsum("ij,ik->jk", W, dZ)
    return dA_prev, dW, db


def linear_activation_backward(dA, cache, activation):
    (A_prev, W, b), Z = cache
    m = A_prev.shape[1]
    if activation == "sigmoid":
        s = 0.5 * (1.0 + np.tanh(0.5 * Z))
        dZ = dA * s * (1.0 - s)
    else:
        dZ = dA * (Z > 0)
    dW = np.einsum("ik,jk->ij", dZ, A_prev) / m
    db = np.einsum("ik->i", dZ)[:, None] / m
    dA_prev = np.einsum("ij,ik->jk", W, dZ)
    return dA_prev, dW, db


def L_model_backward(AL, Y, caches):
    # sigmoid + cross-entropy combined: dZ of the last layer is AL - Y
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    dZ = AL - Y
    for layer in range(L, 0, -1):
        (A_prev, W, b), Z = caches[layer - 1]
        if layer < L:
            dZ = grads["dA" + str(layer)] * (Z > 0)
        m = A_prev.shape[1]
        grads["dW" + str(layer)] = np.einsum("ik,jk->ij", dZ, A_prev) / m
        grads["db" + str(layer)] = np.einsum("ik->i", dZ)[:, None] / m
        grads["dA" + str(layer - 1)] = np.einsum("ij,ik->jk", W, dZ)
    return grads
