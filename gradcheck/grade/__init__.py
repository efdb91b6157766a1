"""``gradcheck grade``: grade a whole class, in parallel, resumable, locally or on Dask.

Pipeline: :mod:`~gradcheck.grade.sources` (find submissions) -> :mod:`~gradcheck.grade.store`
(what is already graded) -> :mod:`~gradcheck.grade.executors` running
:mod:`~gradcheck.grade.task` (one ``gradcheck.check`` per submission) ->
:mod:`~gradcheck.grade.gradebook` (grades.csv, report folders, results.json) ->
:mod:`~gradcheck.grade.classpage` (class.html, class.md). :func:`grade` is the entry point.
"""

from gradcheck.grade.run import GradeRun, grade, parse_require

__all__ = ["GradeRun", "grade", "parse_require"]
