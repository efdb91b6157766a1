"""The pytest plugin (``pytest --impl PATH``) through ``pytester``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fixture_files import COURSE_LOOPS

pytest_plugins = ["pytester"]

SUBMISSIONS = Path(__file__).parent / "submissions"
FAST = ("--gradcheck-examples", "2", "--gradcheck-timeout", "2", "-p", "no:cacheprovider")


def test_reference_gives_one_passing_test_per_check(pytester):
    result = pytester.runpytest("--impl", "reference.naive", *FAST, "-v")
    result.assert_outcomes(passed=14)
    result.stdout.fnmatch_lines(
        [
            "gradcheck: checking reference.naive (isolated worker)",
            "*collected 14 items",
            "reference.naive::conv_backward[[]dW[]] PASSED*",
            "reference.naive::pool_backward[[]ties[[]max[]][]] PASSED*",
        ]
    )


def test_failure_text_is_the_verdict_message_with_its_likely_cause(pytester):
    for name in ("cs231n_buggy.py", "cs231n_layers.py"):  # the file and the helper it imports
        shutil.copy(SUBMISSIONS / name, pytester.path / name)
    result = pytester.runpytest("--gradcheck-impl", "cs231n_buggy.py", *FAST, "--gradcheck-examples", "10")
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ conv_backward_naive[[]dx[]] _*",
            "conv_backward_naive: dx does not match the central finite difference of conv_forward_naive",
            "Mismatched elements:*",
            "likely cause: fails only with stride > 1: the windows are placed as if stride were 1*",
            "  evidence: fails at stride=2*",
            "FAILED cs231n_buggy.py::conv_backward_naive[[]dx[]]*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def _marking_submission(pytester) -> Path:
    """The course's loops (course_loops.py); every call of conv_backward appends to called.txt."""
    marker = pytester.path / "called.txt"
    shutil.copy(COURSE_LOOPS, pytester.path / "course_loops.py")
    return pytester.makepyfile(
        my_layers=f"""
        from course_loops import *  # noqa: F403
        from course_loops import conv_backward as _conv_backward

        def conv_backward(dZ, cache):
            with open({str(marker)!r}, "a") as handle:
                handle.write("x")
            return _conv_backward(dZ, cache)
        """
    )


def test_deselection_happens_before_any_check_runs(pytester, monkeypatch):
    monkeypatch.setenv("GRADCHECK_ISOLATION", "limits-only")  # its marker file must reach this folder
    _marking_submission(pytester)
    result = pytester.runpytest("--impl", "my_layers.py", *FAST, "-k", "zero_pad", "-v")
    result.assert_outcomes(passed=1, deselected=13)
    result.stdout.fnmatch_lines(["my_layers.py::zero_pad[[]X_pad[]] PASSED*"])
    assert not (pytester.path / "called.txt").exists()  # conv_backward never ran
    result = pytester.runpytest("--impl", "my_layers.py", *FAST, "-k", "conv_backward and dW")
    result.assert_outcomes(passed=1, deselected=13)
    assert (pytester.path / "called.txt").exists()


def test_an_id_on_the_command_line_selects_its_check(pytester, monkeypatch):
    monkeypatch.setenv("GRADCHECK_ISOLATION", "limits-only")  # its marker file must reach this folder
    _marking_submission(pytester)
    result = pytester.runpytest("--impl", "my_layers.py", "my_layers.py::pool_forward", *FAST, "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["my_layers.py::pool_forward[[]A[[]max[]][]] PASSED*",
                                 "my_layers.py::pool_forward[[]A[[]average[]][]] PASSED*"])
    assert not (pytester.path / "called.txt").exists()
    result = pytester.runpytest("--impl", "my_layers.py", "my_layers.py::conv_backward[dW]", *FAST)
    result.assert_outcomes(passed=1)


def test_keyword_and_marker_selection(pytester):
    result = pytester.runpytest("--impl", "reference", *FAST, "-k", "conv_backward and dW")
    result.assert_outcomes(passed=1, deselected=13)
    result = pytester.runpytest("--impl", "reference", *FAST, "-m", "gradcheck", "--strict-markers")
    result.assert_outcomes(passed=14)


def test_only_defined_functions_get_tests(pytester):
    result = pytester.runpytest("--impl", str(SUBMISSIONS / "missing_functions.py"), *FAST, "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*missing_functions.py::zero_pad[[]X_pad[]] PASSED*",
                                 "*missing_functions.py::conv_forward[[]Z[]] PASSED*"])


def test_load_error_is_one_failing_test(pytester):
    result = pytester.runpytest("--impl", str(SUBMISSIONS / "import_error.py"), *FAST)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["could not load *import_error.py:", "*No module named 'public_tests_that_do_not_exist'*"]
    )


def test_missing_target_is_a_usage_error(pytester):
    result = pytester.runpytest("--impl", "no_such_file.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--impl: no such file:*no_such_file.py"])


def test_timeout_and_crash_statuses_fail_their_tests(pytester):
    result = pytester.runpytest(
        "--impl", str(SUBMISSIONS / "os_exit.py"), *FAST, "-k", "conv_backward"
    )
    result.assert_outcomes(failed=3, deselected=11)
    result.stdout.fnmatch_lines(["conv_backward: conv_backward brought the worker process down*"])


def test_without_impl_the_plugin_adds_nothing(pytester):
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "gradcheck:" not in result.stdout.str()
    assert "gradcheck::" not in result.stdout.str()


def test_fixtures_and_strategies_for_authors(pytester):
    pytester.makepyfile(
        test_author="""
        from hypothesis import given, settings
        from gradcheck.pytest_plugin import conv_geometries

        def test_report(gradcheck_report):
            assert gradcheck_report.passed
            assert len(gradcheck_report.checks) == 14

        def test_backend(gradcheck_backend):
            assert "conv_forward" in gradcheck_backend.functions()

        @settings(max_examples=3)
        @given(conv_geometries(max_channels=1))
        def test_strategy(geometry):
            assert geometry.f >= 1
        """
    )
    result = pytester.runpytest("--impl", "reference", *FAST, "-k", "report or backend or strategy")
    result.assert_outcomes(passed=3, deselected=14)


def test_fixtures_skip_without_impl(pytester):
    pytester.makepyfile(test_author="def test_report(gradcheck_report):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs --impl PATH*"])


def test_profiles_are_registered_not_loaded(pytester):
    pytester.makeconftest(
        """
        from hypothesis import settings
        settings.register_profile("mine", max_examples=7)
        settings.load_profile("mine")
        """
    )
    pytester.makepyfile(
        test_profiles="""
        from hypothesis import settings

        def test_user_profile_stays():
            assert settings().max_examples == 7
            assert settings.get_profile("gradcheck-ci").derandomize
            assert settings.get_profile("gradcheck-thorough").max_examples == 1000
        """
    )
    result = pytester.runpytest("--impl", "reference", *FAST, "-k", "profile")
    result.assert_outcomes(passed=1, deselected=14)
    pytester.makepyfile(
        test_chosen="""
        from hypothesis import settings

        def test_chosen_profile():
            assert settings().max_examples == 50 and settings().derandomize
        """
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--hypothesis-profile", "gradcheck-ci", "-k", "chosen"
    )
    result.assert_outcomes(passed=1, deselected=1)  # chosen on the command line: it applies


def test_options_are_in_their_own_group(pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "gradcheck: check an implementation of the CNN layers:",
            "*--impl=PATH, --gradcheck-impl=PATH*",
        ]
    )


def test_a_users_profile_of_the_same_name_is_kept(pytester):
    pytester.makeconftest(
        """
        from hypothesis import settings
        settings.register_profile("gradcheck-ci", max_examples=3)
        """
    )
    pytester.makepyfile(
        test_kept="""
        from hypothesis import settings

        def test_kept():
            assert settings.get_profile("gradcheck-ci").max_examples == 3
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_notebook_id_on_the_command_line_selects_its_check(pytester):
    shutil.copy(SUBMISSIONS / "notebook_cnn.ipynb", pytester.path / "notebook_cnn.ipynb")
    result = pytester.runpytest("--impl", "notebook_cnn.ipynb", "notebook_cnn.ipynb::zero_pad", *FAST, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["notebook_cnn.ipynb::zero_pad[[]X_pad[]] PASSED*"])


def test_an_assignments_file_gives_one_test_per_layer_and_quantity(pytester):
    bug = Path(__file__).parent / "zoo_plans" / "dls_c1w4" / "bug_linear_backward_dW_no_1_over_m.py"
    shutil.copy(bug, pytester.path / "dnn.py")
    result = pytester.runpytest("--impl", "dnn.py", *FAST, "--gradcheck-examples", "10", "-v")
    result.assert_outcomes(passed=12, failed=3)  # linear_backward dW, linear_activation_backward dW, L_model_backward
    result.stdout.fnmatch_lines([
        "dnn.py::linear_backward[[]dA_prev[]] PASSED*",
        "dnn.py::linear_backward[[]dW[]] FAILED*",
        "linear_backward: dW does not match central differences of the reference linear_forward*",
    ])
    assert "conv_forward" not in result.stdout.str()  # no convolution layers asked of this assignment
