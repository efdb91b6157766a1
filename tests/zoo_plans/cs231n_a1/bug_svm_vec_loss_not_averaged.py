"""CS231n assignment 1: softmax and SVM losses.

Uses np.add.at for the correct-class terms and returns the loss as a Python float.
"""

import numpy as np


def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    dW = np.zeros_like(W)
    num_train = X.shape[0]
    for i in range(num_train):
        f = X[i].dot(W)
        f = f - np.max(f)
        p = np.exp(f) / np.sum(np.exp(f))
        loss += -np.log(p[y[i]])
        dW += np.outer(X[i], p)
        dW[:, y[i]] -= X[i]
    loss = float(loss / num_train + reg * np.sum(W * W))
    dW = dW / num_train + 2 * reg * W
    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    f = X.dot(W)
    f -= f.max(axis=1).reshape(N, 1)
    p = np.exp(f)
    p /= p.sum(axis=1).reshape(N, 1)
    loss = (-np.mean(np.log(p[range(N), y])) + reg * np.sum(np.square(W))).item()
    np.add.at(p, (np.arange(N), y), -1.0)
    dW = np.dot(X.T, p) / N + reg * 2 * W
    return loss, dW


def svm_loss_naive(W, X, y, reg):
    dW = np.zeros(W.shape)
    loss = 0.0
    N = X.shape[0]
    for i in range(N):
        scores = X[i].dot(W)
        for j in range(W.shape[1]):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + 1
            if margin > 0:
                loss += margin
                np.add.at(dW, (slice(None), [j, y[i]]), np.stack([X[i], -X[i]], axis=1))
    loss = float(loss) / N + reg * float(np.sum(W * W))
    dW = dW / N + 2 * reg * W
    return loss, dW


def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    scores = X.dot(W)
    margins = scores - scores[rows, y].reshape(-1, 1) + 1
    margins[rows, y] = 0
    pos = margins > 0
    loss = float(margins[pos].sum()) + reg * float(np.sum(W * W))
    coeff = pos.astype(np.float64)
    np.add.at(coeff, (rows, y), -pos.sum(axis=1))
    dW = X.T.dot(coeff) / N + 2 * reg * W
    return loss, dW
