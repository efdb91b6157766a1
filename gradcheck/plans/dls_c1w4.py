"""The Deep Learning Specialization, course 1 week 4: "Building your Deep Neural Network: Step
by Step" (examples are columns: A (n_prev, m), W (n, n_prev), b (n, 1)).

The course puts the 1/m of the mean cost into ``linear_backward``: its dW and db are the
gradients of ``sum(dZ * Z)`` divided by m (``scale``), its dA_prev is not. ``relu``,
``sigmoid`` and their backwards come from the course's ``dnn_utils`` (``provided``): they are
checked when a file defines or imports them, and never required. ``L_model_backward`` (a dict of
every layer's gradients, some of them with respect to the network's activations) brings its own
case (``l_model_backward_case``).
"""

from __future__ import annotations

import numpy as np

from gradcheck.plans.shapes import affine_magnitude
from gradcheck.specs.spec import Array, Layer, Param, Plan
from reference import dls_deep as ref

LINEAR = {"n_prev": (1, 5), "n": (1, 5), "m": (1, 5)}
UNITS = {"n": (1, 5), "m": (1, 6)}
PER_EXAMPLE = {"m": lambda dims: 1.0 / dims["m"]}  # dW, db of the mean cost over the m examples


def _activation(dims, rng) -> str:
    return str(rng.choice(["relu", "sigmoid"]))


def _relu_inputs(inputs, dims) -> np.ndarray:
    """Where a ReLU layer bends: its pre-activations W A_prev + b (none for a sigmoid layer)."""
    if inputs["activation"] != "relu":
        return np.zeros(0)
    return inputs["W"] @ inputs["A_prev"] + inputs["b"]


def _parameters(dims, rng) -> dict[str, np.ndarray]:
    """W1, b1, ..., WL, bL for layer sizes n0 (the input's), n1, ..., nL = 1 (L from the dims;
    hidden layers past the second take n1, n2 in turn)."""
    sizes = [dims["n_x"], *(dims[f"n{(layer - 1) % 2 + 1}"] for layer in range(1, dims["L"])), 1]
    parameters = {}
    for layer in range(1, len(sizes)):
        parameters[f"W{layer}"] = rng.standard_normal((sizes[layer], sizes[layer - 1]))
        parameters[f"b{layer}"] = rng.standard_normal((sizes[layer], 1))
    return parameters


def _hidden_inputs(inputs, dims) -> np.ndarray:
    """Every ReLU layer's pre-activations (layers 1..L-1)."""
    parameters, A = inputs["parameters"], inputs["X"]
    L = len(parameters) // 2
    bends = []
    for layer in range(1, L):
        Z = parameters[f"W{layer}"] @ A + parameters[f"b{layer}"]
        bends.append(Z.reshape(-1))
        A = np.maximum(0.0, Z)
    return np.concatenate(bends) if bends else np.zeros(0)


sigmoid = Layer("sigmoid", "forward", (Array("Z", ("n", "m")),), ("A", "cache"), ref.sigmoid, UNITS, provided=True)
relu = Layer("relu", "forward", (Array("Z", ("n", "m")),), ("A", "cache"), ref.relu, UNITS,
             kinks=lambda inputs, dims: inputs["Z"], provided=True)
relu_backward = Layer("relu_backward", "backward", (), ("dZ",), ref.relu_backward, UNITS, forward="relu",
                      upstream="dA", grads={"dZ": "Z"}, provided=True)
sigmoid_backward = Layer("sigmoid_backward", "backward", (), ("dZ",), ref.sigmoid_backward, UNITS,
                         forward="sigmoid", upstream="dA", grads={"dZ": "Z"}, provided=True)
linear_forward = Layer(
    "linear_forward", "forward", (Array("A", ("n_prev", "m")), Array("W", ("n", "n_prev")), Array("b", ("n", 1))),
    ("Z", "cache"), ref.linear_forward, LINEAR, magnitude=affine_magnitude("A", "W", "b"), operations=24,
)
linear_activation_forward = Layer(
    "linear_activation_forward", "forward",
    (Array("A_prev", ("n_prev", "m")), Array("W", ("n", "n_prev")), Array("b", ("n", 1)),
     Param("activation", _activation)),
    ("A", "cache"), ref.linear_activation_forward, LINEAR, magnitude=affine_magnitude("A_prev", "W", "b"),
    operations=32, kinks=_relu_inputs,
)
L_model_forward = Layer(
    "L_model_forward", "forward", (Array("X", ("n_x", "m")), Param("parameters", _parameters)), ("AL", "caches"),
    ref.L_model_forward, {"L": (1, 3), "n_x": (1, 4), "n1": (1, 4), "n2": (1, 4), "m": (1, 5)},
    operations=96, kinks=_hidden_inputs, cache="caches",
)
compute_cost = Layer(
    "compute_cost", "loss", (Array("AL", (1, "m"), "probabilities"), Array("Y", (1, "m"), "binary")), ("cost",),
    ref.compute_cost, {"m": (1, 8)}, operations=32,
)
linear_backward = Layer(
    "linear_backward", "backward", (), ("dA_prev", "dW", "db"), ref.linear_backward, LINEAR,
    forward="linear_forward", upstream="dZ", grads={"dA_prev": "A", "dW": "W", "db": "b"},
    scale={"dW": PER_EXAMPLE["m"], "db": PER_EXAMPLE["m"]},
)
linear_activation_backward = Layer(
    "linear_activation_backward", "backward", (), ("dA_prev", "dW", "db"), ref.linear_activation_backward, LINEAR,
    forward="linear_activation_forward", upstream="dA", passes=("activation",),
    grads={"dA_prev": "A_prev", "dW": "W", "db": "b"}, scale={"dW": PER_EXAMPLE["m"], "db": PER_EXAMPLE["m"]},
)

PLAN = Plan(
    "dls-c1w4",
    "Deep Learning Specialization, course 1 week 4 (Building your Deep Neural Network: Step by Step)",
    (sigmoid, relu, relu_backward, sigmoid_backward, linear_forward, linear_activation_forward, L_model_forward,
     compute_cost, linear_backward, linear_activation_backward),
    signature=("linear_forward", "linear_activation_forward", "L_model_forward", "compute_cost", "linear_backward",
               "linear_activation_backward", "L_model_backward"),
    command="gradcheck check dnn_step_by_step.py",
)


# --- L_model_backward: a whole network's backward, its own case -----------------------------------


def _cost(parameters, X, Y) -> np.ndarray:
    """J of the reference network: compute_cost(L_model_forward(X, parameters)[0], Y)."""
    return np.array(float(ref.compute_cost(ref.L_model_forward(X, parameters)[0], Y)))


def _tail_cost(parameters, A, Y, first: int) -> np.ndarray:
    """J as a function of A^[first - 1], the activation layer ``first`` takes (layers first..L run)."""
    L = len(parameters) // 2
    for index in range(first, L + 1):
        A, _ = ref.linear_activation_forward(A, parameters[f"W{index}"], parameters[f"b{index}"],
                                             "sigmoid" if index == L else "relu")
    return np.array(float(ref.compute_cost(A, Y)))


def _activation(parameters, X, index: int) -> np.ndarray:
    """A^[index] of the reference network (A^[0] = X)."""
    A = X
    for layer in range(1, index + 1):
        A, _ = ref.linear_activation_forward(A, parameters[f"W{layer}"], parameters[f"b{layer}"], "relu")
    return A


OUTPUT_RANGE = 3.0  # |Z^[L]| at most this: AL in [0.047, 0.953]


def _moderate_output(parameters, X, L: int) -> dict[str, np.ndarray]:
    """``parameters`` with W^[L], b^[L] scaled so that every output pre-activation is within
    ``OUTPUT_RANGE``: a saturated sigmoid (AL rounded to 1) makes the cost's differences
    rounding noise, and no gradient can be judged by them."""
    A_last = _activation(parameters, X, L - 1)
    Z_last = parameters[f"W{L}"] @ A_last + parameters[f"b{L}"]
    largest = float(np.abs(Z_last).max(initial=0.0))
    if largest <= OUTPUT_RANGE:
        return parameters
    shrink = OUTPUT_RANGE / largest
    return {**parameters, f"W{L}": parameters[f"W{L}"] * shrink, f"b{L}": parameters[f"b{L}"] * shrink}


def l_model_backward_case(ctx, plan, layer, dims, seed, quantities, *, first=False, full=False):
    """``L_model_backward(AL, Y, caches)`` with AL and caches from the submission's own
    ``L_model_forward(X, parameters)``: each ``dW{l}``, ``db{l}`` against central differences of
    the reference network's cost J with respect to ``W{l}``, ``b{l}``; each activation gradient
    against m times those of J with respect to that activation (the course's dAL is of the summed
    cost), under the current notebook's keys (``dA{l}`` for A^[l], l = 0..L-1) or the 2017-2020
    ones (``dA{l + 1}``). One verdict, ``grads``: its first key that does not match."""
    from gradcheck.boundary.backend import Call
    from gradcheck.boundary.values import CacheRef
    from gradcheck.engine.checks.case import CaseProblem, CaseVerdict, explain_call
    from gradcheck.specs.cases import _combined, _gradient_verdict, value_tolerance
    from gradcheck.specs.draw import draw_inputs
    from gradcheck.verdict.compare import describe, validate_array

    forward = plan.layer("L_model_forward")
    inputs = draw_inputs(forward, dims, seed)
    X, parameters = inputs["X"], inputs["parameters"]
    L, m = len(parameters) // 2, dims["m"]
    parameters = _moderate_output(parameters, X, L)
    Y = np.random.default_rng([seed, 5]).integers(0, 2, size=(1, m)).astype(np.float64)
    (made,) = yield [Call(forward.name, (X, parameters), (1,), collect_args=False)]
    if not made.ok:
        raise CaseProblem("error", f"{layer.name} takes what {forward.name} returns, and "
                          f"{explain_call(forward.name, made)}")
    if not isinstance(made.value, tuple | list) or len(made.value) != 2 or not isinstance(made.value[1], CacheRef):
        raise CaseProblem("error", f"{layer.name} takes what {forward.name} returns, and {forward.name} returned "
                          f"{describe(made.value)}; expected a tuple (AL, caches)")
    AL, problem = validate_array(made.value[0], "AL", (1, m))
    if problem:
        raise CaseProblem("error", f"{layer.name} takes the AL {forward.name} returns: {problem}")
    outcome = yield from ctx.call(layer.name, (AL, Y, made.value[1]))
    ctx.check_unmodified(layer.name, outcome, {0: ("AL", AL), 1: ("Y", Y)})
    grads = outcome.value
    shown = {"X": X, "parameters": parameters, "Y": Y}
    if not isinstance(grads, dict):
        return _combined({"grads": CaseVerdict("fail", f"{layer.name} returned {describe(grads)}; expected the "
                                               "dict grads", inputs=shown)})
    shift = 1 if "dA0" not in grads and f"dA{L}" in grads else 0  # the 2017-2020 notebook's keys
    J = _cost(parameters, X, Y)
    floor = value_tolerance(forward, J, float(np.abs(X).max(initial=0.0))) / 4.0
    def by_parameter(name):
        return lambda points: [_cost({**parameters, name: point}, X, Y) for point in points]

    def by_activation(index):
        return lambda points: [_tail_cost(parameters, point, Y, index + 1) for point in points]

    targets = [(f"d{name}", parameters[name], by_parameter(name), 1.0)
               for index in range(1, L + 1) for name in (f"W{index}", f"b{index}")]
    targets += [(f"dA{index + shift}", _activation(parameters, X, index), by_activation(index), float(m))
                for index in range(L)]
    for number, (key, x, evaluate, factor) in enumerate(targets):
        if key not in grads:
            return _combined({"grads": CaseVerdict("fail", f"grads has no {key!r} (it has "
                                                   f"{', '.join(map(repr, grads)) or 'nothing'})", inputs=shown)})
        gradient, problem = validate_array(grads[key], f"grads[{key!r}]", x.shape)
        if problem:
            return _combined({"grads": CaseVerdict("fail", problem, inputs=shown)})
        rng = np.random.default_rng([seed, 6, number])
        verdict = _gradient_verdict(ctx, evaluate, x, gradient, np.array(1.0), J, floor, rng, shown, full, factor)
        if not verdict.passed:
            verdict.message = f"grads[{key!r}]:\n{verdict.message}"
            return _combined({"grads": verdict})
    verdict = CaseVerdict("pass", inputs=shown)
    if shift:
        verdict.warnings.append("L_model_backward follows the 2017-2020 notebook's keys (dA1..dAL)")
    return _combined({"grads": verdict})


L_model_backward = Layer(
    "L_model_backward", "backward", (), ("grads",), ref.L_model_backward,
    {"L": (1, 3), "n_x": (1, 4), "n1": (1, 4), "n2": (1, 4), "m": (1, 5)}, forward="L_model_forward",
    case=l_model_backward_case,
)
PLAN = Plan(PLAN.name, PLAN.title, (*PLAN.layers, L_model_backward), signature=PLAN.signature, command=PLAN.command)
