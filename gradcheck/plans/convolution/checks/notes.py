"""How a case called its function, in words: what the counterexample of a failure adds when the
case did not call it as most cases do (the array seed's flag bits, ``gradcheck.engine.numeric``,
say how; the seed alone does not say it to a reader)."""

from __future__ import annotations

from gradcheck.engine import numeric as fd

LAYERS = ("conv_forward", "conv_backward", "pool_forward", "pool_backward")


def case_notes(seed: int, function: str, quantity: str, convention: str = "article") -> list[str]:
    """How a case with this seed called ``function``, when it did not call it as most cases do:
    the words the counterexample of a failure adds (the seed alone does not say it)."""
    layers = LAYERS
    notes = []
    if function in (*layers, "zero_pad", "conv_single_step", "create_mask_from_window"):
        if fd.other_layout(seed):
            notes.append("arrays passed in Fortran order")
        elif fd.strided_layout(seed):
            notes.append("arrays passed as strided views, neither C- nor F-contiguous (X[:, ::2, ::2] of a larger "
                         "buffer), the elements between them NaN")
    if function in layers and fd.course_key_order(seed):
        if convention == "cs231n":
            what, keys = ("conv_param", "'pad', 'stride'") if function.startswith("conv") else (
                "pool_param", "'pool_width', 'pool_height', 'stride'")
        else:
            what, keys = "hparameters", "'pad', 'stride'" if function.startswith("conv") else "'stride', 'f'"
        notes.append(f"{what} with its keys in the order {keys}, as the course's notebook writes them")
    if function == "pool_forward" and quantity.endswith("[max]") and fd.default_mode(seed) and convention == "article":
        notes.append(f"{function} called without mode, as the course's notebook calls it: the default must be "
                     "mode=\"max\"")
    if function in ("conv_backward", "pool_backward") and not quantity.startswith("ties") and fd.sparse_upstream(seed):
        notes.append("about half of the upstream gradient exactly 0, as after a ReLU")
    if function in ("zero_pad", *layers) and not quantity.startswith("ties") and fd.called_again(seed):
        notes.append(f"{function} called a second time on other inputs, its first result read again")
    return notes
