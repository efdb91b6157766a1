"""Building your Deep Neural Network: Step by Step (course 1, week 4).

Dispatch tables for the activations, @ for products, the cost as a Python
float via .item(). Includes the dnn_utils helpers.
"""

import numpy as np


def sigmoid(Z):
    A = np.exp(-np.logaddexp(0.0, -Z))
    cache = Z
    return A, cache


def relu(Z):
    A = Z * (Z > 0)
    cache = Z
    return A, cache


def relu_backward(dA, cache):
    Z = cache
    dZ = dA * (Z > 0).astype(float)
    return dZ


def sigmoid_backward(dA, cache):
    Z = cache
    A, _ = sigmoid(Z)
    dZ = np.multiply(dA, np.multiply(A, 1 - A))
    return dZ


def linear_forward(A, W, b):
    Z = W @ A + b
    cache = (A, W, b)
    return Z, cache


def linear_activation_forward(A_prev, W, b, activation):
    activations = {"sigmoid": sigmoid, "relu": relu}
    Z, linear_cache = linear_forward(A_prev, W, b)
    A, activation_cache = activations[activation](Z)
    cache = (linear_cache, activation_cache)
    return A, cache


def L_model_forward(X, parameters):
    caches = []
    A = X
    L = len(parameters) // 2
    for layer in range(1, L + 1):
        A, cache = linear_activation_forward(
            A, parameters["W" + str(layer)], parameters["b" + str(layer)], "relu" if layer < L else "sigmoid"
        )
        caches.append(cache)
    return A, caches


def compute_cost(AL, Y):
    m = Y.shape[1]
    cost = -(np.dot(Y, np.log(AL).T) + np.dot(1 - Y, np.log(1 - AL).T)) / m
    cost = cost.item()
    return cost


def linear_backward(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = dZ @ A_prev.T / m
    db = dZ.mean(axis=1, keepdims=True)
    dA_prev = W.T @ dZ
    return dA_prev, dW, db


def linear_activation_backward(dA, cache, activation):
    backwards = {"sigmoid": sigmoid_backward, "relu": relu_backward}
    linear_cache, activation_cache = cache
    dZ = backwards[activation](dA, activation_cache)
    return linear_backward(dZ, linear_cache)


def L_model_backward(AL, Y, caches):
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    dAL = np.divide(1 - Y, 1 - AL) - np.divide(Y, AL)
    dA = dAL
    for layer in reversed(range(1, L + 1)):
        activation = "sigmoid" if layer == L else "relu"
        dA, dW, db = linear_activation_backward(dA, caches[layer - 1], activation)
        grads["dW" + str(layer)] = dW
        grads["db" + str(layer)] = db
        grads["dA" + str(layer - 1)] = dA
    return grads
