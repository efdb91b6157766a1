"""CS231n assignment 3, ``rnn_layers.py``: the vanilla RNN and LSTM layers, word embeddings and
the temporal layers (examples are rows: x (N, T, D) for a sequence, (N, D) for a step).

Every numpy version from winter 2016 to 2022 has these signatures and the LSTM gates i, f, o, g
in that order (``reference.recurrent``). ``temporal_affine_*`` and ``temporal_softmax_loss`` are
the starter code's (``provided``): checked when a file defines them, never required. A step
backward of the LSTM takes both upstream gradients (``dnext_h``, ``dnext_c``): it is the gradient
of ``sum(dnext_h * next_h + dnext_c * next_c)``.
"""

from __future__ import annotations

from gradcheck.specs.spec import Array, Layer, Plan
from reference import recurrent as ref

STEP = {"N": (1, 3), "D": (1, 4), "H": (1, 4)}
SEQUENCE = {"N": (1, 3), "T": (1, 4), "D": (1, 4), "H": (1, 4)}
EMBEDDING = {"N": (1, 3), "T": (1, 4), "V": (1, 6), "D": (1, 4)}
TEMPORAL = {"N": (1, 3), "T": (1, 4), "D": (1, 4), "M": (1, 4)}
SCORES = {"N": (1, 3), "T": (1, 4), "V": (2, 5)}


def _four(dims):
    return {"G": 4 * dims["H"]}  # the LSTM's four gates side by side


rnn_step_forward = Layer(
    "rnn_step_forward", "forward",
    (Array("x", ("N", "D")), Array("prev_h", ("N", "H")), Array("Wx", ("D", "H")), Array("Wh", ("H", "H")),
     Array("b", ("H",))),
    ("next_h", "cache"), ref.rnn_step_forward, STEP, operations=48,
)
rnn_step_backward = Layer(
    "rnn_step_backward", "backward", (), ("dx", "dprev_h", "dWx", "dWh", "db"), ref.rnn_step_backward, STEP,
    forward="rnn_step_forward", upstream="dnext_h",
    grads={"dx": "x", "dprev_h": "prev_h", "dWx": "Wx", "dWh": "Wh", "db": "b"},
)
rnn_forward = Layer(
    "rnn_forward", "forward",
    (Array("x", ("N", "T", "D")), Array("h0", ("N", "H")), Array("Wx", ("D", "H")), Array("Wh", ("H", "H")),
     Array("b", ("H",))),
    ("h", "cache"), ref.rnn_forward, SEQUENCE, operations=192,
)
rnn_backward = Layer(
    "rnn_backward", "backward", (), ("dx", "dh0", "dWx", "dWh", "db"), ref.rnn_backward, SEQUENCE,
    forward="rnn_forward", upstream="dh", grads={"dx": "x", "dh0": "h0", "dWx": "Wx", "dWh": "Wh", "db": "b"},
)
word_embedding_forward = Layer(
    "word_embedding_forward", "forward", (Array("x", ("N", "T"), "labels:V"), Array("W", ("V", "D"))),
    ("out", "cache"), ref.word_embedding_forward, EMBEDDING, operations=1,
)
word_embedding_backward = Layer(
    "word_embedding_backward", "backward", (), ("dW",), ref.word_embedding_backward, EMBEDDING,
    forward="word_embedding_forward", grads={"dW": "W"},
)
temporal_affine_forward = Layer(
    "temporal_affine_forward", "forward",
    (Array("x", ("N", "T", "D")), Array("w", ("D", "M")), Array("b", ("M",))),
    ("out", "cache"), ref.temporal_affine_forward, TEMPORAL, operations=24, provided=True,
)
temporal_affine_backward = Layer(
    "temporal_affine_backward", "backward", (), ("dx", "dw", "db"), ref.temporal_affine_backward, TEMPORAL,
    forward="temporal_affine_forward", grads={"dx": "x", "dw": "w", "db": "b"}, provided=True,
)
temporal_softmax_loss = Layer(
    "temporal_softmax_loss", "loss",
    (Array("x", ("N", "T", "V")), Array("y", ("N", "T"), "labels:V"), Array("mask", ("N", "T"), "mask")),
    ("loss", "dx"), ref.temporal_softmax_loss, SCORES, grads={"dx": "x"}, operations=32, provided=True,
)
lstm_step_forward = Layer(
    "lstm_step_forward", "forward",
    (Array("x", ("N", "D")), Array("prev_h", ("N", "H")), Array("prev_c", ("N", "H")), Array("Wx", ("D", "G")),
     Array("Wh", ("H", "G")), Array("b", ("G",))),
    ("next_h", "next_c", "cache"), ref.lstm_step_forward, STEP, derived=_four, operations=64,
)
lstm_step_backward = Layer(
    "lstm_step_backward", "backward", (), ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"), ref.lstm_step_backward,
    STEP, derived=_four, forward="lstm_step_forward", upstream=("dnext_h", "dnext_c"),
    grads={"dx": "x", "dprev_h": "prev_h", "dprev_c": "prev_c", "dWx": "Wx", "dWh": "Wh", "db": "b"},
)
lstm_forward = Layer(
    "lstm_forward", "forward",
    (Array("x", ("N", "T", "D")), Array("h0", ("N", "H")), Array("Wx", ("D", "G")), Array("Wh", ("H", "G")),
     Array("b", ("G",))),
    ("h", "cache"), ref.lstm_forward, SEQUENCE, derived=_four, operations=256,
)
lstm_backward = Layer(
    "lstm_backward", "backward", (), ("dx", "dh0", "dWx", "dWh", "db"), ref.lstm_backward, SEQUENCE, derived=_four,
    forward="lstm_forward", upstream="dh", grads={"dx": "x", "dh0": "h0", "dWx": "Wx", "dWh": "Wh", "db": "b"},
)

PLAN = Plan(
    "cs231n-a3",
    "CS231n assignment 3 (rnn_layers.py)",
    (rnn_step_forward, rnn_step_backward, rnn_forward, rnn_backward, word_embedding_forward, word_embedding_backward,
     temporal_affine_forward, temporal_affine_backward, temporal_softmax_loss, lstm_step_forward, lstm_step_backward,
     lstm_forward, lstm_backward),
    signature=("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward", "word_embedding_forward",
               "word_embedding_backward", "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"),
    command="gradcheck check rnn_layers.py",
)
