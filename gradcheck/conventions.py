"""How a convention (a course's names and layouts) shows the engine's results.

The engine works in the article's terms whatever the submission's convention: NHWC arrays,
``W`` of shape (f_H, f_W, n_C_prev, n_C), ``b`` of shape (1, 1, 1, n_C), geometry fields
``m, n_H_prev, n_W_prev, ...``. A :class:`Convention` turns a finished
:class:`~gradcheck.verdict.results.CheckResult` into the convention's own words, once, at
the end (:meth:`Convention.present`): function and quantity names, the counterexample's
fields, the worst element's index and the detail arrays in the convention's layout, and
the likely cause's text. The article's convention is the identity.

CS231n (assignment 2, ``layers.py``): x (N, C, H, W), w (F, C, HH, WW), b (F,), out and
dout (N, F, H', W'); pooling windows pool_height x pool_width. So ``Z``/``A`` -> ``out``,
``dA_prev`` -> ``dx`` (NCHW), ``dW`` -> ``dw`` (F, C, HH, WW), ``db`` -> ``db`` (F,).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradcheck.plans.convolution import CONTRACT_FUNCTIONS
from gradcheck.verdict.results import CheckResult, Detail


@dataclass(frozen=True)
class Layout:
    """How an engine array (NHWC, W as (f_H, f_W, n_C_prev, n_C), b as (1, 1, 1, n_C)) is
    shown: ``axes`` permutes its axes (None: as is); ``flat`` shows it as a vector."""

    axes: tuple[int, ...] | None = None
    flat: bool = False

    def array(self, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value)
        if self.flat:
            return value.reshape(-1)
        if self.axes is not None and value.ndim == len(self.axes):
            return value.transpose(self.axes)
        return value

    def index(self, index: list[int], shape: tuple[int, ...]) -> list[int]:
        """The shown index of the element at engine index ``index`` of an array of ``shape``."""
        if self.flat:
            return [int(np.ravel_multi_index(tuple(index), shape))]
        if self.axes is not None and len(index) == len(self.axes):
            return [int(index[axis]) for axis in self.axes]
        return [int(i) for i in index]


IDENTITY = Layout()


@dataclass(frozen=True)
class Convention:
    """A course's names and layouts over the engine's (see the module docstring)."""

    name: str
    title: str = "the article's course"  # how messages name the course
    contract: tuple[str, ...] = CONTRACT_FUNCTIONS  # the contract functions this course has (engine names)
    functions: dict[str, str] = field(default_factory=dict)  # contract function -> shown name
    quantities: dict[tuple[str, str], str] = field(default_factory=dict)  # (function, quantity) -> shown
    arrays: dict[str, str] = field(default_factory=dict)  # engine array name (A_prev, Z, dW, ...) -> shown
    layouts: dict[str, Layout] = field(default_factory=dict)  # base quantity (Z, dA_prev, dW, ...) -> layout
    geometry: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # engine geometry -> shown
    causes: dict[str, str] | None = None  # diagnosis id -> text in the convention's names (None: as is)

    def function(self, name: str) -> str:
        return self.functions.get(name, name)

    @property
    def shown_functions(self) -> tuple[str, ...]:
        """The course's function names, in the contract's order (the gradebook's columns)."""
        return tuple(self.function(name) for name in self.contract)

    def required(self, required: Iterable[str]) -> tuple[str, ...]:
        """The course's names of the required contract functions it has (``required``: engine
        names), in the contract's order: another course's functions are not asked of it."""
        wanted = set(required)
        return tuple(self.function(name) for name in self.contract if name in wanted)

    def quantity(self, function: str, quantity: str) -> str:
        return self.quantities.get((function, quantity), quantity)

    def array(self, name: str) -> str:
        """An array's name as the convention writes it (``dA_prev`` -> ``dx``)."""
        return self.arrays.get(name, name)

    def layout(self, quantity: str) -> Layout:
        return self.layouts.get(quantity.split("[", 1)[0], IDENTITY)

    def case(self, counterexample: dict[str, Any] | None) -> dict[str, Any] | None:
        """A counterexample (engine geometry fields and ``seed``) in the convention's names."""
        if counterexample is None or self.geometry is None:
            return counterexample
        fields = {key: value for key, value in counterexample.items() if key != "seed"}
        shown = self.geometry(fields)
        return shown | ({"seed": counterexample["seed"]} if "seed" in counterexample else {})

    def present(self, result: CheckResult) -> CheckResult:
        """``result`` (engine names, NHWC) as the convention shows it; the identity for the article."""
        if self.name == "article":
            return result
        function, quantity = result.function, result.quantity
        layout = self.layout(quantity)
        shown = dataclasses.replace(
            result,
            function=self.function(function),
            quantity=self.quantity(function, quantity),
            counterexample=self.case(result.counterexample),
        )
        if result.worst_index is not None and result.detail is not None:
            shown.worst_index = layout.index(result.worst_index, np.shape(result.detail.analytic))
        if result.detail is not None:
            detail = result.detail
            shown.detail = Detail(
                layout.array(detail.analytic),
                layout.array(detail.numeric),
                layout.array(np.broadcast_to(detail.tolerance, np.shape(detail.analytic))),
                inputs=detail.inputs,
                step=detail.step,
            )
        if result.diagnosis is not None:
            shown.diagnosis = self._cause(result.diagnosis, layout)
        if result.root_cause is not None:
            shown.root_cause = {
                **result.root_cause,
                "function": self.function(result.root_cause.get("function", "")),
                "callee": self.function(result.root_cause.get("callee", "")),
            }
        return shown

    def _cause(self, hint: dict[str, Any], layout: Layout) -> dict[str, Any] | None:
        """The likely cause in the convention's names; None when it has no text for it (a cause
        worded in another course's names would mislead more than it helps)."""
        if self.causes is None:
            return hint
        text = self.causes.get(str(hint.get("id")))
        if text is None:
            return None
        shown = {**hint, "cause": text}
        example = hint.get("example")
        if isinstance(example, dict):
            shown["example"] = {
                **example,
                "geometry": self.case(example.get("geometry")),
                **{key: layout.array(np.asarray(example[key])).tolist()
                   for key in ("analytic", "numeric", "tolerance") if key in example},
            }
        return shown


ARTICLE = Convention("article")

NCHW = Layout(axes=(0, 3, 1, 2))  # [i, h, w, c] -> [n, c, h, w]

CS231N_CAUSES: dict[str, str] = {
    "pad_zero_crash": (
        "crashes only at pad = 0: the crop `dx_pad[:, :, pad:-pad, pad:-pad]` is empty when pad = 0; "
        "slice with `dx_pad[:, :, pad:pad + H, pad:pad + W]` instead"
    ),
    "all_zero": (
        "the result is 0 everywhere: nothing is written to it (a loop over an empty range, or a branch "
        "whose condition never holds), or every value written is 0"
    ),
    "bias_in_window": (
        "the bias is added inside the window sum (once per element of the window) instead of once per "
        "output: out[n, f, i, j] = np.sum(x_window * w[f]) + b[f]"
    ),
    "bias_missing": "the bias is not added: out[n, f, i, j] = np.sum(x_window * w[f]) + b[f]",
    "window_size": (
        "the pooling window has the wrong size: it spans rows i * stride to i * stride + pool_height "
        "and columns j * stride to j * stride + pool_width"
    ),
    "kernel_flipped": (
        "the kernel is rotated by 180 degrees (true convolution); the layer is a cross-correlation: "
        "use w[f, :, p, q] as is, without flipping"
    ),
    "hw_swapped": (
        "the height and width axes are swapped (arrays are NCHW: x[n, c, h, w]; w is (F, C, HH, WW))"
    ),
    "crop_offset": (
        "dx is cut out of the padded gradient at the wrong offset: take dx_pad[:, :, pad:pad + H, pad:pad + W]"
    ),
    "equals_other_tensor": "the gradient is computed from the wrong tensor (see the evidence for which one)",
    "starts_from_input": (
        "the gradient buffer starts from the input's values instead of zeros: create it with np.zeros_like "
        "(np.zeros_like(w), np.zeros_like(x), ...), not as a copy or a slice of the input"
    ),
    "not_reset_per_example": (
        "the padded gradient of one example is not reset per example: create (or zero) it inside the loop over n"
    ),
    "batch_averaged": (
        "the gradient is divided by the batch size N: the checked loss is a sum over the batch, not a mean, "
        "so do not divide by N"
    ),
    "constant_factor": "the gradient is off by a constant factor (its value is in the evidence): a missing or "
    "extra factor",
    "skipped_windows": (
        "some windows are skipped: a loop bound stops one short or starts one late (e.g. range(H_out - 1) or "
        "range(1, H_out) instead of range(H_out))"
    ),
    "overwritten": (
        "the sum over windows is assigned with `=` instead of accumulated with `+=`: only the last window "
        "written is left"
    ),
    "one_example": (
        "only one example's gradient is kept: the sum over the batch is missing or assigned with `=` "
        "(accumulate over n with +=)"
    ),
    "unwritten_outputs": (
        "part of the output is never computed: a loop bound stops one short or starts one late "
        "(e.g. range(H_out - 1) instead of range(H_out))"
    ),
    "border_only": (
        "dx is wrong only in a border band and right in the interior: the windows that reach into the zero "
        "padding (or the crop of the padding from the padded gradient) are handled wrongly"
    ),
    "stride_only": (
        "fails only with stride > 1: the windows are placed as if stride were 1 (rows i:i + HH instead of "
        "i * stride:i * stride + HH)"
    ),
    "overlap_only": (
        "fails only where windows overlap (stride smaller than the window): the gradient of a window is "
        "assigned with `=` instead of accumulated with `+=`"
    ),
    "pad_only": (
        "fails only with padding (pad > 0): the padding is handled wrongly (the padded size or output size, "
        "the crop of the padded gradient, or the windows over the padding)"
    ),
    "batch_only": (
        "fails only with more than one example (N > 1): the examples are mixed up (a wrong example index, "
        "a buffer shared between examples, or a sum over the batch done wrongly)"
    ),
    "key_order": (
        "the result depends on the order of the keys of conv_param or pool_param: their values are taken by "
        "position (e.g. `stride, pad = conv_param.values()`), which dicts written in another order break; read "
        "each by its name: conv_param['stride'], pool_param['pool_height']"
    ),
    "zero_upstream": (
        "fails only when some entries of dout are exactly 0 (as after a ReLU): a zero entry is handled "
        "specially, and wrongly; skipping it must skip only that entry (a `break` where `continue` belongs ends "
        "the loop over the rest)"
    ),
    "memory_layout": (
        "fails only when the arrays are not C-contiguous (a transposed array, a slice with steps): the code "
        "assumes C order (strides computed by hand for as_strided, a reshape or a view of the raw buffer); use "
        "the array's own .strides, or np.ascontiguousarray(x) first"
    ),
    "reused_buffer": (
        "returns an array it reuses between calls (kept in a global, a default argument or a cache), so a "
        "second call overwrites an earlier result: return a new array from every call"
    ),
    "channels_only": "fails only with more than one channel: a channel index is wrong",
    "single_precision": (
        "computed in single precision (float32) somewhere: the result carries float32's rounding on general "
        "float64 inputs; keep every array float64 (np.zeros_like(x) of a float64 x is float64; no "
        "dtype=np.float32 or .astype(np.float32))"
    ),
    "nonsquare_only": (
        "fails only on non-square inputs: height and width are mixed up (H used where W belongs, in a loop "
        "bound, an output size or a slice)"
    ),
}


def _cs231n_geometry(fields: dict[str, Any]) -> dict[str, Any]:
    """Engine geometry fields -> CS231n's (N, C, H, W, F, HH, WW, stride, pad, or the pooling window)."""
    f_H = fields.get("f")
    f_W = fields.get("f_W", f_H)
    if "n_C_prev" in fields:  # convolution
        return {"N": fields["m"], "C": fields["n_C_prev"], "H": fields["n_H_prev"], "W": fields["n_W_prev"],
                "F": fields["n_C"], "HH": f_H, "WW": f_W, "stride": fields["stride"], "pad": fields["pad"]}
    if "n_C" in fields:  # pooling
        return {"N": fields["m"], "C": fields["n_C"], "H": fields["n_H_prev"], "W": fields["n_W_prev"],
                "pool_height": f_H, "pool_width": f_W, "stride": fields["stride"]}
    return dict(fields)


CS231N = Convention(
    "cs231n",
    title="CS231n",
    contract=("conv_forward", "conv_backward", "pool_forward", "pool_backward"),
    functions={
        "conv_forward": "conv_forward_naive",
        "conv_backward": "conv_backward_naive",
        "pool_forward": "max_pool_forward_naive",
        "pool_backward": "max_pool_backward_naive",
    },
    quantities={
        ("conv_forward", "Z"): "out",
        ("conv_backward", "dA_prev"): "dx",
        ("conv_backward", "dW"): "dw",
        ("conv_backward", "db"): "db",
        ("pool_forward", "A[max]"): "out",
        ("pool_backward", "dA_prev[max]"): "dx",
        ("pool_backward", "ties[max]"): "ties",
    },
    arrays={"A_prev": "x", "W": "w", "b": "b", "Z": "out", "A": "out", "dZ": "dout", "dA": "dout",
            "dA_prev": "dx", "dW": "dw", "db": "db"},
    layouts={
        "Z": NCHW,
        "A": NCHW,
        "dA_prev": NCHW,
        "dW": Layout(axes=(3, 2, 0, 1)),  # [p, q, k, f] -> [f, k, p, q]: w is (F, C, HH, WW)
        "db": Layout(flat=True),  # (1, 1, 1, F) -> (F,)
    },
    geometry=_cs231n_geometry,
    causes=CS231N_CAUSES,
)

CONVENTIONS: dict[str, Convention] = {convention.name: convention for convention in (ARTICLE, CS231N)}

ARTICLE_LAYERS = ("conv_forward", "conv_backward", "pool_forward", "pool_backward")


def detect(defined: Iterable[str]) -> str:
    """The convention of a submission from the names it defines: ``"cs231n"`` when it defines
    more of CS231n's layers (``conv_forward_naive``, ...) than of the article's
    (``conv_forward``, ...), else ``"article"``. The article's helpers (zero_pad,
    conv_single_step, create_mask_from_window, distribute_value) do not count: CS231n students
    write helpers by those names too."""
    names = set(defined)
    cs231n = sum(name in names for name in CS231N.functions.values())
    article = sum(name in names for name in ARTICLE_LAYERS)
    return "cs231n" if cs231n > article else "article"


def convention(name: str | None) -> Convention:
    """The convention called ``name`` (None or unknown: the article's)."""
    return CONVENTIONS.get(name or "article", ARTICLE)


def contract_name(name: str) -> str:
    """The contract (engine) name of any course's function name (``conv_forward_naive`` -> ``conv_forward``)."""
    for known in CONVENTIONS.values():
        for contract, shown in known.functions.items():
            if shown == name:
                return contract
    return name
