"""CS231n assignment 2, ``layers.py``: the fully connected, normalisation and loss layers.

The convolution and pooling layers of the same file (``conv_forward_naive``, ...) are checked
by the convolution engine under the CS231n convention (``convention="cs231n"``). Signatures
are the starter code's (2017-2024 versions agree on these): arrays (N, D), caches are the
student's own, each backward takes ``(dout, cache)``.

``dropout_forward``/``dropout_backward`` bring their own cases (``dropout_forward_case``,
``dropout_backward_case``): a correct mask may come from any random call, so no reference value
is the one to match; the forward is judged by what every correct mask satisfies (each element 0
or x / p, a plausible number kept, the seed honoured, x in test mode), the backward by the mask
its own forward applied. ``p`` is the probability of keeping a neuron in the 2018-on starter code
and of dropping one in 2016-2017 (``reference.spatial``): either reading is accepted when the
forward applies it consistently (the scale and the kept count agree, and agree for both seeds of
a case), with a note naming the reading the file follows.
"""

from __future__ import annotations

import numpy as np

from gradcheck.boundary.backend import Call
from gradcheck.boundary.values import CacheRef
from gradcheck.engine import numeric as fd
from gradcheck.engine.checks.case import CaseProblem, CaseVerdict, explain_call, make_verdict
from gradcheck.plans.shapes import affine_magnitude, hinge_margins, norm_param
from gradcheck.specs import stochastic
from gradcheck.specs.cases import AUDIT_EVERY, _combined, _laid_out
from gradcheck.specs.draw import draw_inputs
from gradcheck.specs.spec import Array, Layer, Param, Plan
from gradcheck.verdict.compare import Comparison, describe, unpack, validate_array
from gradcheck.verdict.results import case_text
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


# --- dropout: a random mask, judged by what every correct mask satisfies ---------------------------

DROPOUT_DIMS = {"N": (1, 6), "D": (1, 40), "d2": (0, 3)}  # arrays of up to 720 elements, 2,640 in a heavy case
ROUNDING = 2  # roundings between x and a kept output: x * (mask / p), x / p * mask, ...
CONVENTIONS = {
    "keep": "the 2018-on reading of p (the probability of keeping a neuron)",
    "drop": "the 2016-2017 reading of p (the probability of dropping a neuron)",
}


def _dropout_param(dims, rng) -> dict:
    """Train mode, p in [0.05, 0.95] (two decimals, as a notebook writes it), a seed."""
    return {"mode": "train", "p": round(float(rng.uniform(0.05, 0.95)), 2), "seed": int(rng.integers(0, 2**31 - 1))}


def _keep_probability(p: float, convention: str) -> float:
    return p if convention == "keep" else 1.0 - p


def _allowed(out: np.ndarray, x: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """The value each element of ``out`` should have (0, or x / q where it is not near 0) and
    its tolerance (the rounding of x / q; none for a dropped element)."""
    scaled = x / q
    expected = np.where(np.abs(out) < 0.5 * np.abs(scaled), 0.0, scaled)
    return expected, fd.SAFETY * ROUNDING * fd.UNIT_ROUNDOFF * np.abs(expected)


def _train_verdict(out: np.ndarray, x: np.ndarray, p: float, shown: dict, what: str) -> tuple[CaseVerdict, str | None]:
    """A train-mode output: every element 0 or x / q, and a plausible count kept
    (``gradcheck.specs.stochastic``), for q = p (keep) or 1 - p (drop); the verdict, and the
    reading that holds (None when the output cannot tell them apart: nothing kept, or p = 0.5)."""
    kept, n = int(np.count_nonzero(out)), out.size
    scored, holding = [], []
    for convention in CONVENTIONS:
        q = _keep_probability(p, convention)
        expected, tolerance = _allowed(out, x, q)
        comparison = Comparison(out, expected, tolerance)
        if comparison.passed and stochastic.binomial_plausible(kept, n, q):
            holding.append(convention)
        scored.append((int(comparison.mismatched.sum()), convention, q, comparison))
    if holding:
        told = len(holding) == 1 and kept > 0 and p != 0.5
        return CaseVerdict("pass", inputs=shown), holding[0] if told else None
    mismatched, convention, q, comparison = min(scored, key=lambda item: item[0])
    if mismatched:
        verdict = make_verdict(comparison, shown, "0 or x / p")
        verdict.message = (f"{what}: in train mode every element of out must be 0 (dropped) or x / p (kept; "
                           f"x / (1 - p) where p is the drop probability, 2016-2017); p = {p}:\n{verdict.message}")
        return verdict, None
    low, high = stochastic.plausible_range(n, q)
    return CaseVerdict("fail", f"{what}: kept {kept} of {n} elements with p = {p}; the values follow "
                       f"{CONVENTIONS[convention]}, which keeps each with probability {q:g}: a count outside "
                       f"{low}..{high} happens with probability below {stochastic.FALSE_ALARM:g} (a binomial "
                       "tail, Chernoff bound); is the mask drawn with the other reading of p?",
                       inputs=shown), None


def _drawn(layer: Layer, dims, seed: int) -> tuple[np.ndarray, dict]:
    """x (no element 0: a dropped element is told by its 0, and out / x is the mask) and dropout_param."""
    inputs = draw_inputs(layer, dims, seed)
    x = inputs["x"]
    return np.where(x == 0.0, 1.0, x), inputs["dropout_param"]


def _outputs(layer_name: str, outcomes, x: np.ndarray, labels: tuple[str, ...]) -> list[np.ndarray]:
    """Each call's ``out``, validated (a CaseProblem names the call that returned something else)."""
    outs = []
    for outcome, label in zip(outcomes, labels, strict=True):
        if not outcome.ok:
            raise CaseProblem("error" if outcome.status in ("error", "missing") else outcome.status,
                              f"{label}: {explain_call(layer_name, outcome)}")
        values, problem = unpack(outcome.value, layer_name, ("out", "cache"))
        if problem:
            raise CaseProblem("fail", f"{label}: {problem}")
        out, problem = validate_array(values[0], "out", x.shape)
        if problem:
            raise CaseProblem("fail", f"{label}: {problem}")
        outs.append(out)
    return outs


def dropout_forward_case(ctx, plan, layer, dims, seed, quantities, *, first=False, full=False):
    """``dropout_forward(x, dropout_param)`` called four times on one x (no zeros): train mode
    with a seed, the same seed again, another seed, and test mode. Any random call may draw the
    mask, so no reference value is compared: train mode must give every element 0 or x / p
    (x / (1 - p) under the 2016-2017 reading of p, the same reading for both seeds) with a
    plausible number kept, the same mask for the same seed and another for another seed (when
    two masks of that size coincide with probability below ``stochastic.FALSE_ALARM``); test
    mode must return x's values unchanged. A note says which reading of p the file follows."""
    x, param = _drawn(layer, dims, seed)
    p = param["p"]
    other = int(np.random.default_rng([seed, 8]).integers(0, 2**31 - 1))
    other += other == param["seed"]
    runs = (("train mode", dict(param)), ("train mode, the same seed again", dict(param)),
            (f"train mode, seed {other}", {**param, "seed": other}), ("test mode", {**param, "mode": "test"}))
    (laid,) = _laid_out(seed, (x,))
    outcomes = yield [Call(layer.name, (laid, params), (1,), collect_args=index in (0, 3))
                      for index, (_, params) in enumerate(runs)]
    shown = {"x": x, "dropout_param": param}
    for outcome, (_, given) in ((outcomes[0], runs[0]), (outcomes[3], runs[3])):
        if outcome.ok:
            ctx.check_unmodified(layer.name, outcome, {0: ("x", x)})
            after = outcome.args_after[1] if outcome.args_after and len(outcome.args_after) > 1 else given
            if after != given:  # a popped seed: the caller's next call with the same dict draws another mask
                return _combined({"out": CaseVerdict(
                    "fail", f"dropout_forward changed its dropout_param ({given!r} became {after!r}): the same "
                    "dict passed again (as the layer is called every step) then behaves otherwise; read it, never "
                    "change it (dropout_param.get('seed'), not .pop)", inputs=shown)})
    out, again, moved, test = _outputs(layer.name, outcomes, x, tuple(label for label, _ in runs))
    verdict, convention = _train_verdict(out, x, p, shown, "seed " + str(param["seed"]))
    if not verdict.passed:
        return _combined({"out": verdict})
    if not np.array_equal(out, again):  # told as found: a smaller case would show it only by chance
        return _combined({"out": CaseVerdict(
            "fail", f"the same seed ({param['seed']}) gave two different masks ({case_text(dims)}): seed NumPy's "
            "generator with dropout_param['seed'] before drawing the mask (np.random.seed(dropout_param['seed']))",
            inputs=shown, reproducible=False)})
    second, other_convention = _train_verdict(moved, x, p, shown, f"seed {other}")
    if not second.passed:
        return _combined({"out": second})
    if None not in (convention, other_convention) and other_convention != convention:
        return _combined({"out": CaseVerdict(
            "fail", f"p = {p} read two ways on the same x: seed {param['seed']}'s mask follows "
            f"{CONVENTIONS[convention]}, seed {other}'s {CONVENTIONS[other_convention]}", inputs=shown,
            reproducible=False)})
    q = _keep_probability(p, convention or other_convention or "keep")
    if stochastic.masks_distinguishable(x.size, q) and np.array_equal(out != 0, moved != 0):
        return _combined({"out": CaseVerdict(
            "fail", f"seeds {param['seed']} and {other} gave the same mask of {x.size} elements (two independent "
            f"masks coincide with probability below {stochastic.FALSE_ALARM:g}): the mask does not depend on "
            "dropout_param['seed'] (a fixed seed?)", inputs=shown)})
    if not np.array_equal(test, x):
        verdict = make_verdict(Comparison(test, x, np.zeros(x.shape)), shown, "x")
        verdict.message = f"in test mode out must be x unchanged (inverted dropout scales in train mode only):\n" \
                          f"{verdict.message}"
        return _combined({"out": verdict})
    verdict = CaseVerdict("pass", inputs=shown)
    if convention or other_convention:
        verdict.warnings.append(f"dropout_forward follows {CONVENTIONS[convention or other_convention]}")
    return _combined({"out": verdict})


def dropout_backward_case(ctx, plan, layer, dims, seed, quantities, *, first=False, full=False):
    """``dropout_backward(dout, cache)`` on the cache of the file's own ``dropout_forward``, in
    train mode (dx must be dout times the mask that forward applied, out / x: x has no zeros)
    and in test mode (dx must be dout), each within the rounding of the mask's 1 / p."""
    forward = plan.layer(layer.forward)
    x, param = _drawn(forward, dims, seed)
    dout = np.random.default_rng([seed, 1]).standard_normal(x.shape)
    audit = first or seed % AUDIT_EVERY == 0
    laid_x, laid_dout = _laid_out(seed, (x, dout))
    modes = (("train", dict(param)), ("test", {**param, "mode": "test"}))
    calls = []
    for _, params in modes:  # each backward crosses with its forward, on the cache that forward kept
        calls += [Call(forward.name, (laid_x, params), (1,), collect_args=False),
                  Call(layer.name, (laid_dout, None), collect_args=audit, take=((1, 1),))]
    outcomes = yield calls
    shown = {"x": x, "dropout_param": param, "dout": dout}
    for index, (mode, _) in enumerate(modes):
        made, back = outcomes[2 * index], outcomes[2 * index + 1]
        if not made.ok:
            raise CaseProblem("error", f"{layer.name} takes the cache {forward.name} returns, and in {mode} mode "
                              f"{explain_call(forward.name, made)}")
        value = made.value
        if not (isinstance(value, tuple | list) and len(value) == 2 and isinstance(value[1], CacheRef)):
            raise CaseProblem("error", f"{layer.name} takes the cache {forward.name} returns, and in {mode} mode "
                              f"{forward.name} returned {describe(value)}; expected a tuple (out, cache)")
        out, problem = validate_array(value[0], "out", x.shape)
        if problem:
            raise CaseProblem("error", f"{layer.name} takes what {forward.name} returns, and in {mode} mode: "
                              f"{problem}")
        if not back.ok:
            raise CaseProblem("error" if back.status in ("error", "missing") else back.status,
                              f"in {mode} mode: {explain_call(layer.name, back)}")
        ctx.check_unmodified(layer.name, back, {0: ("dout", dout)})
        dx, problem = validate_array(back.value, "dx", x.shape)
        if problem:
            return _combined({"dx": CaseVerdict("fail", f"in {mode} mode: {problem}", inputs=shown)})
        expected = dout * (out / x) if mode == "train" else dout
        tolerance = fd.SAFETY * 2 * ROUNDING * fd.UNIT_ROUNDOFF * np.abs(expected)
        verdict = make_verdict(Comparison(dx, expected, tolerance), shown, "dout * out / x" if mode == "train"
                               else "dout")
        if not verdict.passed:
            rule = ("dx = dout times the mask its own forward applied (out / x, from the cache)" if mode == "train"
                    else "dx = dout")
            verdict.message = f"in {mode} mode ({rule}):\n{verdict.message}"
            return _combined({"dx": verdict})
    return _combined({"dx": CaseVerdict("pass", inputs=shown)})


dropout_forward = Layer(
    "dropout_forward", "forward",
    (Array("x", ("N", "D", "d2"), optional=("d2",)), Param("dropout_param", _dropout_param)),
    ("out", "cache"), spatial.dropout_forward, DROPOUT_DIMS, case=dropout_forward_case,
    judged="what every dropout mask satisfies (0 or x / p, a plausible kept count, the seed honoured; x in test mode)",
)
dropout_backward = Layer(
    "dropout_backward", "backward", (), ("dx",), spatial.dropout_backward, DROPOUT_DIMS, forward="dropout_forward",
    grads={"dx": "x"}, case=dropout_backward_case,
    judged="dout times the mask its own dropout_forward applied (out / x; dout in test mode)",
)
PLAN = Plan(PLAN.name, PLAN.title, (*PLAN.layers, dropout_forward, dropout_backward), convention=PLAN.convention,
            signature=(*PLAN.signature, "dropout_forward", "dropout_backward"), command=PLAN.command)
