"""Reference spatial normalisation and dropout layers of CS231n's assignment 2 (``layers.py``),
float64, forward and backward side by side, in the starter code's signatures and caches.

    spatial_batchnorm_forward(x, gamma, beta, bn_param) -> (out, cache)
                                        x (N, C, H, W), gamma/beta (C,); bn_param as for
                                        ``reference.layers.batchnorm_forward`` (running averages
                                        of shape (C,), updated in place in train mode)
    spatial_batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)        dgamma/dbeta (C,)
    spatial_groupnorm_forward(x, gamma, beta, G, gn_param) -> (out, cache)
                                        x (N, C, H, W), gamma/beta (1, C, 1, 1), G divides C;
                                        gn_param {eps}; normalised per example over each group
                                        of C // G consecutive channels and all of H, W
    spatial_groupnorm_backward(dout, cache) -> (dx, dgamma, dbeta)        dgamma/dbeta shaped like gamma
    dropout_forward(x, dropout_param) -> (out, cache)                     cache (dropout_param, mask)
    dropout_backward(dout, cache) -> dx

Each backward is the gradient of ``L = sum(dout * out)`` with respect to the forward's inputs
(batch norm's: of train mode, the only mode the course checks; dropout's: for the mask the
forward drew, which ``dropout_param['seed']`` makes the same on every call).

Versions of the starter code (cs231n.github.io assignment 2; read from public copies, e.g.
wrwwctb/Stanford-CS231n-2015-2016-winter as2/cs231n/layers.py, Burton2000/CS231n-2017,
Tianji95/cs231n-2018-spring-solutions, JiangShiYu6/cs231n-2026 assignment2/cs231n/layers.py):

- dropout ``p``: winter 2016 and spring 2017 say "We drop each neuron output with probability
  p" (and ``FullyConnectedNet(dropout=0)`` meant no dropout); spring 2018 on say "We keep each
  neuron output with probability p" with a NOTE that p is the probability of **keeping**
  (``FullyConnectedNet(dropout=1)`` no dropout; ``dropout_keep_ratio`` from 2020). This module
  follows the keep reading, ``mask = (np.random.rand(*x.shape) < p) / p``;
  ``dropout_forward_drop`` is the 2016-2017 reading, ``mask = (rand >= p) / (1 - p)``. Both
  seed with ``np.random.seed(dropout_param['seed'])`` when the key is present and cast ``out``
  to ``x.dtype`` (the starter code's ``out.astype(x.dtype, copy=False)``).
- spatial group norm (spring 2018 on): the 2018 docstring gives gamma, beta the shape (C,),
  2019 on (1, C, 1, 1); the notebook passes (1, C, 1, 1) in every version. The reference
  accepts either (any shape holding C values) and returns dgamma, dbeta shaped like gamma.
- spatial batch norm: the same signature since 2016 (gamma, beta (C,)).
- 2026 (JiangShiYu6/cs231n-2026, MuQY1818/cs231n-2026-zh): assignment2/cs231n/layers.py still
  holds all of these with the same signatures (FullyConnectedNets moved to assignment 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reference.layers import batchnorm_backward, batchnorm_forward

Array = np.ndarray


# --- spatial batch normalisation --------------------------------------------------------------


def _channels_last(x: Array) -> Array:
    """(N, C, H, W) -> (N * H * W, C): one row per pixel, one column per channel."""
    N, C, H, W = x.shape
    return x.transpose(0, 2, 3, 1).reshape(N * H * W, C)


def _channels_first(rows: Array, shape: tuple[int, ...]) -> Array:
    N, C, H, W = shape
    return rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)


def spatial_batchnorm_forward(x: Array, gamma: Array, beta: Array, bn_param: dict[str, Any]) -> tuple[Array, Any]:
    """Batch norm of each channel over N, H and W: ``batchnorm_forward`` of the (N*H*W, C)
    rows; out (N, C, H, W); cache that of ``batchnorm_forward``."""
    out, cache = batchnorm_forward(_channels_last(x), gamma, beta, bn_param)
    return _channels_first(out, x.shape), cache


def spatial_batchnorm_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """(dx (N, C, H, W), dgamma (C,), dbeta (C,)) of train-mode L = sum(dout * out)."""
    dx, dgamma, dbeta = batchnorm_backward(_channels_last(dout), cache)
    return _channels_first(dx, dout.shape), dgamma, dbeta


# --- spatial group normalisation -------------------------------------------------------------


def spatial_groupnorm_forward(x: Array, gamma: Array, beta: Array, G: int,
                              gn_param: dict[str, Any]) -> tuple[Array, Any]:
    """Normalise each example's groups of C // G channels (biased variance, ``gn_param['eps']``,
    default 1e-5), then out = gamma * x_hat + beta per channel; out (N, C, H, W);
    cache (x_hat, gamma, var + eps per (N, G), G)."""
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    groups = x.reshape(N, G, -1)
    mean = groups.mean(axis=2, keepdims=True)
    var_eps = groups.var(axis=2, keepdims=True) + eps
    x_hat = ((groups - mean) / np.sqrt(var_eps)).reshape(x.shape)
    scale = np.reshape(gamma, (1, C, 1, 1))
    out = scale * x_hat + np.reshape(beta, (1, C, 1, 1))
    return out, (x_hat, gamma, var_eps, G)


def spatial_groupnorm_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """(dx (N, C, H, W), dgamma, dbeta shaped like gamma) of L = sum(dout * out)."""
    x_hat, gamma, var_eps, G = cache
    N, C = dout.shape[:2]
    dx_hat = (dout * np.reshape(gamma, (1, C, 1, 1))).reshape(N, G, -1)
    x_hat_groups = x_hat.reshape(N, G, -1)
    dx = (dx_hat - dx_hat.mean(axis=2, keepdims=True)
          - x_hat_groups * (dx_hat * x_hat_groups).mean(axis=2, keepdims=True)) / np.sqrt(var_eps)
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3)).reshape(np.shape(gamma))
    dbeta = dout.sum(axis=(0, 2, 3)).reshape(np.shape(gamma))
    return dx.reshape(dout.shape), dgamma, dbeta


# --- inverted dropout ----------------------------------------------------------------------------


def _dropout(x: Array, dropout_param: dict[str, Any], keep: bool) -> tuple[Array, tuple[dict[str, Any], Any]]:
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    if mode == "train":
        draws = np.random.rand(*x.shape)
        mask = (draws < p) / p if keep else (draws >= p) / (1 - p)
        out = x * mask
    elif mode == "test":
        mask, out = None, x
    else:
        raise ValueError(f'Invalid dropout mode "{mode}"')
    return out.astype(x.dtype, copy=False), (dropout_param, mask)


def dropout_forward(x: Array, dropout_param: dict[str, Any]) -> tuple[Array, tuple[dict[str, Any], Any]]:
    """Inverted dropout, p the probability of KEEPING a unit (2018 on). Train: out = x * mask,
    mask = (np.random.rand(*x.shape) < p) / p after ``np.random.seed(seed)`` if 'seed' is
    given; test: out = x, mask None. out has x's shape and dtype; cache (dropout_param, mask)."""
    return _dropout(x, dropout_param, keep=True)


def dropout_forward_drop(x: Array, dropout_param: dict[str, Any]) -> tuple[Array, tuple[dict[str, Any], Any]]:
    """The 2016-2017 reading, p the probability of DROPPING a unit: mask = (rand >= p) / (1 - p).
    Same cache; ``dropout_backward`` serves both."""
    return _dropout(x, dropout_param, keep=False)


def dropout_backward(dout: Array, cache: tuple[dict[str, Any], Any]) -> Array:
    """dx = dout * mask in train mode (the gradient of L = sum(dout * out) for the drawn mask),
    dout in test mode."""
    dropout_param, mask = cache
    mode = dropout_param["mode"]
    if mode == "train":
        return dout * mask
    if mode == "test":
        return dout
    raise ValueError(f'Invalid dropout mode "{mode}"')
