"""The checking machinery behind every chapter's exercises.

A check runs the student's function on a few cases, judges each result (against a
reference answer, or by its properties) and returns a :class:`Feedback`, which it
also prints as one line: the case that failed, with its input, and what was
expected against what came back. A wrong answer, an exception raised by the
student's code or an unfinished ``NotImplementedError`` stub is reported in that
line, never raised.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import torch

__all__ = ["Feedback", "check_function", "check_properties", "check_value", "compare"]

# Plain symbols that every monospace font has (emoji may show as empty boxes).
_SYMBOLS = {"passed": "✓", "failed": "✗", "not implemented": "…", "error": "⚠"}


@dataclass(frozen=True)
class Feedback:
    """The verdict of one check.

    Attributes
    ----------
    exercise : str
        The exercise's name.
    status : {"passed", "failed", "not implemented", "error"}
        ``error`` means the student's code raised an exception.
    message : str
        One line saying what was right or wrong, with expected and received values.
    """

    exercise: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        """Whether the answer is correct."""
        return self.status == "passed"

    def __str__(self) -> str:
        return f"{_SYMBOLS[self.status]} {self.exercise}: {self.message}"


def _one_line(text: str, limit: int) -> str:
    """Return ``text`` with its whitespace (newlines too) collapsed, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(error: Exception) -> str:
    """Return ``Name: message`` of an exception on one line, even when its ``__str__`` fails."""
    try:
        text = _one_line(str(error), 200)
    except Exception:  # its __str__ raised or returned no string
        text = ""
    return type(error).__name__ + (f": {text}" if text else "")


def _entries(tensor: torch.Tensor) -> str:
    """Return the first 4 entries of a tensor, ``[1, 2.5, 3, 4, …]``."""
    flat = tensor.detach().flatten()
    more = ", …" if flat.numel() > 4 else ""
    return f"[{', '.join(f'{v:.4g}' for v in flat[:4].tolist())}{more}]"


def _short(value: Any, *, entries: bool = True) -> str:
    """Return a one-line preview: a tensor's shape (and first entries), a float to 12 digits."""
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)}" + (f" {_entries(value)}" if entries else "")
    if isinstance(value, float):
        value = float(f"{value:.12g}")  # 0.1 * 0.1 shows as 0.01
    return _one_line(repr(value), 60)


def _as_tensor(value: Any) -> torch.Tensor | None:
    """Return ``value`` as a tensor (lists and arrays become float64), ``None`` if it is none."""
    if isinstance(value, torch.Tensor):
        return value.detach()
    try:
        array = np.asarray(value)  # complex stays complex, to be refused by compare
        array = array if array.dtype.kind == "c" else array.astype(np.float64)
    except (TypeError, ValueError):
        return None
    return torch.from_numpy(array)


def _differences(error: AssertionError) -> str:
    """Trim the message of :func:`torch.testing.assert_close` to how many values differ and where.

    It reads "Tensor-likes are not close!", a blank line, then the mismatched
    elements, the greatest absolute and relative differences with their
    tolerances; the student needs the first two facts, without the tolerances
    and with 4 significant digits.
    """
    lines = str(error).splitlines()
    kept = [
        line.split(" (up to")[0]
        for line in lines
        if line.startswith(("Mismatched", "Greatest absolute"))
    ]
    text = "; ".join(kept or lines[:1]).lower()
    return re.sub(r"\d+\.\d{5,}(e[-+]\d+)?", lambda m: f"{float(m[0]):.4g}", text)


def compare(expected: Any, received: Any, *, rtol: float = 1e-5, atol: float = 1e-8) -> str | None:
    """Describe how ``received`` differs from ``expected``; ``None`` when they agree.

    Tensors and arrays (and lists compared with them) must have the same shape and
    real values that :func:`torch.testing.assert_close` finds close, NaN matching
    NaN, whatever their dtypes; numbers likewise; tuples and lists element by
    element; anything else with ``==``.
    """
    if isinstance(expected, (tuple, list)):
        if not isinstance(received, (tuple, list)) or len(received) != len(expected):
            return f"expected a sequence of {len(expected)} items, got {_short(received)}"
        for i, (want, got) in enumerate(zip(expected, received, strict=True)):
            if (problem := compare(want, got, rtol=rtol, atol=atol)) is not None:
                return f"item {i}: {problem}"
        return None
    close = {"rtol": rtol, "atol": atol, "equal_nan": True}
    if isinstance(expected, Real) and not isinstance(expected, bool):
        if isinstance(received, torch.Tensor) and received.numel() == 1:
            received = received.item()
        if isinstance(received, bool) or not isinstance(received, (Real, np.integer, np.floating)):
            return f"expected a number, got {type(received).__name__} {_short(received)}"
        try:
            torch.testing.assert_close(float(received), float(expected), **close)
        except (AssertionError, OverflowError):  # OverflowError: an int too large for a float
            return f"expected {_short(expected)}, got {_short(received)}"
        return None
    if not isinstance(expected, (torch.Tensor, np.ndarray)):
        return (
            None if received == expected else f"expected {_short(expected)}, got {_short(received)}"
        )
    got, want = _as_tensor(received), _as_tensor(expected)
    if got is None:
        return f"expected a tensor, got {type(received).__name__}"
    if got.shape != want.shape:
        return f"expected shape {tuple(want.shape)}, got shape {tuple(got.shape)}"
    if got.is_complex():
        return f"expected real numbers, got complex ones: {_short(got)}"
    if got.isnan().any() and not want.isnan().any():
        return f"the result contains NaN: {_short(got)}"
    try:
        torch.testing.assert_close(got.double(), want.double(), check_device=False, **close)
    except AssertionError as error:
        return (
            f"values differ: expected {_entries(want)}, got {_entries(got)}; {_differences(error)}"
        )
    return None


def _unchanged(before: Any, after: Any) -> bool:
    """Whether ``after`` still equals its deep copy ``before`` (``True`` when unknowable)."""
    if isinstance(before, torch.nn.Module):  # a layer: its weights and buffers
        before, after = before.state_dict(), after.state_dict()
    try:
        torch.testing.assert_close(after, before, rtol=0, atol=0, equal_nan=True)
    except AssertionError:
        return False
    except TypeError:  # a type assert_close does not know (a string, a module): nothing to tell
        return True
    return True


def _report(feedback: Feedback) -> Feedback:
    """Print ``feedback`` as its one line and return it."""
    print(feedback)
    return feedback


def _student_error(exercise: str, error: Exception) -> Feedback:
    """Turn an exception raised by the student's code into feedback (a stub included)."""
    if isinstance(error, NotImplementedError):
        message = (
            "not implemented yet: write your answer in place of the "
            "`raise NotImplementedError` line, then run this cell again"
        )
        return Feedback(exercise, "not implemented", message)
    return Feedback(exercise, "error", f"your code raised {_describe(error)}")


def _check_cases(
    exercise: str,
    student: Any,
    cases: Sequence[tuple],
    problem_of: Callable[..., str | None],
    *,
    success: str,
    hint: str,
) -> Feedback:
    """Call ``student`` on a copy of each case; stop at the first ``problem_of(i, result, *case)``.

    The student's function gets deep copies of the arguments, so that one that
    changes its inputs in place is caught and cannot spoil the case.
    """
    if not cases:
        raise ValueError("cases must hold at least one tuple of arguments")
    if not callable(student):
        kind = type(student).__name__
        return _report(Feedback(exercise, "failed", f"expected a function, got {kind}"))
    for number, args in enumerate(cases, start=1):
        given = copy.deepcopy(args)
        try:
            result = student(*given)
        except Exception as error:  # the student's code may raise anything
            return _report(_student_error(exercise, error))
        try:
            changed = [
                i for i, (a, b) in enumerate(zip(args, given, strict=True)) if not _unchanged(a, b)
            ]
            if changed:
                problem = f"your function changed its argument {changed[0] + 1} in place"
            else:
                problem = problem_of(number - 1, result, *args)
        except Exception as error:  # a strange returned object: report it, do not raise
            problem = f"the result could not be checked ({_describe(error)})"
        if problem is not None:
            call = f"{exercise}({', '.join(_short(a, entries=False) for a in args)})"
            text = f"case {number} of {len(cases)}, {call}: {problem}"
            return _report(Feedback(exercise, "failed", text + (f". Hint: {hint}" if hint else "")))
    return _report(Feedback(exercise, "passed", success))


def check_function(
    exercise: str,
    student: Any,
    reference: Callable[..., Any],
    cases: Sequence[tuple],
    *,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    hint: str = "",
) -> Feedback:
    """Call ``student(*args)`` and ``reference(*args)`` for each case and compare.

    The student's function gets a deep copy of each case's arguments, so a
    function that changes its inputs in place is caught and cannot spoil the
    reference's inputs.

    Parameters
    ----------
    exercise : str
        Name shown in the feedback.
    student : callable
        The student's function (anything else is reported, not raised).
    reference : callable
        The correct implementation.
    cases : sequence of tuple
        Positional arguments, one tuple per case.
    rtol, atol : float
        Tolerances for :func:`compare`.
    hint : str, optional
        Appended to a failure message.

    Returns
    -------
    Feedback
        Also printed as one line.
    """
    # The reference runs outside the student's checks: an error there is the course's own.
    expected = [reference(*copy.deepcopy(args)) for args in cases]

    def problem_of(i: int, result: Any, *args: Any) -> str | None:
        return compare(expected[i], result, rtol=rtol, atol=atol)

    success = f"all {len(cases)} cases agree with the reference"
    return _check_cases(exercise, student, cases, problem_of, success=success, hint=hint)


def check_properties(
    exercise: str,
    student: Any,
    cases: Sequence[tuple],
    describe_problem: Callable[..., str | None],
    *,
    success: str,
    hint: str = "",
) -> Feedback:
    """Check an answer by properties of its results, for exercises with random outputs.

    For each case, ``student(*args)`` is called (on a deep copy of the arguments,
    as in :func:`check_function`) and ``describe_problem(result, *args)`` says
    what is wrong with the result (``None`` when it is right).

    Parameters
    ----------
    exercise : str
        Name shown in the feedback.
    student : callable
        The student's function (anything else is reported, not raised).
    cases : sequence of tuple
        Positional arguments, one tuple per case.
    describe_problem : callable
        ``describe_problem(result, *args) -> str | None``.
    success : str
        The message when every case is right.
    hint : str, optional
        Appended to a failure message.

    Returns
    -------
    Feedback
        Also printed as one line.
    """

    def problem_of(_: int, result: Any, *args: Any) -> str | None:
        return describe_problem(result, *args)

    return _check_cases(exercise, student, cases, problem_of, success=success, hint=hint)


def formula_problem(
    reference: Callable[..., float],
    slips: Sequence[tuple[Callable[..., float], str]],
    value: Any,
    *args: Any,
) -> str | None:
    """Describe what is wrong with ``value``, a number meant to be ``reference(*args)``.

    ``slips`` pairs plausible wrong formulas with what each gets wrong; the first one
    that ``value`` matches (to 1e-6, relative) is named. Made for
    :func:`check_properties`, as ``functools.partial(formula_problem, reference, slips)``.
    """
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        return f"expected a number, got {type(value).__name__}"
    want = reference(*args)
    if math.isclose(value, want, rel_tol=1e-6):
        return None
    for slip, why in slips:
        if math.isclose(value, slip(*args), rel_tol=1e-6):
            return f"got {value:.4g}, expected {want:.4g}: {why}"
    return f"got {value:.4g}, expected {want:.4g}"


def check_value(
    exercise: str,
    received: Any,
    expected: Any,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    hint: str = "",
) -> Feedback:
    """Compare a value the student computed with the expected one.

    ``received`` may be a zero-argument function (e.g. a stub), which is called first.
    """
    if callable(received):
        try:
            received = received()
        except Exception as error:  # the student's code may raise anything
            return _report(_student_error(exercise, error))
    try:
        problem = compare(expected, received, rtol=rtol, atol=atol)
    except Exception as error:  # a strange object: report it, do not raise
        problem = f"the answer could not be checked ({_describe(error)})"
    if problem is None:
        return _report(Feedback(exercise, "passed", "correct"))
    return _report(Feedback(exercise, "failed", problem + (f". Hint: {hint}" if hint else "")))
