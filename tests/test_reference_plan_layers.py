"""Every backward of the course references against finite differences of its own forward.

Covers reference.layers (CS231n assignments 1-2), reference.spatial (assignment 2's spatial
norms and dropout), reference.recurrent (assignment 3), reference.dls_deep and
reference.dls_rnn (Deep Learning Specialization C1W4 and C5W1), float64.

Each backward is checked against the gradient of the scalar its module's docstring names
(``L = sum(G * out)`` with a random upstream G, the loss itself for the losses, and for the DLS
functions the course's own scaling by m), computed entry by entry by Richardson extrapolation
of central differences at steps h and h/2: (4 D(h/2) - D(h)) / 3, whose truncation error is
O(h^4) (~1e-12 at h = 1e-3 on these O(1) inputs) and whose rounding error is
~eps |L| / h (~1e-12). Piecewise-linear functions (ReLU, hinge) are drawn at least 0.05 away
from their kinks, so each difference stays on one linear piece. The comparison is the largest
entry error divided by the largest entry, within TOL = 1e-7: far above the ~1e-11 the
differences achieve, far below the 1e-3 of a gradient perturbed on purpose, which the same
comparison must reject (test_a_perturbed_gradient_is_rejected).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

import numpy as np
import pytest
from numpy.testing import assert_allclose

from reference import dls_deep, dls_rnn, layers, recurrent, spatial

STEP = 1e-3
TOL = 1e-7
KINK_MARGIN = 0.05  # ReLU inputs and hinge margins are drawn at least this far from 0

Grads = list[tuple[str, np.ndarray, np.ndarray]]  # (label, analytic, numeric)


# --- the comparison helper --------------------------------------------------------------------


def richardson(loss: Callable[[np.ndarray], float], x: np.ndarray, step: float = STEP) -> np.ndarray:
    """dL/dx entry by entry: Richardson's extrapolation of central differences at step and step / 2.

    ``loss`` receives a perturbed private copy of ``x``; ``x`` itself is never modified.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.empty_like(x)

    def central(index: tuple[int, ...], h: float) -> float:
        original = x[index]
        x[index] = original + h
        plus = loss(x)
        x[index] = original - h
        minus = loss(x)
        x[index] = original
        return (plus - minus) / (2 * h)

    for index in np.ndindex(x.shape):
        grad[index] = (4 * central(index, step / 2) - central(index, step)) / 3
    return grad


def numeric(loss: Callable[..., float], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The partial derivatives of ``loss(**arrays)`` with respect to each array, the others fixed."""
    return {name: richardson(lambda v, name=name: loss(**{**arrays, name: v}), value)
            for name, value in arrays.items()}


def scaled_error(analytic: np.ndarray, expected: np.ndarray) -> float:
    """max |analytic - expected| / max(max |analytic|, max |expected|), 0 when both are 0."""
    analytic, expected = np.asarray(analytic, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if analytic.shape != expected.shape:
        return np.inf
    scale = max(np.max(np.abs(analytic), initial=0.0), np.max(np.abs(expected), initial=0.0))
    return 0.0 if scale == 0.0 else float(np.max(np.abs(analytic - expected)) / scale)


def matches(analytic: np.ndarray, expected: np.ndarray) -> bool:
    return scaled_error(analytic, expected) <= TOL


def pairs(analytic: tuple | list, expected: dict[str, np.ndarray]) -> Grads:
    """Zip a backward's outputs with the differences of the forward's inputs, in order."""
    assert len(analytic) == len(expected)
    return [(f"d{name}", a, n) for a, (name, n) in zip(analytic, expected.items(), strict=True)]


def test_richardson_is_exact_on_a_cubic() -> None:
    """For L = sum(c * x**3) the central difference is 3 c x^2 + c h^2: Richardson removes the h^2."""
    rng = np.random.default_rng(0)
    x, c = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    before = x.copy()
    grad = richardson(lambda y: float(np.sum(c * y**3)), x)
    assert_allclose(grad, 3 * c * x**2, rtol=1e-9, atol=1e-10)
    assert (x == before).all(), "richardson modified its input"


def test_scaled_error_rejects_shape_mismatch_and_accepts_zeros() -> None:
    assert scaled_error(np.zeros(3), np.zeros((3, 1))) == np.inf
    assert scaled_error(np.zeros(3), np.zeros(3)) == 0.0


# --- drawing inputs ------------------------------------------------------------------------------


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values with |v| in [0.1, 1.5] and a random sign: ReLU inputs far from the kink."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 1.5, size=shape)


def hinge_free(rng: np.random.Generator, draw: Callable[[], tuple], margins: Callable[..., np.ndarray]) -> tuple:
    """Redraw ``draw()`` until every hinge margin is at least KINK_MARGIN away from 0."""
    for _ in range(1000):
        values = draw()
        if np.min(np.abs(margins(*values))) > KINK_MARGIN:
            return values
    raise AssertionError("no kink-free draw")


def svm_margins(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    N = scores.shape[0]
    margins = scores - scores[np.arange(N), y][:, None] + 1.0
    return np.delete(margins, y + scores.shape[1] * np.arange(N))  # drop the j == y entries


# --- the cases: each returns [(label, analytic, numeric)] --------------------------------------------

CASES: dict[str, Callable[[], Grads]] = {}


def case(fn: Callable[[], Grads]) -> Callable[[], Grads]:
    CASES[fn.__name__] = fn
    return fn


def upstream_sum(forward: Callable[..., tuple], G: np.ndarray, index: int = 0) -> Callable[..., float]:
    """``**arrays -> sum(G * forward(**arrays)[index])``."""
    return lambda **arrays: float(np.sum(G * forward(**arrays)[index]))


# reference.layers (CS231n assignment 2 layers.py, assignment 1 losses)


@case
def affine() -> Grads:
    rng = np.random.default_rng(1)
    args = {"x": rng.standard_normal((3, 2, 3)), "w": rng.standard_normal((6, 4)), "b": rng.standard_normal(4)}
    out, cache = layers.affine_forward(**args)
    G = rng.standard_normal(out.shape)
    return pairs(layers.affine_backward(G, cache), numeric(upstream_sum(layers.affine_forward, G), args))


@case
def relu() -> Grads:
    rng = np.random.default_rng(2)
    x = away_from_zero(rng, (4, 5))
    out, cache = layers.relu_forward(x)
    G = rng.standard_normal(out.shape)
    return pairs((layers.relu_backward(G, cache),), numeric(upstream_sum(layers.relu_forward, G), {"x": x}))


def _batchnorm(backward) -> Grads:
    rng = np.random.default_rng(3)
    args = {"x": 2 * rng.standard_normal((5, 4)) + 1, "gamma": rng.standard_normal(4), "beta": rng.standard_normal(4)}
    out, cache = layers.batchnorm_forward(**args, bn_param={"mode": "train"})
    G = rng.standard_normal(out.shape)

    def loss(x, gamma, beta):
        return float(np.sum(G * layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})[0]))

    return pairs(backward(G, cache), numeric(loss, args))


@case
def batchnorm() -> Grads:
    return _batchnorm(layers.batchnorm_backward)


@case
def batchnorm_alt() -> Grads:
    return _batchnorm(layers.batchnorm_backward_alt)


@case
def layernorm() -> Grads:
    rng = np.random.default_rng(4)
    args = {"x": 2 * rng.standard_normal((3, 5)) - 1, "gamma": rng.standard_normal(5), "beta": rng.standard_normal(5)}
    out, cache = layers.layernorm_forward(**args, ln_param={})

    G = rng.standard_normal(out.shape)

    def loss(x, gamma, beta):
        return float(np.sum(G * layers.layernorm_forward(x, gamma, beta, {})[0]))

    return pairs(layers.layernorm_backward(G, cache), numeric(loss, args))


@case
def softmax_loss() -> Grads:
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((4, 5)), rng.integers(0, 5, size=4)
    _, dx = layers.softmax_loss(x, y)
    return pairs((dx,), numeric(lambda x: layers.softmax_loss(x, y)[0], {"x": x}))


@case
def svm_loss() -> Grads:
    rng = np.random.default_rng(6)
    x, y = hinge_free(rng, lambda: (rng.standard_normal((4, 5)), rng.integers(0, 5, size=4)), svm_margins)
    _, dx = layers.svm_loss(x, y)
    return pairs((dx,), numeric(lambda x: layers.svm_loss(x, y)[0], {"x": x}))


def _linear_classifier(loss_fn, hinge: bool, seed: int) -> Grads:
    rng = np.random.default_rng(seed)

    def draw():
        return rng.standard_normal((3, 4)), rng.standard_normal((5, 3)), rng.integers(0, 4, size=5)

    W, X, y = hinge_free(rng, draw, lambda W, X, y: svm_margins(X @ W, y)) if hinge else draw()
    reg = 0.7
    _, dW = loss_fn(W, X, y, reg)
    return pairs((dW,), numeric(lambda W: loss_fn(W, X, y, reg)[0], {"W": W}))


@case
def softmax_loss_vectorized() -> Grads:
    return _linear_classifier(layers.softmax_loss_vectorized, False, 7)


@case
def softmax_loss_naive() -> Grads:
    return _linear_classifier(layers.softmax_loss_naive, False, 8)


@case
def svm_loss_vectorized() -> Grads:
    return _linear_classifier(layers.svm_loss_vectorized, True, 9)


@case
def svm_loss_naive() -> Grads:
    return _linear_classifier(layers.svm_loss_naive, True, 10)


# reference.spatial


@case
def spatial_batchnorm() -> Grads:
    rng = np.random.default_rng(11)
    args = {"x": 3 * rng.standard_normal((2, 3, 2, 3)) + 2, "gamma": rng.standard_normal(3),
            "beta": rng.standard_normal(3)}
    out, cache = spatial.spatial_batchnorm_forward(**args, bn_param={"mode": "train"})
    G = rng.standard_normal(out.shape)

    def loss(x, gamma, beta):
        return float(np.sum(G * spatial.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})[0]))

    return pairs(spatial.spatial_batchnorm_backward(G, cache), numeric(loss, args))


def _groupnorm(param_shape: tuple[int, ...], seed: int) -> Grads:
    rng = np.random.default_rng(seed)
    G_groups = 2
    args = {"x": 2 * rng.standard_normal((2, 4, 2, 2)) - 1, "gamma": rng.standard_normal(param_shape),
            "beta": rng.standard_normal(param_shape)}
    out, cache = spatial.spatial_groupnorm_forward(**args, G=G_groups, gn_param={})
    G = rng.standard_normal(out.shape)

    def loss(x, gamma, beta):
        return float(np.sum(G * spatial.spatial_groupnorm_forward(x, gamma, beta, G_groups, {})[0]))

    return pairs(spatial.spatial_groupnorm_backward(G, cache), numeric(loss, args))


@case
def spatial_groupnorm() -> Grads:
    """gamma, beta (1, C, 1, 1), as the starter code since 2019 and every notebook."""
    return _groupnorm((1, 4, 1, 1), 12)


@case
def spatial_groupnorm_flat_gamma() -> Grads:
    """gamma, beta (C,), as the 2018 docstring."""
    return _groupnorm((4,), 13)


def _dropout(forward, mode: str, seed: int) -> Grads:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 6))
    param = {"mode": mode, "p": 0.6, "seed": 17}
    out, cache = forward(x, dict(param))
    G = rng.standard_normal(out.shape)
    return pairs((spatial.dropout_backward(G, cache),),
                 numeric(lambda x: float(np.sum(G * forward(x, dict(param))[0])), {"x": x}))


@case
def dropout_train() -> Grads:
    return _dropout(spatial.dropout_forward, "train", 14)


@case
def dropout_test() -> Grads:
    return _dropout(spatial.dropout_forward, "test", 15)


@case
def dropout_drop_train() -> Grads:
    return _dropout(spatial.dropout_forward_drop, "train", 16)


# reference.recurrent (CS231n assignment 3)


def _rnn_args(rng: np.random.Generator, N: int, D: int, H: int, gates: int = 1) -> dict[str, np.ndarray]:
    return {"Wx": rng.standard_normal((D, gates * H)) / np.sqrt(D),
            "Wh": rng.standard_normal((H, gates * H)) / np.sqrt(H),
            "b": rng.standard_normal(gates * H)}


@case
def rnn_step() -> Grads:
    rng = np.random.default_rng(21)
    args = {"x": rng.standard_normal((3, 4)), "prev_h": rng.standard_normal((3, 5)), **_rnn_args(rng, 3, 4, 5)}
    out, cache = recurrent.rnn_step_forward(**args)
    G = rng.standard_normal(out.shape)
    return pairs(recurrent.rnn_step_backward(G, cache), numeric(upstream_sum(recurrent.rnn_step_forward, G), args))


@case
def rnn_sequence() -> Grads:
    rng = np.random.default_rng(22)
    args = {"x": rng.standard_normal((2, 4, 3)), "h0": rng.standard_normal((2, 3)), **_rnn_args(rng, 2, 3, 3)}
    h, cache = recurrent.rnn_forward(**args)
    G = rng.standard_normal(h.shape)
    return pairs(recurrent.rnn_backward(G, cache), numeric(upstream_sum(recurrent.rnn_forward, G), args))


@case
def word_embedding() -> Grads:
    rng = np.random.default_rng(23)
    x = np.array([[0, 3, 3, 1], [2, 0, 3, 3]])  # repeated words must accumulate; word 4 never appears
    W = rng.standard_normal((5, 3))
    out, cache = recurrent.word_embedding_forward(x, W)
    G = rng.standard_normal(out.shape)
    return pairs((recurrent.word_embedding_backward(G, cache),),
                 numeric(lambda W: float(np.sum(G * recurrent.word_embedding_forward(x, W)[0])), {"W": W}))


@case
def temporal_affine() -> Grads:
    rng = np.random.default_rng(24)
    args = {"x": rng.standard_normal((2, 3, 4)), "w": rng.standard_normal((4, 5)), "b": rng.standard_normal(5)}
    out, cache = recurrent.temporal_affine_forward(**args)
    G = rng.standard_normal(out.shape)
    return pairs(recurrent.temporal_affine_backward(G, cache),
                 numeric(upstream_sum(recurrent.temporal_affine_forward, G), args))


@case
def temporal_softmax_loss() -> Grads:
    rng = np.random.default_rng(25)
    x, y = rng.standard_normal((3, 4, 5)), rng.integers(0, 5, size=(3, 4))
    mask = rng.random((3, 4)) < 0.7
    _, dx = recurrent.temporal_softmax_loss(x, y, mask)
    return pairs((dx,), numeric(lambda x: recurrent.temporal_softmax_loss(x, y, mask)[0], {"x": x}))


@case
def lstm_step() -> Grads:
    rng = np.random.default_rng(26)
    args = {"x": rng.standard_normal((3, 4)), "prev_h": rng.standard_normal((3, 3)),
            "prev_c": rng.standard_normal((3, 3)), **_rnn_args(rng, 3, 4, 3, gates=4)}
    next_h, next_c, cache = recurrent.lstm_step_forward(**args)
    Gh, Gc = rng.standard_normal(next_h.shape), rng.standard_normal(next_c.shape)

    def loss(**arrays):
        h, c, _ = recurrent.lstm_step_forward(**arrays)
        return float(np.sum(Gh * h) + np.sum(Gc * c))

    return pairs(recurrent.lstm_step_backward(Gh, Gc, cache), numeric(loss, args))


@case
def lstm_sequence() -> Grads:
    rng = np.random.default_rng(27)
    args = {"x": rng.standard_normal((2, 3, 3)), "h0": rng.standard_normal((2, 3)), **_rnn_args(rng, 2, 3, 3, gates=4)}
    h, cache = recurrent.lstm_forward(**args)
    G = rng.standard_normal(h.shape)
    return pairs(recurrent.lstm_backward(G, cache), numeric(upstream_sum(recurrent.lstm_forward, G), args))


# reference.dls_deep (DLS C1W4: columns are examples, the 1/m inside linear_backward)


@case
def dls_relu_sigmoid() -> Grads:
    rng = np.random.default_rng(31)
    Z = away_from_zero(rng, (3, 4))
    dA = rng.standard_normal((3, 4))
    grads = []
    for name in ("relu", "sigmoid"):
        forward, backward = getattr(dls_deep, name), getattr(dls_deep, f"{name}_backward")
        _, cache = forward(Z)
        expected = richardson(lambda z, forward=forward: float(np.sum(dA * forward(z)[0])), Z)
        grads.append((f"{name}_backward", backward(dA, cache), expected))
    return grads


def _scaled_by_m(dA_prev: np.ndarray, dW: np.ndarray, db: np.ndarray, m: int) -> tuple:
    """(dA_prev, m dW, m db): the course's linear_backward divides dW, db (not dA_prev) by m."""
    return dA_prev, m * dW, m * db


@case
def dls_linear() -> Grads:
    rng = np.random.default_rng(32)
    args = {"A": rng.standard_normal((4, 5)), "W": rng.standard_normal((3, 4)), "b": rng.standard_normal((3, 1))}
    Z, cache = dls_deep.linear_forward(**args)
    dZ = rng.standard_normal(Z.shape)
    analytic = _scaled_by_m(*dls_deep.linear_backward(dZ, cache), m=5)
    return pairs(analytic, numeric(upstream_sum(dls_deep.linear_forward, dZ), args))


def _relu_free(rng: np.random.Generator, draw: Callable[[], dict], pre_activations: Callable[[dict], list]) -> dict:
    for _ in range(1000):
        values = draw()
        if all(np.min(np.abs(Z)) > KINK_MARGIN for Z in pre_activations(values)):
            return values
    raise AssertionError("no kink-free draw")


@case
def dls_linear_activation() -> Grads:
    rng = np.random.default_rng(33)
    grads = []
    for activation in ("relu", "sigmoid"):
        def draw():
            return {"A_prev": rng.standard_normal((4, 5)), "W": rng.standard_normal((3, 4)),
                    "b": rng.standard_normal((3, 1))}

        args = _relu_free(rng, draw, lambda a: [a["W"] @ a["A_prev"] + a["b"]])
        A, cache = dls_deep.linear_activation_forward(**args, activation=activation)
        dA = rng.standard_normal(A.shape)

        def loss(activation=activation, dA=dA, **arrays):
            return float(np.sum(dA * dls_deep.linear_activation_forward(**arrays, activation=activation)[0]))

        analytic = _scaled_by_m(*dls_deep.linear_activation_backward(dA, cache, activation), m=5)
        grads += [(f"{activation}: {label}", a, n) for label, a, n in pairs(analytic, numeric(loss, args))]
    return grads


def _dls_network(rng: np.random.Generator, dims: tuple[int, ...], m: int) -> tuple[np.ndarray, dict, np.ndarray]:
    def draw():
        params = {}
        for layer in range(1, len(dims)):
            params[f"W{layer}"] = rng.standard_normal((dims[layer], dims[layer - 1])) / np.sqrt(dims[layer - 1])
            params[f"b{layer}"] = 0.3 * rng.standard_normal((dims[layer], 1))
        return {"X": rng.standard_normal((dims[0], m)), "params": params}

    def hidden_pre_activations(values):
        _, caches = dls_deep.L_model_forward(values["X"], values["params"])
        return [activation_cache for _, activation_cache in caches[:-1]]

    values = _relu_free(rng, draw, hidden_pre_activations)
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    return values["X"], values["params"], Y


@case
def dls_L_model() -> Grads:
    """dW, db = dJ/dW, dJ/db of the mean cost J; dA{l} = m dJ/dA^[l], the summed cost's gradient."""
    rng = np.random.default_rng(34)
    dims, m = (4, 3, 3, 1), 5
    X, params, Y = _dls_network(rng, dims, m)
    AL, caches = dls_deep.L_model_forward(X, params)
    grads = dls_deep.L_model_backward(AL, Y, caches)

    def cost(X, params):
        return float(dls_deep.compute_cost(dls_deep.L_model_forward(X, params)[0], Y))

    out = []
    for name, value in params.items():
        def partial(v, name=name):
            return cost(X, {**params, name: v})

        out.append((f"d{name}", grads[f"d{name}"], richardson(partial, value)))
    L = len(dims) - 1
    for layer in range(L):  # dA{layer}: the summed cost of layers layer+1..L as a function of A^[layer]
        A_layer = caches[layer][0][0]
        tail = {f"{kind}{k - layer}": params[f"{kind}{k}"] for k in range(layer + 1, L + 1) for kind in "Wb"}
        out.append((f"dA{layer}", grads[f"dA{layer}"], m * richardson(lambda a, tail=tail: cost(a, tail), A_layer)))
    return out


# reference.dls_rnn (DLS C5W1: columns are examples, nothing divided by m)


def _dls_rnn_params(rng: np.random.Generator, n_x: int, n_a: int, n_y: int) -> dict[str, np.ndarray]:
    return {"Wax": rng.standard_normal((n_a, n_x)) / np.sqrt(n_x),
            "Waa": rng.standard_normal((n_a, n_a)) / np.sqrt(n_a),
            "Wya": rng.standard_normal((n_y, n_a)),
            "ba": rng.standard_normal((n_a, 1)),
            "by": rng.standard_normal((n_y, 1))}


def _dls_lstm_params(rng: np.random.Generator, n_x: int, n_a: int, n_y: int) -> dict[str, np.ndarray]:
    params = {}
    for gate in "fico":
        params[f"W{gate}"] = rng.standard_normal((n_a, n_a + n_x)) / np.sqrt(n_a + n_x)
        params[f"b{gate}"] = rng.standard_normal((n_a, 1))
    params["Wy"], params["by"] = rng.standard_normal((n_y, n_a)), rng.standard_normal((n_y, 1))
    return params


def _dict_partials(loss: Callable[[dict], float], params: dict[str, np.ndarray], names) -> dict[str, np.ndarray]:
    return {name: richardson(lambda v, name=name: loss({**params, name: v}), params[name]) for name in names}


@case
def dls_rnn_cell() -> Grads:
    rng = np.random.default_rng(41)
    xt, a_prev, params = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), _dls_rnn_params(rng, 3, 5, 2)
    a_next, _, cache = dls_rnn.rnn_cell_forward(xt, a_prev, params)
    da = rng.standard_normal(a_next.shape)
    grads = dls_rnn.rnn_cell_backward(da, cache)

    def loss(xt, a_prev, params):
        return float(np.sum(da * dls_rnn.rnn_cell_forward(xt, a_prev, params)[0]))

    expected = {"dxt": richardson(lambda v: loss(v, a_prev, params), xt),
                "da_prev": richardson(lambda v: loss(xt, v, params), a_prev),
                **{f"d{k}": v for k, v in _dict_partials(lambda p: loss(xt, a_prev, p), params,
                                                         ("Wax", "Waa", "ba")).items()}}
    assert set(grads) == set(expected)
    return [(key, grads[key], expected[key]) for key in expected]


@pytest.mark.parametrize("T", [4, 2])
def test_dls_rnn_backward_is_the_gradient_of_the_first_T_hidden_states(T: int) -> None:
    """T = da.shape[2]: with the forward run for 4 steps and da for T, the gradient of sum(da * a[..., :T])."""
    rng = np.random.default_rng(42 + T)
    x, a0, params = rng.standard_normal((3, 2, 4)), rng.standard_normal((4, 2)), _dls_rnn_params(rng, 3, 4, 2)
    _, _, caches = dls_rnn.rnn_forward(x, a0, params)
    da = rng.standard_normal((4, 2, T))
    grads = dls_rnn.rnn_backward(da, caches)

    def loss(x, a0, params):
        return float(np.sum(da * dls_rnn.rnn_forward(x, a0, params)[0][:, :, :T]))

    assert set(grads) == {"dx", "da0", "dWax", "dWaa", "dba"}
    assert grads["dx"].shape == (3, 2, T) and grads["dba"].shape == (4, 1)
    dx = richardson(lambda v: loss(v, a0, params), x)
    assert np.all(dx[:, :, T:] == 0)
    assert matches(grads["dx"], dx[:, :, :T])
    assert matches(grads["da0"], richardson(lambda v: loss(x, v, params), a0))
    for name, expected in _dict_partials(lambda p: loss(x, a0, p), params, ("Wax", "Waa", "ba")).items():
        assert matches(grads[f"d{name}"], expected), name
    for name, expected in _dict_partials(lambda p: loss(x, a0, p), params, ("Wya", "by")).items():
        assert np.all(expected == 0), f"{name}: the hidden states do not depend on it"


@case
def dls_lstm_cell() -> Grads:
    rng = np.random.default_rng(44)
    xt, a_prev, c_prev = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    params = _dls_lstm_params(rng, 3, 5, 2)
    a_next, c_next, _, cache = dls_rnn.lstm_cell_forward(xt, a_prev, c_prev, params)
    da, dc = rng.standard_normal(a_next.shape), rng.standard_normal(c_next.shape)
    grads = dls_rnn.lstm_cell_backward(da, dc, cache)

    def loss(xt, a_prev, c_prev, params):
        a, c, _, _ = dls_rnn.lstm_cell_forward(xt, a_prev, c_prev, params)
        return float(np.sum(da * a) + np.sum(dc * c))

    gates = [f"{kind}{gate}" for gate in "fico" for kind in "Wb"]
    expected = {"dxt": richardson(lambda v: loss(v, a_prev, c_prev, params), xt),
                "da_prev": richardson(lambda v: loss(xt, v, c_prev, params), a_prev),
                "dc_prev": richardson(lambda v: loss(xt, a_prev, v, params), c_prev),
                **{f"d{k}": v for k, v in _dict_partials(lambda p: loss(xt, a_prev, c_prev, p), params, gates).items()}}
    assert set(grads) == set(expected)
    return [(key, grads[key], expected[key]) for key in expected]


def _dls_lstm_sequence(seed: int, T: int):
    rng = np.random.default_rng(seed)
    x, a0, params = rng.standard_normal((3, 2, 4)), rng.standard_normal((4, 2)), _dls_lstm_params(rng, 3, 4, 2)
    _, _, _, caches = dls_rnn.lstm_forward(x, a0, params)
    return x, a0, params, caches, rng.standard_normal((4, 2, T))


_LSTM_GRADS = ["dx", "da0"] + [f"{kind}{gate}" for gate in "fico" for kind in ("dW", "db")]


@case
def dls_lstm_sequence() -> Grads:
    x, a0, params, caches, da = _dls_lstm_sequence(45, 3)
    grads = dls_rnn.lstm_backward(da, caches)

    def loss(x, a0, params):
        return float(np.sum(da * dls_rnn.lstm_forward(x, a0, params)[0][:, :, :3]))

    expected = {"dx": richardson(lambda v: loss(v, a0, params), x)[:, :, :3],
                "da0": richardson(lambda v: loss(x, v, params), a0),
                **{f"d{k}": v for k, v in _dict_partials(lambda p: loss(x, a0, p), params,
                                                         [k[1:] for k in _LSTM_GRADS[2:]]).items()}}
    assert sorted(grads) == sorted(_LSTM_GRADS)
    return [(key, grads[key], expected[key]) for key in _LSTM_GRADS]


@case
def dls_lstm_sequence_legacy() -> Grads:
    """The pre-2021 variant: sum(da * a) with every cell's a_prev and c_prev held at their forward values."""
    x, a0, params, caches, da = _dls_lstm_sequence(46, 3)
    grads = dls_rnn.lstm_backward_legacy(da, caches)
    cells, _ = caches
    frozen_a = [a0] + [cells[t][0] for t in range(3)]  # the a_prev / c_prev each cell saw
    frozen_c = [np.zeros_like(a0)] + [cells[t][1] for t in range(3)]

    def loss(x, a0, params):
        total = 0.0
        for t in range(3):
            a_prev = a0 if t == 0 else frozen_a[t]
            a_next, _, _, _ = dls_rnn.lstm_cell_forward(x[:, :, t], a_prev, frozen_c[t], params)
            total += float(np.sum(da[:, :, t] * a_next))
        return total

    expected = {"dx": richardson(lambda v: loss(v, a0, params), x)[:, :, :3],
                "da0": richardson(lambda v: loss(x, v, params), a0),
                **{f"d{k}": v for k, v in _dict_partials(lambda p: loss(x, a0, p), params,
                                                         [k[1:] for k in _LSTM_GRADS[2:]]).items()}}
    return [(key, grads[key], expected[key]) for key in _LSTM_GRADS]


# --- the tests over every case -------------------------------------------------------------------


@functools.cache
def computed(name: str) -> Grads:
    return CASES[name]()


@pytest.mark.parametrize("name", sorted(CASES))
def test_backward_equals_differences_of_its_forward(name: str) -> None:
    for label, analytic, expected in computed(name):
        assert np.shape(analytic) == np.shape(expected), f"{name} {label}: shape"
        error = scaled_error(analytic, expected)
        assert error <= TOL, f"{name} {label}: scaled error {error:.2e} > {TOL:.0e}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_perturbed_gradient_is_rejected(name: str) -> None:
    """The comparison can fail: 1e-3 relative on the largest entry of each gradient is caught."""
    for label, analytic, expected in computed(name):
        perturbed = np.array(analytic, dtype=np.float64)
        largest = np.unravel_index(np.argmax(np.abs(perturbed)), perturbed.shape)
        perturbed[largest] = perturbed[largest] * (1 + 1e-3) if perturbed[largest] != 0 else 1e-3
        assert not matches(perturbed, expected), f"{name} {label}: a 1e-3 perturbation passed"


# --- forwards against direct formulas ------------------------------------------------------------


def test_spatial_batchnorm_forward_normalises_each_channel_over_N_H_W() -> None:
    rng = np.random.default_rng(51)
    x = 4 * rng.standard_normal((3, 2, 4, 5)) + 10
    gamma, beta = rng.standard_normal(2), rng.standard_normal(2)
    bn_param = {"mode": "train", "momentum": 0.8}
    out, _ = spatial.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    expected = gamma[None, :, None, None] * (x - mean[None, :, None, None]) / np.sqrt(var + 1e-5)[None, :, None, None]
    assert_allclose(out, expected + beta[None, :, None, None], rtol=1e-12, atol=1e-12)
    assert_allclose(bn_param["running_mean"], 0.2 * mean, rtol=1e-12)
    assert_allclose(bn_param["running_var"], 0.2 * var, rtol=1e-12)
    test_out, _ = spatial.spatial_batchnorm_forward(x, gamma, beta, {**bn_param, "mode": "test"})
    rm, rv = bn_param["running_mean"], bn_param["running_var"]
    expected = (x - rm[None, :, None, None]) / np.sqrt(rv + 1e-5)[None, :, None, None]
    assert_allclose(test_out, gamma[None, :, None, None] * expected + beta[None, :, None, None], rtol=1e-12)


def test_spatial_groupnorm_forward_against_a_loop() -> None:
    rng = np.random.default_rng(52)
    N, C, H, W, G = 2, 6, 3, 2, 3
    x = 5 * rng.standard_normal((N, C, H, W)) + 12
    gamma, beta = rng.standard_normal((1, C, 1, 1)), rng.standard_normal((1, C, 1, 1))
    out, _ = spatial.spatial_groupnorm_forward(x, gamma, beta, G, {"eps": 1e-4})
    expected = np.empty_like(x)
    per = C // G
    for n in range(N):
        for g in range(G):
            block = x[n, g * per:(g + 1) * per]
            expected[n, g * per:(g + 1) * per] = (block - block.mean()) / np.sqrt(block.var() + 1e-4)
    assert_allclose(out, gamma * expected + beta, rtol=1e-12, atol=1e-12)
    flat, _ = spatial.spatial_groupnorm_forward(x, gamma.ravel(), beta.ravel(), G, {"eps": 1e-4})
    assert_allclose(flat, out, rtol=0, atol=0)
    for shape in ((1, C, 1, 1), (C,)):
        _, cache = spatial.spatial_groupnorm_forward(x, gamma.reshape(shape), beta.reshape(shape), G, {})
        _, dgamma, dbeta = spatial.spatial_groupnorm_backward(np.ones_like(x), cache)
        assert dgamma.shape == dbeta.shape == shape, "dgamma, dbeta are shaped like gamma"


@pytest.fixture
def global_rng():
    """np.random.seed as the course uses it, the global state restored afterwards."""
    state = np.random.get_state()
    yield np.random.seed
    np.random.set_state(state)


def test_dropout_forward_follows_the_starter_code_mask(global_rng) -> None:
    x = np.random.default_rng(53).standard_normal((50, 40))
    for p in (0.3, 0.75):
        out, (param, mask) = spatial.dropout_forward(x, {"mode": "train", "p": p, "seed": 123})
        global_rng(123)
        expected_mask = (np.random.rand(*x.shape) < p) / p
        assert_allclose(mask, expected_mask, rtol=0, atol=0)
        assert_allclose(out, x * expected_mask, rtol=0, atol=0)
        assert abs((out != 0).mean() - p) < 0.05, "p is the probability of keeping a unit"
        drop_out, (_, drop_mask) = spatial.dropout_forward_drop(x, {"mode": "train", "p": p, "seed": 123})
        assert abs((drop_out != 0).mean() - (1 - p)) < 0.05, "the 2016-2017 p is the probability of dropping"
        assert set(np.unique(drop_mask)) <= {0.0, 1 / (1 - p)}
    out, (_, mask) = spatial.dropout_forward(x, {"mode": "test", "p": 0.5})
    assert mask is None and (out == x).all()
    assert spatial.dropout_forward(x.astype(np.float32), {"mode": "train", "p": 0.5})[0].dtype == np.float32


def _rnn_loop(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    for n in range(N):
        prev = h0[n]
        for t in range(T):
            prev = np.tanh(Wx.T @ x[n, t] + Wh.T @ prev + b)
            h[n, t] = prev
    return h


def _lstm_loop(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    for n in range(N):
        prev_h, prev_c = h0[n], np.zeros(H)
        for t in range(T):
            a = Wx.T @ x[n, t] + Wh.T @ prev_h + b
            i, f, o = (1 / (1 + np.exp(-a[k * H:(k + 1) * H])) for k in range(3))
            prev_c = f * prev_c + i * np.tanh(a[3 * H:])
            prev_h = o * np.tanh(prev_c)
            h[n, t] = prev_h
    return h


def test_rnn_and_lstm_forwards_against_per_example_loops() -> None:
    rng = np.random.default_rng(54)
    x, h0 = rng.standard_normal((3, 5, 4)), rng.standard_normal((3, 2))
    args = _rnn_args(rng, 3, 4, 2)
    assert_allclose(recurrent.rnn_forward(x, h0, **args)[0], _rnn_loop(x, h0, **args), rtol=1e-12, atol=1e-13)
    args = _rnn_args(rng, 3, 4, 2, gates=4)
    assert_allclose(recurrent.lstm_forward(x, h0, **args)[0], _lstm_loop(x, h0, **args), rtol=1e-12, atol=1e-13)


def test_recurrent_step_forwards_reproduce_the_notebook_values() -> None:
    """RNN_Captioning.ipynb and LSTM_Captioning.ipynb's linspace checks (the gate order i, f, o, g)."""
    N, D, H = 3, 10, 4
    x = np.linspace(-0.4, 0.7, num=N * D).reshape(N, D)
    prev_h = np.linspace(-0.2, 0.5, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.1, 0.9, num=D * H).reshape(D, H)
    Wh = np.linspace(-0.3, 0.7, num=H * H).reshape(H, H)
    b = np.linspace(-0.2, 0.4, num=H)
    expected = [[-0.58172089, -0.50182032, -0.41232771, -0.31410098],
                [0.66854692, 0.79562378, 0.87755553, 0.92795967],
                [0.97934501, 0.99144213, 0.99646691, 0.99854353]]
    assert_allclose(recurrent.rnn_step_forward(x, prev_h, Wx, Wh, b)[0], expected, atol=1e-8)

    N, D, H = 3, 4, 5
    x = np.linspace(-0.4, 1.2, num=N * D).reshape(N, D)
    prev_h = np.linspace(-0.3, 0.7, num=N * H).reshape(N, H)
    prev_c = np.linspace(-0.4, 0.9, num=N * H).reshape(N, H)
    Wx = np.linspace(-2.1, 1.3, num=4 * D * H).reshape(D, 4 * H)
    Wh = np.linspace(-0.7, 2.2, num=4 * H * H).reshape(H, 4 * H)
    b = np.linspace(0.3, 0.7, num=4 * H)
    next_h, next_c, _ = recurrent.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    assert_allclose(next_h, [[0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
                             [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
                             [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]], atol=1e-8)
    assert_allclose(next_c, [[0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
                             [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
                             [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]], atol=1e-8)


def test_temporal_softmax_loss_against_a_loop() -> None:
    rng = np.random.default_rng(55)
    x, y = rng.standard_normal((3, 4, 6)), rng.integers(0, 6, size=(3, 4))
    mask = rng.random((3, 4)) < 0.6
    loss, dx = recurrent.temporal_softmax_loss(x, y, mask)
    total = 0.0
    for n in range(3):
        for t in range(4):
            if mask[n, t]:
                total -= x[n, t, y[n, t]] - np.log(np.sum(np.exp(x[n, t])))
    assert isinstance(loss, float)
    assert loss == pytest.approx(total / 3, rel=1e-13)
    assert np.all(dx[~mask] == 0)


def test_word_embedding_forward_is_row_lookup() -> None:
    W = np.arange(12.0).reshape(4, 3)
    out, _ = recurrent.word_embedding_forward(np.array([[3, 0], [1, 1]]), W)
    assert_allclose(out, [[W[3], W[0]], [W[1], W[1]]], rtol=0, atol=0)


def test_dls_forward_and_cost_against_direct_formulas() -> None:
    rng = np.random.default_rng(56)
    X, params, Y = _dls_network(rng, (3, 4, 1), 6)
    AL, caches = dls_deep.L_model_forward(X, params)
    hidden = np.maximum(0, params["W1"] @ X + params["b1"])
    expected = 1 / (1 + np.exp(-(params["W2"] @ hidden + params["b2"])))
    assert_allclose(AL, expected, rtol=1e-13)
    assert len(caches) == 2
    assert_allclose(caches[1][0][0], hidden, rtol=1e-13)  # layer 2's linear cache holds A^[1]
    cost = dls_deep.compute_cost(AL, Y)
    assert isinstance(cost, np.ndarray) and cost.shape == (), "np.squeeze of the (1, 1) cost: a 0-d array"
    direct = -np.mean([Y[0, i] * np.log(AL[0, i]) + (1 - Y[0, i]) * np.log(1 - AL[0, i]) for i in range(6)])
    assert float(cost) == pytest.approx(direct, rel=1e-13)
    with pytest.raises(ValueError, match="activation"):
        dls_deep.linear_activation_forward(X, params["W1"], params["b1"], "tanh")


def test_dls_deep_matches_the_public_tests(global_rng) -> None:
    """Values of the current notebook's public_tests.py (np.random.seed draws), the dA0..dA{L-1} keys."""
    assert float(dls_deep.compute_cost(np.array([[.8, .9, .4]]), np.array([[1, 1, 0]]))) == pytest.approx(
        0.2797765635793422, rel=1e-12)
    global_rng(1)
    dZ, A, W, b = (np.random.randn(*shape) for shape in ((3, 4), (5, 4), (3, 5), (3, 1)))
    _, dW, db = dls_deep.linear_backward(dZ, (A, W, b))
    assert_allclose(db, [[-0.14713786], [-0.11313155], [-0.13209101]], atol=1e-8)
    assert_allclose(dW[0], [0.07313866, -0.0976715, -0.87585828, 0.73763362, 0.00785716], atol=1e-8)
    global_rng(3)
    AL, Y = np.random.randn(1, 2), np.array([[1, 0]])
    drawn = [np.random.randn(*shape) for shape in ((4, 2), (3, 4), (3, 1), (3, 2), (3, 2), (1, 3), (1, 1), (1, 2))]
    caches = [((drawn[0], drawn[1], drawn[2]), drawn[3]), ((drawn[4], drawn[5], drawn[6]), drawn[7])]
    grads = dls_deep.L_model_backward(AL, Y, caches)
    assert sorted(grads) == ["dA0", "dA1", "dW1", "dW2", "db1", "db2"]
    assert_allclose(grads["dW1"], [[0.41010002, 0.07807203, 0.13798444, 0.10502167], [0, 0, 0, 0],
                                   [0.05283652, 0.01005865, 0.01777766, 0.0135308]], atol=1e-8)
    assert_allclose(grads["db2"], [[0.15187861]], atol=1e-8)
    legacy = dls_deep.L_model_backward_legacy(AL, Y, caches)
    assert sorted(legacy) == ["dA1", "dA2", "dW1", "dW2", "db1", "db2"]
    assert np.array_equal(legacy["dA1"], grads["dA0"]) and np.array_equal(legacy["dA2"], grads["dA1"])


def test_dls_update_parameters_returns_a_new_dict() -> None:
    rng = np.random.default_rng(57)
    params = {"W1": rng.standard_normal((3, 2)), "b1": rng.standard_normal((3, 1)),
              "W2": rng.standard_normal((1, 3)), "b2": rng.standard_normal((1, 1))}
    before = copy.deepcopy(params)
    grads = {f"d{k}": rng.standard_normal(v.shape) for k, v in params.items()}
    grads["dA0"] = rng.standard_normal((2, 4))  # L_model_backward's extra keys are ignored
    updated = dls_deep.update_parameters(params, grads, 0.1)
    for key, value in params.items():
        assert_allclose(updated[key], before[key] - 0.1 * grads[f"d{key}"], rtol=1e-15)
        assert (value == before[key]).all(), "the arguments are left as they were"


def test_dls_rnn_matches_the_notebook_expected_output(global_rng) -> None:
    """rnn_cell_backward, rnn_backward, lstm_cell_backward and both lstm_backward variants at the
    notebook's np.random.seed(1) draws (2021 notebook; the legacy values the earlier notebook's)."""
    global_rng(1)
    xt, a_prev = np.random.randn(3, 10), np.random.randn(5, 10)
    params = {k: np.random.randn(*s) for k, s in (("Wax", (5, 3)), ("Waa", (5, 5)), ("Wya", (2, 5)),
                                                  ("ba", (5, 1)), ("by", (2, 1)))}
    grads = dls_rnn.rnn_cell_backward(np.random.randn(5, 10), dls_rnn.rnn_cell_forward(xt, a_prev, params)[2])
    assert sorted(grads) == ["dWaa", "dWax", "da_prev", "dba", "dxt"]
    assert grads["dxt"][1][2] == pytest.approx(-1.3872130506, abs=1e-9)
    assert grads["dWaa"][1][2] == pytest.approx(1.15034506685, abs=1e-9)
    assert grads["dba"].shape == (5, 1) and grads["dba"][4, 0] == pytest.approx(0.20023491, abs=1e-8)

    global_rng(1)
    x, a0 = np.random.randn(3, 10, 4), np.random.randn(5, 10)
    params = {k: np.random.randn(*s) for k, s in (("Wax", (5, 3)), ("Waa", (5, 5)), ("Wya", (2, 5)),
                                                  ("ba", (5, 1)), ("by", (2, 1)))}
    caches = dls_rnn.rnn_forward(x, a0, params)[2]
    grads = dls_rnn.rnn_backward(np.random.randn(5, 10, 4), caches)
    assert_allclose(grads["dx"][1][2], [-2.07101689, -0.59255627, 0.02466855, 0.01483317], atol=1e-8)
    assert grads["da0"][2][3] == pytest.approx(-0.314942375127, abs=1e-11)
    assert grads["dWax"][3][1] == pytest.approx(11.2641044965, abs=1e-9)

    gates = (("Wf", (5, 8)), ("bf", (5, 1)), ("Wi", (5, 8)), ("bi", (5, 1)), ("Wo", (5, 8)), ("bo", (5, 1)),
             ("Wc", (5, 8)), ("bc", (5, 1)))
    global_rng(1)
    xt, a_prev, c_prev = np.random.randn(3, 10), np.random.randn(5, 10), np.random.randn(5, 10)
    params = {k: np.random.randn(*s) for k, s in (*gates, ("Wy", (2, 5)), ("by", (2, 1)))}
    cache = dls_rnn.lstm_cell_forward(xt, a_prev, c_prev, params)[3]
    grads = dls_rnn.lstm_cell_backward(np.random.randn(5, 10), np.random.randn(5, 10), cache)
    assert grads["dxt"][1][2] == pytest.approx(3.23055911511, abs=1e-9)
    assert grads["dc_prev"][2][3] == pytest.approx(0.797522038797, abs=1e-11)
    assert grads["dWc"][3][1] == pytest.approx(2.30456216369, abs=1e-9)

    global_rng(1)
    x, a0 = np.random.randn(3, 10, 7), np.random.randn(5, 10)
    params = {k: np.random.randn(*s) for k, s in gates}
    params["Wy"], params["by"] = np.zeros((2, 5)), np.zeros((2, 1))
    caches = dls_rnn.lstm_forward(x, a0, params)[3]
    da = np.random.randn(5, 10, 4)
    grads = dls_rnn.lstm_backward(da, caches)
    assert grads["dx"].shape == (3, 10, 4)
    assert_allclose(grads["dx"][1][2], [0.00218254, 0.28205375, -0.48292508, -0.43281115], atol=1e-8)
    assert grads["da0"][2][3] == pytest.approx(0.312770310257, abs=1e-11)
    assert grads["dbi"][4, 0] == pytest.approx(-0.50848333, abs=1e-8)
    legacy = dls_rnn.lstm_backward_legacy(da, caches)
    assert_allclose(legacy["dx"][1][2], [-0.00173313, 0.08287442, -0.30545663, -0.43281115], atol=1e-8)
    assert legacy["da0"][2][3] == pytest.approx(-0.095911501954, abs=1e-11)
    assert legacy["dbc"][4, 0] == pytest.approx(-0.29691142, abs=1e-8)


# --- the DLS RNNs are CS231n's RNNs transposed ----------------------------------------------------


def test_dls_rnn_equals_cs231n_rnn_transposed() -> None:
    """DLS columns (n, m, T) vs CS231n rows (N, T, D): Wx = Wax^T, Wh = Waa^T, b = ba."""
    rng = np.random.default_rng(61)
    x, a0, params = rng.standard_normal((3, 2, 4)), rng.standard_normal((5, 2)), _dls_rnn_params(rng, 3, 5, 2)
    a, _, caches = dls_rnn.rnn_forward(x, a0, params)
    args = (x.transpose(1, 2, 0), a0.T, params["Wax"].T, params["Waa"].T, params["ba"].ravel())
    h, cache = recurrent.rnn_forward(*args)
    assert_allclose(h, a.transpose(1, 2, 0), rtol=1e-13, atol=1e-14)
    da = rng.standard_normal(a.shape)
    dls = dls_rnn.rnn_backward(da, caches)
    dx, dh0, dWx, dWh, db = recurrent.rnn_backward(da.transpose(1, 2, 0), cache)
    for ours, theirs in ((dls["dx"], dx.transpose(2, 0, 1)), (dls["da0"], dh0.T), (dls["dWax"], dWx.T),
                         (dls["dWaa"], dWh.T), (dls["dba"].ravel(), db)):
        assert_allclose(ours, theirs, rtol=1e-12, atol=1e-13)


def test_dls_lstm_equals_cs231n_lstm_transposed() -> None:
    """CS231n's 4H columns are the gates i, f, o, g; DLS's W* act on [a_prev; xt]."""
    rng = np.random.default_rng(62)
    n_x, n_a = 3, 4
    x, a0, params = rng.standard_normal((n_x, 2, 3)), rng.standard_normal((n_a, 2)), _dls_lstm_params(rng, n_x, n_a, 2)
    order = ("Wi", "Wf", "Wo", "Wc")
    Wx = np.concatenate([params[w][:, n_a:].T for w in order], axis=1)
    Wh = np.concatenate([params[w][:, :n_a].T for w in order], axis=1)
    b = np.concatenate([params["b" + w[1]].ravel() for w in order])
    a, _, _, caches = dls_rnn.lstm_forward(x, a0, params)
    h, cache = recurrent.lstm_forward(x.transpose(1, 2, 0), a0.T, Wx, Wh, b)
    assert_allclose(h, a.transpose(1, 2, 0), rtol=1e-12, atol=1e-13)
    da = rng.standard_normal(a.shape)
    dls = dls_rnn.lstm_backward(da, caches)
    dx, dh0, dWx, dWh, db = recurrent.lstm_backward(da.transpose(1, 2, 0), cache)
    assert_allclose(dls["dx"], dx.transpose(2, 0, 1), rtol=1e-12, atol=1e-13)
    assert_allclose(dls["da0"], dh0.T, rtol=1e-12, atol=1e-13)
    for k, w in enumerate(order):
        block = slice(k * n_a, (k + 1) * n_a)
        assert_allclose(dls["d" + w], np.concatenate([dWh[:, block].T, dWx[:, block].T], axis=1), rtol=1e-12,
                        atol=1e-13)
        assert_allclose(dls["db" + w[1]].ravel(), db[block], rtol=1e-12, atol=1e-13)


def test_the_legacy_lstm_backward_is_not_the_gradient_of_sum_da_a() -> None:
    """The two lstm_backward variants differ beyond the tolerance: the comparison tells them apart."""
    _, _, _, caches, da = _dls_lstm_sequence(45, 3)
    legacy = dls_rnn.lstm_backward_legacy(da, caches)
    expected = {label: numeric_grad for label, _, numeric_grad in computed("dls_lstm_sequence")}
    assert not matches(legacy["dWf"], expected["dWf"])
    assert not matches(legacy["da0"], expected["da0"])
