"""The Deep Learning Specialization, course 5 week 1: "Building your Recurrent Neural Network -
Step by Step" (examples are columns: xt (n_x, m), x (n_x, m, T_x); weights in a ``parameters``
dict, gradients returned in a ``gradients`` dict).

Each backward's gradients are of ``sum(da * a)`` over the hidden states it is given (the LSTM
cell's also of ``sum(dc_next * c_next)``): the ``y_pred`` branch is not backpropagated in the
notebook, and nothing is divided by m (``reference.dls_rnn``). The notebook's backward part is
ungraded; its 2018-2021 ``lstm_backward`` never passed the gradient between time steps (its
printed expected output is of each cell alone): such a submission fails here, since it is not
the gradient of the forward, and the message's element table shows where.
"""

from __future__ import annotations

from gradcheck.specs.spec import Array, Layer, Param, Plan
from reference import dls_rnn as ref

CELL = {"n_x": (1, 4), "n_a": (1, 4), "n_y": (1, 3), "m": (1, 3)}
SEQUENCE = {"n_x": (1, 3), "n_a": (1, 3), "n_y": (1, 3), "m": (1, 3), "T_x": (1, 4)}
RNN = {"Wax": ("n_a", "n_x"), "Waa": ("n_a", "n_a"), "Wya": ("n_y", "n_a"), "ba": ("n_a", 1), "by": ("n_y", 1)}
LSTM = {**{f"W{gate}": ("n_a", "n_ax") for gate in "fico"}, **{f"b{gate}": ("n_a", 1) for gate in "fico"},
        "Wy": ("n_y", "n_a"), "by": ("n_y", 1)}


def _concatenated(dims):
    return {"n_ax": dims["n_a"] + dims["n_x"]}  # every LSTM gate sees [a_prev; xt]


def _parameters(shapes):
    def build(dims, rng):
        return {name: rng.standard_normal(tuple(dims[side] if isinstance(side, str) else side for side in shape))
                for name, shape in shapes.items()}

    return build


RNN_PARAMETERS = Param("parameters", _parameters(RNN))
LSTM_PARAMETERS = Param("parameters", _parameters(LSTM))

rnn_cell_forward = Layer(
    "rnn_cell_forward", "forward", (Array("xt", ("n_x", "m")), Array("a_prev", ("n_a", "m")), RNN_PARAMETERS),
    ("a_next", "yt_pred", "cache"), ref.rnn_cell_forward, CELL, operations=48,
)
rnn_cell_backward = Layer(
    "rnn_cell_backward", "backward", (), ("gradients",), ref.rnn_cell_backward, CELL, forward="rnn_cell_forward",
    upstream="da_next", through=("a_next",), gives="dict",
    grads={"dxt": "xt", "da_prev": "a_prev", "dWax": "parameters[Wax]", "dWaa": "parameters[Waa]",
           "dba": "parameters[ba]"},
)
rnn_forward = Layer(
    "rnn_forward", "forward", (Array("x", ("n_x", "m", "T_x")), Array("a0", ("n_a", "m")), RNN_PARAMETERS),
    ("a", "y_pred", "caches"), ref.rnn_forward, SEQUENCE, cache="caches", operations=192,
)
rnn_backward = Layer(
    "rnn_backward", "backward", (), ("gradients",), ref.rnn_backward, SEQUENCE, forward="rnn_forward",
    upstream="da", through=("a",), gives="dict",
    grads={"dx": "x", "da0": "a0", "dWax": "parameters[Wax]", "dWaa": "parameters[Waa]", "dba": "parameters[ba]"},
)
lstm_cell_forward = Layer(
    "lstm_cell_forward", "forward",
    (Array("xt", ("n_x", "m")), Array("a_prev", ("n_a", "m")), Array("c_prev", ("n_a", "m")), LSTM_PARAMETERS),
    ("a_next", "c_next", "yt_pred", "cache"), ref.lstm_cell_forward, CELL, derived=_concatenated, operations=64,
)
_GATES = {f"{kind}{gate}": f"parameters[{kind[1:]}{gate}]" for kind in ("dW", "db") for gate in "fico"}
lstm_cell_backward = Layer(
    "lstm_cell_backward", "backward", (), ("gradients",), ref.lstm_cell_backward, CELL, derived=_concatenated,
    forward="lstm_cell_forward", upstream=("da_next", "dc_next"), through=("a_next", "c_next"), gives="dict",
    grads={"dxt": "xt", "da_prev": "a_prev", "dc_prev": "c_prev", **_GATES},
)
lstm_forward = Layer(
    "lstm_forward", "forward", (Array("x", ("n_x", "m", "T_x")), Array("a0", ("n_a", "m")), LSTM_PARAMETERS),
    ("a", "y", "c", "caches"), ref.lstm_forward, SEQUENCE, derived=_concatenated, cache="caches", operations=256,
)
lstm_backward = Layer(
    "lstm_backward", "backward", (), ("gradients",), ref.lstm_backward, SEQUENCE, derived=_concatenated,
    forward="lstm_forward", upstream="da", through=("a",), gives="dict",
    grads={"dx": "x", "da0": "a0", **_GATES},
)

PLAN = Plan(
    "dls-c5w1",
    "Deep Learning Specialization, course 5 week 1 (Building your Recurrent Neural Network - Step by Step)",
    (rnn_cell_forward, rnn_cell_backward, rnn_forward, rnn_backward, lstm_cell_forward, lstm_cell_backward,
     lstm_forward, lstm_backward),
    signature=("rnn_cell_forward", "rnn_cell_backward", "lstm_cell_forward", "lstm_cell_backward", "lstm_backward"),
    command="gradcheck check rnn_step_by_step.py",
)
