"""``check_vjp`` / ``assert_vjp``: kinks are named, the course's ``(dout, cache)`` backward is
accepted (``cache=True``), ``check_vjp`` returns a result and ``assert_vjp`` raises."""

from __future__ import annotations

import re

import numpy as np
import pytest

import reference
from gradcheck import GradcheckError, UsageError, assert_vjp, check_vjp


def relu(x):
    return np.maximum(0.0, x)


def relu_backward(G, x):
    return G * (x > 0)


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 1.0, size=shape)


def test_a_correct_relu_drawn_at_zero_fails_with_a_kink_warning():
    x = np.array([[0.5, 0.0, -0.3], [1.2, -0.7, 0.0]])
    result = check_vjp(relu, relu_backward, (x,), names=["x"])
    assert not result.passed
    assert sorted(w.split(" sits")[0] for w in result.warnings) == ["x[0, 1] = 0", "x[1, 2] = 0"]
    for warning in result.warnings:
        assert "sits at a kink: the function is not differentiable there" in warning
        assert "e.g. ReLU at x == 0 or a tie in a max" in warning
        assert f"\nwarning: {warning}" in result.message


def test_a_correct_relu_away_from_zero_passes():
    x = away_from_zero(np.random.default_rng(0), (3, 4))
    result = check_vjp(relu, relu_backward, (x,))
    assert result.passed and result.warnings == []
    first, title, figure = result.message.splitlines()
    assert first == "every gradient matches its central difference"
    assert title == "per input (max error against tolerance):"
    assert re.fullmatch(r"  inputs\[0\]: max error \S+ <= tolerance \S+ \(along one random direction: "
                        r"[RD]\(h\) at h = 2\^-\d+; 12 forward calls\)", figure), figure


def test_a_wrong_relu_backward_fails_without_a_kink_warning():
    x = away_from_zero(np.random.default_rng(1), (3, 4))
    result = check_vjp(relu, lambda G, x: G * (x < 0), (x,), names=["x"])
    assert not result.passed and result.warnings == []
    assert "gradient of x does not match the central difference" in result.message


def test_a_tie_in_a_max_is_a_kink():
    def row_max(x):
        return x.max(axis=1)

    def row_max_backward(G, x):  # all of the gradient to the first maximum: a valid subgradient
        grad = np.zeros_like(x)
        grad[np.arange(x.shape[0]), x.argmax(axis=1)] = G
        return grad

    x = np.array([[0.3, 0.9, 0.9], [0.1, -0.2, 0.4]])
    result = check_vjp(row_max, row_max_backward, (x,), names=["x"])
    assert not result.passed
    assert sorted(w.split(" sits")[0] for w in result.warnings) == ["x[0, 1] = 0.9", "x[0, 2] = 0.9"]


def relu_forward(x):
    return np.maximum(0.0, x), x


def relu_backward_from_cache(dout, cache):
    return dout * (cache > 0)


def test_cache_true_accepts_the_course_signature():
    x = away_from_zero(np.random.default_rng(2), (2, 5))
    assert check_vjp(relu_forward, relu_backward_from_cache, (x,), cache=True).passed
    wrong = check_vjp(relu_forward, lambda dout, cache: dout, (x,), cache=True)
    assert not wrong.passed and "does not match the central difference" in wrong.message


def test_cache_true_checks_the_course_conv_layer():
    rng = np.random.default_rng(3)
    A, W, b = rng.standard_normal((2, 4, 5, 2)), rng.standard_normal((3, 3, 2, 3)), rng.standard_normal((1, 1, 1, 3))
    hp = {"stride": 2, "pad": 1}
    result = check_vjp(lambda A, W, b: reference.conv_forward(A, W, b, hp), reference.conv_backward, (A, W, b),
                       cache=True, names=["A_prev", "W", "b"])
    assert result.passed, result.message

    def db_doubled(dZ, cache):
        dA, dW, db = reference.conv_backward(dZ, cache)
        return dA, dW, 2 * db

    wrong = check_vjp(lambda A, W, b: reference.conv_forward(A, W, b, hp), db_doubled, (A, W, b), cache=True,
                      names=["A_prev", "W", "b"])
    assert not wrong.passed
    assert [c.passed for c in wrong.comparisons] == [True, True, False]
    assert "gradient of b does not match" in wrong.message


def test_cache_true_needs_a_forward_that_returns_out_and_cache():
    with pytest.raises(UsageError, match=r"cache=True: forward must return \(out, cache\), got ndarray"):
        check_vjp(relu, relu_backward_from_cache, (np.ones(3),), cache=True)


def test_check_returns_and_assert_raises():
    x = np.array([0.0, 1.0])
    result = check_vjp(relu, relu_backward, (x,))  # no exception: a result
    assert not result.passed
    with pytest.raises(GradcheckError, match=r"(?s)does not match the central difference.*sits at a kink"):
        assert_vjp(relu, relu_backward, (x,))
    assert assert_vjp(relu, relu_backward, (np.array([0.5, -1.0]),)).passed
