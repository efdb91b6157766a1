"""Bad submission: defines only zero_pad and conv_forward (the rest is missing)."""

from reference.naive import conv_forward, zero_pad  # noqa: F401
