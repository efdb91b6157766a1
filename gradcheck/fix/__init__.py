"""The fix search: a small edit of the submission's own source that makes a failing function pass.

For a failing function of a ``.py`` submission (notebooks are not searched yet), :mod:`gradcheck.fix.edits`
generates small program transformations of the submission's source (swap two names of the same
scope, ``=`` <-> ``+=``, an arithmetic operator, an off-by-one in a bound or a slice, ``* stride``
in or out, an ``axis=``, a ``dtype=``/``.astype``, einsum subscripts, a transpose's axes, two call
arguments or tuple items, a statement moved into or out of a loop or dropped, ...), ranked by
where the failure points (the lines the failing case ran, the lines that name the failing
quantity). :mod:`gradcheck.fix.search` screens them in the submission's own isolated worker (each
candidate loaded there as a variant of the module, ``gradcheck.boundary.variants``), in batches on
the smallest failing cases, and confirms the first survivor with the function's whole check
plan there, then as a user applies it (:mod:`gradcheck.fix.confirm`: the whole edited file, a
fresh worker, the same seed and examples). Only a confirmed fix is reported:
``diagnosis["fix"] = {"path", "line", "before", "after", ...}``.

Nothing here runs submitted code in the checker: the checker parses the source and edits its
text; every variant runs in the worker, at the run's isolation level and under its limits.
"""

DEFAULT_FIX_BUDGET = 2.0  # seconds for a whole file: keeps a failing file's `gradcheck check` near 5 s

__all__ = ["DEFAULT_FIX_BUDGET"]
