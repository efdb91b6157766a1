"""Layer specs: what a function of an assignment is and how it is judged (``spec``), how its
cases are drawn (``draw``), one case (``cases``) and a plan's checks (``run``).

A plan of one's own layers is a few specs::

    from gradcheck.specs import Array, Layer, Plan
    dense = Layer("dense_forward", "forward", (Array("x", ("N", "D")), Array("W", ("D", "M"))), ("out", "cache"),
                  reference=my_reference_forward, dims={"N": (1, 4), "D": (1, 4), "M": (1, 4)})
    ...
    gradcheck.check("my_layers.py", assignment=Plan("mine", "my layers", (dense, dense_backward)))
"""

from gradcheck.specs.spec import Array, Layer, Param, Plan, Variant

__all__ = ["Array", "Layer", "Param", "Plan", "Variant"]
