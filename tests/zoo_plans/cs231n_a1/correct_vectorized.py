"""CS231n assignment 1: softmax and SVM losses, fully vectorized (even the naive
versions), with one-hot matrices and einsum.
"""

import numpy as np


def _log_softmax(scores):
    m = scores.max(axis=1, keepdims=True)
    return scores - m - np.log(np.exp(scores - m).sum(axis=1, keepdims=True))


def softmax_loss_naive(W, X, y, reg):
    N = X.shape[0]
    onehot = np.eye(W.shape[1])[y]
    log_p = _log_softmax(np.einsum("nd,dc->nc", X, W))
    loss = -np.einsum("nc,nc->", onehot, log_p) / N + reg * np.einsum("dc,dc->", W, W)
    dW = np.einsum("nd,nc->dc", X, np.exp(log_p) - onehot) / N + 2 * reg * W
    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    log_p = _log_softmax(X @ W)
    loss = -log_p[np.arange(N), y].mean() + reg * (W ** 2).sum()
    G = np.exp(log_p)
    G[np.arange(N), y] -= 1.0
    dW = X.T @ G / N + 2 * reg * W
    return loss, dW


def svm_loss_naive(W, X, y, reg):
    N, C = X.shape[0], W.shape[1]
    onehot = np.eye(C)[y]
    S = np.einsum("nd,dc->nc", X, W)
    correct = np.einsum("nc,nc->n", S, onehot)[:, None]
    margins = (S - correct + 1.0) * (1.0 - onehot)
    active = (margins > 0) * 1.0
    loss = np.einsum("nc,nc->", margins, active) / N + reg * np.einsum("dc,dc->", W, W)
    coeff = active - onehot * active.sum(axis=1, keepdims=True)
    dW = np.einsum("nd,nc->dc", X, coeff) / N + 2 * reg * W
    return loss, dW


def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    S = X @ W
    margins = np.clip(S - S[np.arange(N), y][:, None] + 1.0, 0.0, None)
    margins[np.arange(N), y] = 0.0
    loss = margins.sum() / N + reg * (W * W).sum()
    coeff = np.sign(margins)
    coeff[np.arange(N), y] = -coeff.sum(axis=1)
    dW = X.T @ coeff / N + 2 * reg * W
    return loss, dW
