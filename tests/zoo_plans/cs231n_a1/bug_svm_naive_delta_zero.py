"""CS231n assignment 1: softmax and SVM losses.

Everything with loops: element by element in the naive versions, one example
at a time in the 'vectorized' versions.
"""

import numpy as np


def softmax_loss_naive(W, X, y, reg):
    N, D = X.shape
    C = W.shape[1]
    loss = 0.0
    dW = np.zeros((D, C))
    for i in range(N):
        scores = np.zeros(C)
        for j in range(C):
            for d in range(D):
                scores[j] += X[i, d] * W[d, j]
        shift = max(scores)
        denom = 0.0
        for j in range(C):
            denom += np.exp(scores[j] - shift)
        loss -= (scores[y[i]] - shift) - np.log(denom)
        for j in range(C):
            p = np.exp(scores[j] - shift) / denom
            indicator = 1.0 if j == y[i] else 0.0
            for d in range(D):
                dW[d, j] += (p - indicator) * X[i, d]
    loss = loss / N
    dW = dW / N
    for d in range(D):
        for j in range(C):
            loss += reg * W[d, j] ** 2
            dW[d, j] += 2.0 * reg * W[d, j]
    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    # one example at a time, vector operations over the classes
    N = X.shape[0]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(N):
        s = X[i] @ W
        s = s - s.max()
        p = np.exp(s) / np.exp(s).sum()
        loss += -np.log(p[y[i]])
        p[y[i]] -= 1.0
        dW += np.outer(X[i], p)
    loss = loss / N + reg * np.sum(W ** 2)
    dW = dW / N + 2.0 * reg * W
    return loss, dW


def svm_loss_naive(W, X, y, reg):
    N, D = X.shape
    C = W.shape[1]
    loss = 0.0
    dW = np.zeros((D, C))
    for i in range(N):
        scores = [sum(X[i, d] * W[d, j] for d in range(D)) for j in range(C)]
        for j in range(C):
            if j != y[i]:
                margin = scores[j] - scores[y[i]]
                if margin > 0:
                    loss += margin
                    for d in range(D):
                        dW[d, j] += X[i, d]
                        dW[d, y[i]] -= X[i, d]
    loss /= N
    dW /= N
    for d in range(D):
        for j in range(C):
            loss += reg * W[d, j] * W[d, j]
            dW[d, j] += 2 * reg * W[d, j]
    return loss, dW


def svm_loss_vectorized(W, X, y, reg):
    # one example at a time, vector operations over the classes
    N = X.shape[0]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(N):
        s = X[i] @ W
        margins = np.maximum(0.0, s - s[y[i]] + 1.0)
        margins[y[i]] = 0.0
        loss += margins.sum()
        coeff = (margins > 0).astype(float)
        coeff[y[i]] = -coeff.sum()
        dW += np.outer(X[i], coeff)
    loss = loss / N + reg * np.sum(W ** 2)
    dW = dW / N + 2.0 * reg * W
    return loss, dW
