"""``check_vjp``'s random-direction screen: a correct layer passes on the screen alone (with a
figure per input), a wrong one fails and the failure is localised to the element (by the
per-element check on a small input, by bisection on a large one), the full mode agrees, and
the screen's tolerance holds what gradcheck/vjp/directional.py says of it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from gradcheck import UsageError, check_vjp
from gradcheck.vjp import directional
from gradcheck.vjp.check import FULL_LIMIT

sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))

from layers import Conv2D, LayerNorm, MaxPool2D  # noqa: E402


class ConvGlue:
    """The glue of docs/usage.md: parameters set on the layer, its gradients read back. Counts
    the calls and records their order."""

    def __init__(self, rng: np.random.Generator, wrong=None) -> None:
        self.layer = Conv2D(8, 8, 3, rng=rng)
        self.calls: list[str] = []
        self.wrong = wrong

    def forward(self, x, W, b):
        self.calls.append("forward")
        self.layer.W, self.layer.b = W, b
        return self.layer.forward(x)

    def backward(self, G, x, W, b):
        self.calls.append("backward")
        grads = [self.layer.backward(G).copy(), self.layer.dW.copy(), self.layer.db.copy()]
        if self.wrong is not None:
            self.wrong(grads)
        return tuple(grads)


def conv_inputs(rng: np.random.Generator, glue: ConvGlue, shape=(2, 24, 24, 8)):
    return rng.standard_normal(shape), glue.layer.W.copy(), rng.standard_normal(8)


def test_a_correct_class_layer_passes_on_the_screen_with_a_figure_per_input():
    rng = np.random.default_rng(0)
    glue = ConvGlue(rng)
    result = check_vjp(glue.forward, glue.backward, conv_inputs(rng, glue), names=["x", "W", "b"])
    assert result.passed, result.message
    assert [f.method for f in result.figures] == ["screen"] * 3
    for figure, name in zip(result.figures, ["x", "W", "b"], strict=True):
        assert figure.name == name and figure.max_error <= figure.tolerance and figure.forward_calls == 12
        assert f"  {name}: max error " in result.message
    assert result.forward_calls == 1 + 3 * 12
    assert result.message.splitlines()[:2] == ["every gradient matches its central difference",
                                               "per input (max error against tolerance):"]


def test_backward_is_called_once_right_after_the_forward_at_the_inputs():
    rng = np.random.default_rng(1)
    glue = ConvGlue(rng, wrong=lambda grads: grads[1].__setitem__((0, 0, 0, 0), grads[1][0, 0, 0, 0] + 1.0))
    check_vjp(glue.forward, glue.backward, conv_inputs(rng, glue, (1, 6, 6, 8)))
    assert glue.calls[:2] == ["forward", "backward"] and glue.calls.count("backward") == 1


def test_an_error_in_one_element_of_a_large_input_is_localised_by_bisection():
    rng = np.random.default_rng(2)
    glue = ConvGlue(rng, wrong=lambda grads: grads[0].__setitem__((1, 5, 7, 3), grads[0][1, 5, 7, 3] * 1.001))
    inputs = conv_inputs(rng, glue)
    assert inputs[0].size > FULL_LIMIT
    result = check_vjp(glue.forward, glue.backward, inputs, names=["x", "W", "b"])
    assert not result.passed
    x, W, b = result.figures
    assert (x.method, x.passed, x.worst_index) == ("bisection", False, [1, 5, 7, 3])
    assert x.checked < 20 and x.forward_calls < 600  # a few block screens, not 2 * 9216 calls
    assert W.passed and b.passed and W.method == b.method == "screen"
    assert "gradient of x does not match the central difference" in result.message
    assert "Mismatched elements: at least 1 / 9216 (found by bisection of the failed random-direction screen" \
        in result.message
    assert "  [1, 5, 7, 3]: analytic=" in result.message
    assert [c.passed for c in result.comparisons] == [False, True, True]


def test_an_error_in_one_element_of_a_small_input_is_localised_per_element():
    rng = np.random.default_rng(3)
    x, W, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)

    def wrong_backward(G, x, W, b):
        dW = x.T @ G
        dW[2, 1] += 1e-3
        return G @ W.T, dW, G.sum(axis=0)

    result = check_vjp(lambda x, W, b: x @ W + b, wrong_backward, (x, W, b), names=["x", "W", "b"])
    assert not result.passed
    assert "Mismatched elements: 1 / 6 (16.7%)\n  [2, 1]: analytic=" in result.message
    assert result.figures[1].method == "per element" and result.figures[1].worst_index == [2, 1]
    assert [f.passed for f in result.figures] == [True, False, True]


def test_an_error_in_one_element_of_a_nonlinear_layer_is_caught_and_localised():
    rng = np.random.default_rng(4)
    layer = LayerNorm(8)
    layer.gamma = rng.standard_normal(8)

    def backward(G, x):
        dx = layer.backward(G).copy()
        dx[1, 10, 3, 5] *= 1 + 1e-5
        return dx

    x = rng.standard_normal((2, 25, 25, 8))  # 10,000 elements
    result = check_vjp(layer.forward, backward, (x,), names=["x"])
    assert not result.passed and result.figures[0].worst_index == [1, 10, 3, 5]
    assert check_vjp(layer.forward, lambda G, x: layer.backward(G), (x,)).passed


def test_full_mode_compares_every_element_and_agrees_with_the_screen():
    rng = np.random.default_rng(5)
    glue = ConvGlue(rng)
    inputs = conv_inputs(rng, glue, (1, 5, 5, 8))
    full = check_vjp(glue.forward, glue.backward, inputs, mode="full", names=["x", "W", "b"])
    assert full.passed and [f.method for f in full.figures] == ["per element"] * 3
    assert full.forward_calls == 1 + 2 * sum(a.size for a in inputs)
    assert [f.checked for f in full.figures] == [a.size for a in inputs]
    wrong = ConvGlue(np.random.default_rng(5), wrong=lambda grads: grads[2].__setitem__(3, grads[2][3] * 2))
    for mode in ("screen", "full"):
        result = check_vjp(wrong.forward, wrong.backward, inputs, mode=mode, names=["x", "W", "b"])
        assert [f.passed for f in result.figures] == [True, True, False], mode
        assert "Mismatched elements: 1 / 8 (12.5%)\n  [3]: analytic=" in result.message


def test_a_screen_failure_below_the_per_element_tolerance_passes_with_a_warning():
    rng = np.random.default_rng(6)
    x, W = rng.standard_normal((20, 10)), rng.standard_normal((10, 5))

    def slightly_off(G, x, W):  # every element 1e-8 too large: the screen sees it, rtol=1e-6 does not
        return (G @ W.T) * (1 + 1e-8), (x.T @ G) * (1 + 1e-8)

    result = check_vjp(lambda x, W: x @ W, slightly_off, (x, W), names=["x", "W"])
    assert result.passed
    assert len(result.warnings) == 2
    assert result.warnings[0].startswith("x: the random-direction screen failed (|numeric - analytic| = ")
    assert "but all 200 elements pass their per-element check (rtol=1e-06, atol=1e-08)" in result.warnings[0]
    strict = check_vjp(lambda x, W: x @ W, slightly_off, (x, W), names=["x", "W"], rtol=1e-10, atol=0.0)
    assert not strict.passed and "Mismatched elements: 200 / 200" in strict.message
    exact = check_vjp(lambda x, W: x @ W, lambda G, x, W: (G @ W.T, x.T @ G), (x, W))
    assert exact.passed and exact.warnings == []


def test_kinks_crossed_only_by_the_middle_steps_leave_the_verdict_to_the_fine_step():
    rng = np.random.default_rng(7)
    signs = rng.choice([-1.0, 1.0], size=2000)
    x = signs * rng.uniform(3e-4, 9e-4, size=2000)  # beyond the fine pair's 2 * 2^-16, within the middle's
    result = check_vjp(lambda x: np.maximum(x, 0.0), lambda G, x: G * (x > 0), (x,), names=["x"])
    assert result.passed and result.warnings == [], result.message
    assert result.figures[0].method == "screen" and result.figures[0].step == directional.FINE


def test_a_relu_layer_with_a_wrong_backward_fails_on_the_fine_step_too():
    rng = np.random.default_rng(8)
    x = rng.standard_normal(3000)
    x[np.abs(x) < 1e-3] = 0.5
    result = check_vjp(lambda x: np.maximum(x, 0.0), lambda G, x: G * (x >= -0.01), (x,), names=["x"])
    assert not result.passed and result.figures[0].method == "bisection"


def test_steps_where_the_function_is_not_finite_give_no_verdict():
    rng = np.random.default_rng(9)
    x = rng.uniform(2e-4, 1.0, size=50)  # x - 2^-11 u < 0 for some elements: sqrt is NaN there

    def root(x):
        with np.errstate(invalid="ignore"):
            return np.sqrt(x)

    result = check_vjp(root, lambda G, x: G / (2 * np.sqrt(x)), (x,))
    assert result.passed and result.figures[0].method == "screen", result.message
    assert not check_vjp(root, lambda G, x: G / np.sqrt(x), (x,)).passed


def test_max_pooling_passes_and_a_mask_from_the_wrong_window_fails():
    rng = np.random.default_rng(10)
    pool = MaxPool2D(2)
    x = rng.standard_normal((2, 24, 24, 8))
    assert check_vjp(pool.forward, lambda G, x: pool.backward(G), (x,)).passed

    def shifted(G, x):  # every window's gradient to the element left of its maximum
        return np.roll(pool.backward(G), 1, axis=2)

    assert not check_vjp(pool.forward, shifted, (x,)).passed


def fine_estimate_at_a_kink(t0: float) -> directional.Estimate:
    """The fine estimate for phi(t) = |t - t0| / 2 at x = 0 (direction 1, G = 1), with the
    analytic slope phi'(0)."""

    def kink(x):
        return np.array([0.5 * abs(x[0] - t0)])

    x = np.zeros(1)
    slope = np.array([-0.5 if t0 > 0 else 0.5])
    screen = directional.screen(lambda points: [kink(p) for p in points], x, np.ones(1), slope, np.ones(1),
                                kink(x), directional.default_steps(x))
    return screen.estimates[0]


def test_a_kink_crossed_by_the_fine_pairs_outer_points_passes_with_a_margin_of_three():
    """The module docstring's claim: for a kink at h <= |t0| (< 2h moves R, beyond does not)
    the fine estimate's error is at most a third of its tolerance."""
    h = directional.FINE
    for t0 in [*np.linspace(h, 3 * h, 201), *np.linspace(-3 * h, -h, 201)]:
        estimate = fine_estimate_at_a_kink(float(t0))
        assert estimate.error <= estimate.tolerance / 3 * (1 + 1e-9), t0 / h


def test_a_kink_closer_to_x_than_half_the_fine_step_fails_the_screen():
    h = directional.FINE
    for t0 in [*np.linspace(h / 100, h / 2, 50), *np.linspace(-h / 2, -h / 100, 50)]:
        assert not fine_estimate_at_a_kink(float(t0)).passed, t0 / h


def test_mode_must_be_screen_or_full():
    with pytest.raises(UsageError, match=r"mode must be 'screen' or 'full', got 'fast'"):
        check_vjp(np.sin, lambda G, x: G * np.cos(x), (np.ones(3),), mode="fast")


def test_outputs_and_gradients_are_copied_before_later_calls_overwrite_a_layers_buffers():
    class Scale:
        """Writes its output and its gradient into buffers it reuses on every call."""

        def __init__(self) -> None:
            self.out, self.grad = np.zeros(5), np.zeros(5)

        def forward(self, x):
            np.multiply(x, 3.0, out=self.out)
            self.grad[:] = 0.0  # the next forward clears the gradient buffer
            return self.out

        def backward(self, G):
            np.multiply(G, 3.0, out=self.grad)
            return self.grad

    layer = Scale()
    x = np.random.default_rng(11).standard_normal(5)
    for mode in ("screen", "full"):
        assert check_vjp(layer.forward, lambda G, x: layer.backward(G), (x,), mode=mode).passed
        assert not check_vjp(layer.forward, lambda G, x: layer.backward(G) * 1.001, (x,), mode=mode).passed
