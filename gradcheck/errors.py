"""Exceptions raised by gradcheck."""


class GradcheckError(AssertionError):
    """A gradient (or forward) check failed; raised by the ``assert_*`` functions.

    An ``AssertionError`` so that pytest shows it as a test failure. Its text names each
    failing check with its message and likely cause; ``report`` is the
    :class:`~gradcheck.Report` when ``assert_check`` raised it (else None).
    """

    report = None


class UsageError(ValueError):
    """An argument to a gradcheck entry point is invalid (what, its value, where from)."""


class LoadError(Exception):
    """The target could not be loaded (syntax error, import error, no such module...)."""
