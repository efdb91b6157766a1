"""gradcheck: verify hand-written backpropagation of CNN layers against finite differences.

Library first: ``check`` judges an implementation of the contract (DESIGN.md),
``check_vjp`` any numpy function and its hand-written backward; the
``gradcheck`` command and ``pytest --impl`` are thin layers over them.
"""

from gradcheck.api import DEFAULT_EXAMPLES, assert_check, check
from gradcheck.errors import GradcheckError, LoadError, UsageError
from gradcheck.verdict.results import CheckResult, Report
from gradcheck.vjp import VjpResult, assert_vjp, check_vjp

__all__ = [
    "check",
    "assert_check",
    "check_vjp",
    "assert_vjp",
    "VjpResult",
    "DEFAULT_EXAMPLES",
    "LoadError",
    "GradcheckError",
    "UsageError",
    "CheckResult",
    "Report",
]
__version__ = "0.1.0"
