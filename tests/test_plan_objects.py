"""A library author's own layers: a class-based conv and pooling layer (``forward(X)`` /
``backward(dY)``, parameters and gradients kept on the object, as numpy-from-scratch libraries
write them) checked through a plan of four specs, isolated and in process; a wrong gradient
in one of them fails that quantity alone."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

import gradcheck
import reference
from gradcheck.specs import Array, Layer, Param, Plan
from gradcheck.specs.objects import Methods

LIBRARY = Path(__file__).parent / "submissions" / "class_layers.py"
CONV = {"N": (1, 2), "H": (1, 4), "W": (1, 4), "C": (1, 3), "F": (1, 3), "fr": (1, 3), "fc": (1, 3),
        "pad": (0, 2), "stride": (1, 2)}
POOL = {"N": (1, 2), "H": (1, 4), "W": (1, 4), "C": (1, 2), "fr": (1, 3), "fc": (1, 3), "stride": (1, 2)}


def _padded(dims):  # windows that fit: the input at least as large as the kernel
    return {"Hp": max(dims["H"], dims["fr"]), "Wp": max(dims["W"], dims["fc"])}


def conv_reference(X, W, b, out_ch, kernel_shape, pad, stride, in_ch):
    return reference.conv_forward(X, W, b, {"pad": pad, "stride": stride})


def pool_reference(X, kernel_shape, stride):
    return reference.pool_forward(X, {"f": tuple(kernel_shape), "stride": stride}, "max")


def _window_gaps(inputs, dims):
    """Max pooling bends where a window's two largest values meet: their gaps stay clear of 0."""
    X, (fr, fc), s = inputs["X"], inputs["kernel_shape"], inputs["stride"]
    gaps = []
    for i in range(0, X.shape[1] - fr + 1, s):
        for j in range(0, X.shape[2] - fc + 1, s):
            window = np.sort(X[:, i : i + fr, j : j + fc, :].reshape(X.shape[0], -1, X.shape[3]), axis=1)
            if window.shape[1] > 1:
                gaps.append((window[:, -1] - window[:, -2]).reshape(-1))
    return np.concatenate(gaps) if gaps else np.zeros(0)


conv_forward = Layer(
    "Conv2D.forward", "forward",
    (Array("X", ("N", "Hp", "Wp", "C")), Array("W", ("fr", "fc", "C", "F")), Array("b", (1, 1, 1, "F")),
     Param("out_ch", lambda dims, rng: dims["F"]), Param("kernel_shape", lambda dims, rng: (dims["fr"], dims["fc"])),
     Param("pad", lambda dims, rng: dims["pad"]), Param("stride", lambda dims, rng: dims["stride"]),
     Param("in_ch", lambda dims, rng: dims["C"])),
    ("Y", "cache"), conv_reference, CONV, derived=_padded, operations=64,
    methods=Methods(cls="Conv2D", call="forward", init=("out_ch", "kernel_shape", "pad", "stride"),
                    early={"in_ch": "in_ch"}, prepare=("_init_params",),
                    set={"W": "parameters[W]", "b": "parameters[b]"}, inputs=("X",)),
)
conv_backward = Layer(
    "Conv2D.backward", "backward", (), ("dX", "dW", "db"), None, CONV, derived=_padded, forward="Conv2D.forward",
    upstream="dLdY", grads={"dX": "X", "dW": "W", "db": "b"},
    methods=Methods(cls="Conv2D", call="backward", read=("gradients[W]", "gradients[b]")),
)
pool_forward = Layer(
    "Pool2D.forward", "forward",
    (Array("X", ("N", "Hp", "Wp", "C")), Param("kernel_shape", lambda dims, rng: (dims["fr"], dims["fc"])),
     Param("stride", lambda dims, rng: dims["stride"])),
    ("Y", "cache"), pool_reference, POOL, derived=_padded, kinks=_window_gaps,
    methods=Methods(cls="Pool2D", call="forward", init=("kernel_shape", "stride"), inputs=("X",)),
)
pool_backward = Layer(
    "Pool2D.backward", "backward", (), ("dX",), None, POOL, derived=_padded, forward="Pool2D.forward",
    upstream="dLdY", grads={"dX": "X"}, methods=Methods(cls="Pool2D", call="backward"),
)
LIBRARY_PLAN = Plan("my-library", "a class-based layer library", (conv_forward, conv_backward, pool_forward,
                                                                   pool_backward))


def _load(path: Path):
    spec = importlib.util.spec_from_file_location("class_layers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_class_based_library_passes_its_own_plan_isolated() -> None:
    report = gradcheck.check(str(LIBRARY), assignment=LIBRARY_PLAN, examples=60)
    assert report.plan == "my-library"
    assert {(c.function, c.quantity): c.status for c in report.checks} == {
        ("Conv2D.forward", "Y"): "pass", ("Conv2D.backward", "dX"): "pass", ("Conv2D.backward", "dW"): "pass",
        ("Conv2D.backward", "db"): "pass", ("Pool2D.forward", "Y"): "pass", ("Pool2D.backward", "dX"): "pass"}


def test_a_wrong_parameter_gradient_on_the_object_fails_alone(tmp_path: Path) -> None:
    wrong = tmp_path / "class_layers.py"
    wrong.write_text(LIBRARY.read_text().replace(
        'self.gradients["b"] += dLdY.sum(axis=(0, 1, 2))', 'self.gradients["b"] += dLdY.mean(axis=(0, 1, 2))'))
    report = gradcheck.check(_load(wrong), isolate=False, assignment=LIBRARY_PLAN, examples=60)
    failing = {(c.function, c.quantity) for c in report.checks if c.status != "pass"}
    assert failing == {("Conv2D.backward", "db")}
    message = next(c.message for c in report.checks if c.quantity == "db")
    assert "Conv2D.backward: db does not match central differences of the reference Conv2D.forward" in message


def test_a_library_without_the_class_reports_it_missing() -> None:
    report = gradcheck.check(reference, isolate=False, assignment=LIBRARY_PLAN, examples=5)
    assert {c.status for c in report.checks if c.function.startswith(("Conv2D", "Pool2D"))} == {"missing"}


def dense_reference(x, W):
    return x @ W, (x, W)


def test_a_function_plan_of_ones_own_as_the_docs_write_it(tmp_path: Path) -> None:
    dims = {"N": (1, 4), "D": (1, 4), "M": (1, 4)}
    dense = Layer("dense_forward", "forward", (Array("x", ("N", "D")), Array("W", ("D", "M"))), ("out", "cache"),
                  dense_reference, dims=dims)
    dense_backward = Layer("dense_backward", "backward", (), ("dx", "dW"), None, dims=dims,
                           forward="dense_forward", grads={"dx": "x", "dW": "W"})
    plan = Plan("mine", "my layers", (dense, dense_backward))
    source = ("def dense_forward(x, W):\n    return x @ W, (x, W)\n\n"
              "def dense_backward(dout, cache):\n    x, W = cache\n    return dout @ W.T, x.T @ dout\n")
    mine = tmp_path / "my_layers.py"
    mine.write_text(source)
    assert gradcheck.check(str(mine), assignment=plan, examples=30).passed
    mine.write_text(source.replace("x.T @ dout", "x.T @ dout / len(x)"))
    report = gradcheck.check(str(mine), assignment=plan, examples=30)
    assert {(c.function, c.quantity) for c in report.checks if c.status != "pass"} == {("dense_backward", "dW")}
