"""The statuses of the verdict contract (docs/contracts.md).

The functions a submission may define are its assignment's: the convolution notebook's in
``gradcheck.plans.convolution`` (``CONTRACT_FUNCTIONS``), the others' in their plans (``gradcheck.plans``).
"""

from __future__ import annotations

from typing import Literal

# The status of a check in a verdict (the JSON contract's "status").
Status = Literal["pass", "fail", "error", "timeout", "memory", "crashed", "missing"]
STATUSES: tuple[str, ...] = ("pass", "fail", "error", "timeout", "memory", "crashed", "missing")
# The status of one call of a submitted function.
CallStatus = Literal["ok", "error", "timeout", "memory", "crashed", "missing"]
CALL_STATUSES: tuple[str, ...] = ("ok", "error", "timeout", "memory", "crashed", "missing")
# Statuses after which nothing more is asked of the implementation in that check or batch.
FATAL_STATUSES: tuple[str, ...] = ("timeout", "memory", "crashed")
