"""CS231n assignment 2, ``layers.py``: the fully connected, normalisation and loss layers.

The convolution and pooling layers of the same file (``conv_forward_naive``, ...) are checked
by the convolution engine under the CS231n convention (``convention="cs231n"``). Not checked:
``dropout_forward``/``dropout_backward``: a correct mask may come from any random call (the
course's tests look at its statistics), so no reference value is the one to match. Signatures
are the starter code's (2017-2024 versions agree on these): arrays (N, D), caches are the
student's own, each backward takes ``(dout, cache)``.
"""

from __future__ import annotations

from gradcheck.plans.shapes import affine_magnitude, hinge_margins, norm_param
from gradcheck.specs.spec import Array, Layer, Param, Plan
from reference import layers as ref
from reference import spatial

X_FLAT = Array("x", ("N", "d1", "d2", "d3"), optional=("d2", "d3"))  # (N, d_1, ..., d_k), k = 1 to 3: flattened
FLAT_DIMS = {"N": (1, 4), "d1": (1, 3), "d2": (0, 3), "d3": (0, 2), "M": (1, 5)}
ROWS = {"N": (1, 5), "D": (1, 6)}
NORM_DIMS = {"N": (2, 5), "D": (1, 5)}  # batch statistics need two rows
LAYER_DIMS = {"N": (1, 4), "D": (2, 6)}  # per-example statistics need two features
SCORES = {"N": (1, 5), "C": (2, 5)}
IMAGES = {"N": (1, 3), "C": (1, 3), "H": (1, 3), "W": (2, 3)}  # statistics over N * H * W >= 2 values
GROUPS = {"N": (1, 3), "G": (1, 2), "per_group": (1, 3), "H": (1, 3), "W": (1, 3)}


def _channels(dims):
    return {"C": dims["G"] * dims["per_group"]}  # G divides C


def _flat(dims):
    return {"D": dims["d1"] * max(dims["d2"], 1) * max(dims["d3"], 1)}


affine_forward = Layer(
    "affine_forward", "forward", (X_FLAT, Array("w", ("D", "M")), Array("b", ("M",))), ("out", "cache"),
    ref.affine_forward, FLAT_DIMS, derived=_flat, magnitude=affine_magnitude("x", "w", "b"), operations=24,
)
affine_backward = Layer(
    "affine_backward", "backward", (), ("dx", "dw", "db"), ref.affine_backward, FLAT_DIMS, derived=_flat,
    forward="affine_forward", grads={"dx": "x", "dw": "w", "db": "b"},
)
relu_forward = Layer(
    "relu_forward", "forward", (Array("x", ("N", "D")),), ("out", "cache"), ref.relu_forward, ROWS,
    kinks=lambda inputs, dims: inputs["x"],
)
relu_backward = Layer(
    "relu_backward", "backward", (), ("dx",), ref.relu_backward, ROWS, forward="relu_forward", grads={"dx": "x"},
)
batchnorm_forward = Layer(
    "batchnorm_forward", "forward",
    (Array("x", ("N", "D")), Array("gamma", ("D",)), Array("beta", ("D",)),
     Param("bn_param", norm_param(("train", "train", "test"), running=True))),
    ("out", "cache"), ref.batchnorm_forward, NORM_DIMS, mutable=("bn_param",), operations=32,
)
TRAIN = (Param("bn_param", norm_param(("train",), running=True)),)  # the backward is of train mode
batchnorm_backward = Layer(
    "batchnorm_backward", "backward", (), ("dx", "dgamma", "dbeta"), ref.batchnorm_backward, NORM_DIMS,
    forward="batchnorm_forward", grads={"dx": "x", "dgamma": "gamma", "dbeta": "beta"}, inputs=TRAIN,
)
batchnorm_backward_alt = Layer(
    "batchnorm_backward_alt", "backward", (), ("dx", "dgamma", "dbeta"), ref.batchnorm_backward_alt, NORM_DIMS,
    forward="batchnorm_forward", grads={"dx": "x", "dgamma": "gamma", "dbeta": "beta"}, inputs=TRAIN,
)
layernorm_forward = Layer(
    "layernorm_forward", "forward",
    (Array("x", ("N", "D")), Array("gamma", ("D",)), Array("beta", ("D",)),
     Param("ln_param", norm_param((None,), running=False))),
    ("out", "cache"), ref.layernorm_forward, LAYER_DIMS, operations=32,
)
layernorm_backward = Layer(
    "layernorm_backward", "backward", (), ("dx", "dgamma", "dbeta"), ref.layernorm_backward, LAYER_DIMS,
    forward="layernorm_forward", grads={"dx": "x", "dgamma": "gamma", "dbeta": "beta"},
)
svm_loss = Layer(
    "svm_loss", "loss", (Array("x", ("N", "C")), Array("y", ("N",), "labels:C")), ("loss", "dx"), ref.svm_loss,
    SCORES, grads={"dx": "x"}, kinks=hinge_margins("x", "y"),
)
softmax_loss = Layer(
    "softmax_loss", "loss", (Array("x", ("N", "C")), Array("y", ("N",), "labels:C")), ("loss", "dx"),
    ref.softmax_loss, SCORES, grads={"dx": "x"},
)

spatial_batchnorm_forward = Layer(
    "spatial_batchnorm_forward", "forward",
    (Array("x", ("N", "C", "H", "W")), Array("gamma", ("C",)), Array("beta", ("C",)),
     Param("bn_param", norm_param(("train", "train", "test"), running=True))),
    ("out", "cache"), spatial.spatial_batchnorm_forward, IMAGES, mutable=("bn_param",), operations=48,
)
spatial_batchnorm_backward = Layer(
    "spatial_batchnorm_backward", "backward", (), ("dx", "dgamma", "dbeta"), spatial.spatial_batchnorm_backward,
    IMAGES, forward="spatial_batchnorm_forward", grads={"dx": "x", "dgamma": "gamma", "dbeta": "beta"}, inputs=TRAIN,
)
spatial_groupnorm_forward = Layer(
    "spatial_groupnorm_forward", "forward",
    (Array("x", ("N", "C", "H", "W")), Array("gamma", (1, "C", 1, 1)), Array("beta", (1, "C", 1, 1)),
     Param("G", lambda dims, rng: dims["G"]), Param("gn_param", norm_param((None,), running=False))),
    ("out", "cache"), spatial.spatial_groupnorm_forward, GROUPS, derived=_channels, operations=48,
)
spatial_groupnorm_backward = Layer(
    "spatial_groupnorm_backward", "backward", (), ("dx", "dgamma", "dbeta"), spatial.spatial_groupnorm_backward,
    GROUPS, derived=_channels, forward="spatial_groupnorm_forward",
    grads={"dx": "x", "dgamma": "gamma", "dbeta": "beta"},
)

PLAN = Plan(
    "cs231n-a2",
    "CS231n assignment 2 (layers.py)",
    (affine_forward, affine_backward, relu_forward, relu_backward, batchnorm_forward, batchnorm_backward,
     batchnorm_backward_alt, layernorm_forward, layernorm_backward, svm_loss, softmax_loss,
     spatial_batchnorm_forward, spatial_batchnorm_backward, spatial_groupnorm_forward, spatial_groupnorm_backward),
    convention="cs231n",
    signature=("affine_forward", "affine_backward", "relu_forward", "relu_backward", "batchnorm_forward",
               "batchnorm_backward", "batchnorm_backward_alt", "layernorm_forward", "layernorm_backward",
               "svm_loss", "softmax_loss", "spatial_batchnorm_forward", "spatial_batchnorm_backward",
               "spatial_groupnorm_forward", "spatial_groupnorm_backward"),
    command="gradcheck check layers.py",
)
