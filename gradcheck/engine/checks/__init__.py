"""What every case is made of: its verdict and context, calling the implementation and judging
what it returns (``case``), and comparing a gradient with central differences (``gradient``).

The cases of a plan's functions are the plan's (``gradcheck.plans.convolution.checks``, the
layer specs' ``gradcheck.specs.cases``); each evaluates one generated case of one (function,
quantity) against its oracle and returns a :class:`~gradcheck.engine.checks.case.CaseVerdict`.
"""
