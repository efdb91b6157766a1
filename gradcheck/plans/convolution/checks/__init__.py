"""The per-case checks of the convolution notebook's functions, one module per layer family
(conv, pool, window helpers), and how a case called its function, in words (``notes``).

Each ``*_case`` function evaluates one generated case of one (function, quantity)
against its oracle and returns a :class:`~gradcheck.engine.checks.case.CaseVerdict`.
``full=False`` is the cheap screen (a random-direction comparison ``<G, J u>``
numeric vs ``<J^T G, u>`` analytic, two forward calls); ``full=True`` is the
per-element central difference, grouped by window geometry, that localises an error.
"""
