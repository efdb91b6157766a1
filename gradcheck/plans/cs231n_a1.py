"""CS231n assignment 1: the linear classifiers' losses, ``softmax.py`` and ``linear_svm.py``.

``(W, X, y, reg) -> (loss, dW)`` with X (N, D), W (D, C), y (N,) labels: the mean loss over
the N examples plus ``reg * sum(W * W)`` (2017 on; dW gains ``2 * reg * W``). The 2016
starter code regularised by ``0.5 * reg * sum(W * W)``: a loss that follows it is judged by
it (a variant), with a note.
"""

from __future__ import annotations

from gradcheck.plans.shapes import hinge_margins
from gradcheck.specs.spec import Array, Layer, Param, Plan, Variant
from reference import layers as ref

DIMS = {"N": (1, 5), "D": (1, 5), "C": (2, 5)}


def _reg(dims, rng) -> float:
    return float(rng.choice([0.0, rng.uniform(0.05, 2.0), rng.uniform(0.05, 2.0)]))


def _half_reg(loss):
    """The 2016 convention of ``loss``: ``0.5 * reg * sum(W^2)``, whose gradient is ``reg * W``."""

    def halved(W, X, y, reg):
        return loss(W, X, y, 0.5 * reg)

    return halved


def _loss(name: str, reference, hinge: bool) -> Layer:
    return Layer(
        name, "loss", (Array("W", ("D", "C")), Array("X", ("N", "D")), Array("y", ("N",), "labels:C"),
                       Param("reg", _reg)),
        ("loss", "dW"), reference, DIMS, grads={"dW": "W"}, operations=32,
        kinks=hinge_margins("X", "y", weights="W") if hinge else None,
        variants=(Variant("the 2016 convention 0.5 * reg * sum(W * W)", _half_reg(reference)),),
    )


PLAN = Plan(
    "cs231n-a1",
    "CS231n assignment 1 (softmax.py, linear_svm.py)",
    (_loss("softmax_loss_naive", ref.softmax_loss_naive, False),
     _loss("softmax_loss_vectorized", ref.softmax_loss_vectorized, False),
     _loss("svm_loss_naive", ref.svm_loss_naive, True),
     _loss("svm_loss_vectorized", ref.svm_loss_vectorized, True)),
    signature=("softmax_loss_naive", "softmax_loss_vectorized", "svm_loss_naive", "svm_loss_vectorized"),
    command="gradcheck check softmax.py",
)
