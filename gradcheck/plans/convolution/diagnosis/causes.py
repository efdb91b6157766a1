"""The likely cause each diagnosis id names (the evidence says what was measured)."""

from __future__ import annotations

CAUSES: dict[str, str] = {
    # templates: the hypothesised mistake reproduces the analytic result exactly
    "pad_zero_crash": (
        "crashes only at pad = 0: the crop `x[pad:-pad]` is empty when pad = 0; "
        "slice with `x[pad:pad + n_H_prev]` instead"
    ),
    "all_zero": (
        "the result is 0 everywhere: nothing is written to it (a branch whose condition never holds, e.g. "
        "mode == 'avg' instead of 'average', or a loop over an empty range), or every value written is 0"
    ),
    "bias_in_window": (
        "the bias is added inside the window sum (once per element of the window) instead of "
        "once per output: Z = sum(a_slice * W) + b"
    ),
    "bias_missing": "the bias b is not added: Z = np.sum(a_slice_prev * W) + float(b)",
    "other_mode": (
        "the pooling mode is mixed up: the 'max' and 'average' branches are swapped or the mode is ignored"
    ),
    "window_size": (
        "the pooling window has the wrong size: the slice end must be vert_start + f (and horiz_start + f)"
    ),
    "kernel_flipped": (
        "the kernel is rotated by 180 degrees (true convolution); the layer is a "
        "cross-correlation: use W[p, q] as is, without flipping"
    ),
    "max_from_zero": (
        "every output is max(the window's maximum, 0): a window whose values are all negative gives 0 "
        "(a running maximum started at 0, best = 0, or a ReLU inside the pooling); max pooling returns "
        "the window's own maximum, negative or not"
    ),
    "kernel_transposed": (
        "the window and the kernel are paired transposed: window element [p, q] multiplies W[q, p] (the "
        "kernel's two spatial axes, or the window's, swapped); element [p, q] multiplies W[p, q]"
    ),
    "hw_swapped": (
        "the height and width axes are swapped (arrays are NHWC: index [i, h, w, c], W is (f, f, n_C_prev, n_C))"
    ),
    "crop_offset": (
        "dA_prev is cut out of dA_prev_pad at the wrong offset: take da_prev_pad[pad:pad + n_H_prev, "
        "pad:pad + n_W_prev, :]"
    ),
    "equals_other_tensor": "the gradient is computed from the wrong tensor (see the evidence for which one)",
    "starts_from_input": (
        "the gradient buffer starts from the input's values instead of zeros: create it with np.zeros "
        "(np.zeros_like(W), np.zeros(A_prev.shape), ...), not as a copy or a slice of the input"
    ),
    "not_reset_per_example": (
        "the gradient buffer of one example is not reset per example: create (or zero) da_prev_pad inside the "
        "loop over i, or take it as dA_prev_pad[i]"
    ),
    "mask_wrong": (
        "the max-pooling mask is wrong: it must be one-hot at the window's maximum "
        "(x == np.max(x)), the only element through which the gradient flows"
    ),
    # structure: measured facts
    "batch_averaged": (
        "the gradient is divided by the batch size m: the checked loss is a sum over the batch, "
        "not a mean, so do not divide by m"
    ),
    "distribute_factor": (
        "the average-pooling gradient is off by a constant factor: each of the n_H * n_W = f * f elements of a "
        "window gets dz / (n_H * n_W)"
    ),
    "constant_factor": "the gradient is off by a constant factor (its value is in the evidence): a missing or extra "
    "factor",
    "skipped_windows": (
        "some windows are skipped: a loop bound stops one short or starts one late (e.g. range(n_H - 1) or "
        "range(1, n_H) instead of range(n_H))"
    ),
    "overwritten": (
        "the sum over windows is assigned with `=` instead of accumulated with `+=`: only the last window "
        "written is left"
    ),
    "one_example": (
        "only one example's gradient is kept: the sum over the batch is missing or assigned with `=` "
        "(accumulate over i with +=)"
    ),
    "unwritten_outputs": (
        "part of the output is never computed: a loop bound stops one short or starts one late "
        "(e.g. range(n_H - 1) instead of range(n_H))"
    ),
    "border_only": (
        "dA_prev is wrong only in a border band and right in the interior: the windows that "
        "reach into the zero padding (or the crop of the padding from dA_prev_pad) are handled "
        "wrongly"
    ),
    # calls: how the failing case called the function (the same inputs called the usual way pass)
    "default_mode": (
        "called without mode, as the course's notebook calls it (pool_forward(A_prev, hparameters)), it does "
        "not max-pool: keep the signature's default, mode=\"max\""
    ),
    "key_order": (
        "the result depends on the order of the keys of hparameters: its values are taken by position "
        "(e.g. `stride, pad = hparameters.values()`), which the course's own dicts ({\"pad\": .., \"stride\": ..}, "
        "{\"stride\": .., \"f\": ..}) break; read each by its name: hparameters[\"stride\"]"
    ),
    "zero_upstream": (
        "fails only when some entries of the upstream gradient are exactly 0 (as after a ReLU): a zero entry "
        "is handled specially, and wrongly; skipping it must skip only that entry (a `break` where `continue` "
        "belongs ends the loop over the rest)"
    ),
    "memory_layout": (
        "fails only when the arrays are not C-contiguous (a transposed array, a slice with steps): the code "
        "assumes C order (strides computed by hand for as_strided, a reshape or a view of the raw buffer); "
        "use the array's own .strides, or np.ascontiguousarray(x) first"
    ),
    "reused_buffer": (
        "returns an array it reuses between calls (kept in a global, a default argument or a cache), so a "
        "second call overwrites an earlier result: return a new array from every call"
    ),
    # dependence: what changes the verdict
    "single_precision": (
        "computed in single precision (float32) somewhere: the result carries float32's rounding on general "
        "float64 inputs; keep every array float64 (np.zeros(shape) is float64; no dtype=np.float32, "
        ".astype(np.float32) or np.float32(...), here or in a helper such as zero_pad)"
    ),
    "stride_only": (
        "fails only with stride > 1: the windows are placed as if stride were 1 (vert_start = h instead of h * stride)"
    ),
    "overlap_only": (
        "fails only where windows overlap (stride < f): the gradient of a window is assigned "
        "with `=` instead of accumulated with `+=`"
    ),
    "pad_only": (
        "fails only with padding (pad > 0): the padding is handled wrongly (the padded size or output size, "
        "the crop of dA_prev_pad, or the windows over the padding)"
    ),
    "batch_only": (
        "fails only with more than one example (m > 1): the examples are mixed up (a wrong example index, "
        "a buffer shared between examples, or a sum over the batch done wrongly)"
    ),
    "channels_only": "fails only with more than one channel: a channel index is wrong",
    "nonsquare_only": (
        "fails only on non-square inputs: height and width are mixed up (n_H used where n_W belongs, "
        "in a loop bound, an output size or a slice)"
    ),
    # shapes: the size of each wrong axis fitted to the expressions students write (the cause names the one found)
    "wrong_shape": "the result has the wrong shape: a size is computed with the wrong expression",
    # notes: what the failing case's message states (a raised error's hint, an input changed, a layout)
    "numpy2_float": (
        "numpy 2 refuses float() of an array with more than 0 dimensions, such as b of shape (1, 1, 1); "
        "use b.item() or float(b[0, 0, 0])"
    ),
    "call_signature": "the function's signature is not the one its course calls it with",
    "input_modified": "the function modified one of its inputs in place; work on a copy and leave the inputs unchanged",
    "layout": "the result is laid out in the other course's axis order (NCHW for NHWC, or the reverse)",
    # the fix search (gradcheck.fix): no cause was named, but an edit of the source was confirmed
    "verified_fix": "a small edit of the source makes the function pass its whole check plan (diagnosis.fix)",
}

# The short title of each cause in reports (the class page, Markdown, HTML, Gradescope); a cause
# without one is titled from its id.
CAUSE_TITLES: dict[str, str] = {
    "border_only": "Padding border handled wrongly",
    "stride_only": "Stride ignored when placing windows",
    "overlap_only": "Overlapping windows overwrite instead of accumulating",
    "batch_averaged": "Gradient divided by the batch size",
    "kernel_flipped": "Kernel flipped (convolution instead of cross-correlation)",
    "hw_swapped": "Height and width swapped",
    "mask_wrong": "Wrong max-pooling mask",
    "distribute_factor": "distribute_value off by a constant factor",
    "pad_zero_crash": "Crash at pad = 0 (empty crop x[pad:-pad])",
    "bias_in_window": "Bias added inside the window sum",
}
