"""The Deep Learning Specialization, course 1 week 4: "Building your Deep Neural Network: Step
by Step" (examples are columns: A (n_prev, m), W (n, n_prev), b (n, 1)).

The course puts the 1/m of the mean cost into ``linear_backward``: its dW and db are the
gradients of ``sum(dZ * Z)`` divided by m (``scale``), its dA_prev is not. ``relu``,
``sigmoid`` and their backwards come from the course's ``dnn_utils`` (``provided``): they are
checked when a file defines or imports them, and never required. ``L_model_backward`` (a dict of
every layer's gradients) is not checked yet.
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
    """W1, b1, ..., WL, bL for layer sizes n0 (the input's), n1, ..., nL = 1 (L from the dims)."""
    sizes = [dims["n_x"], *(dims[f"n{layer}"] for layer in range(1, dims["L"])), 1]
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
