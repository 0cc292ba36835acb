"""The checking machinery behind every chapter's exercises.

A check runs the student's function on a few cases, compares each result with the
reference answer and returns a :class:`Feedback`, which it also prints as one line.
A wrong answer, an exception raised by the student's code or an unfinished
``NotImplementedError`` stub is reported in that line, never raised.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import torch

__all__ = [
    "Feedback",
    "check_function",
    "check_properties",
    "check_value",
    "compare",
    "report",
    "student_error",
]

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


def _short(value: Any) -> str:
    """Return a one-line preview of a value for feedback messages."""
    if isinstance(value, torch.Tensor):
        flat = value.detach().flatten()
        preview = ", ".join(f"{v:.4g}" for v in flat[:4].tolist())
        more = ", …" if flat.numel() > 4 else ""
        return f"tensor of shape {tuple(value.shape)} [{preview}{more}]"
    return _one_line(repr(value), 60)


def _as_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value.detach()
    try:
        array = np.asarray(value)  # complex stays complex, to be refused by compare
        array = array if array.dtype.kind == "c" else array.astype(np.float64)
    except (TypeError, ValueError):
        return None
    return torch.from_numpy(array)


def compare(expected: Any, received: Any, *, rtol: float = 1e-5, atol: float = 1e-8) -> str | None:
    """Describe how ``received`` differs from ``expected``; ``None`` when they agree.

    Tensors and arrays (and lists compared with them) must have the same shape
    and real values within ``atol + rtol·|expected|``, NaN matching NaN; numbers
    likewise; tuples and lists element by element; anything else with ``==``.
    """
    if isinstance(expected, (torch.Tensor, np.ndarray)):
        got = _as_tensor(received)
        if got is None:
            return f"expected a tensor, got {type(received).__name__}"
        want = _as_tensor(expected)
        if got.shape != want.shape:
            return f"expected shape {tuple(want.shape)}, got shape {tuple(got.shape)}"
        if got.is_complex():
            return f"expected real numbers, got complex ones: {_short(got)}"
        want, got = want.double().cpu(), got.double().cpu()
        if torch.isnan(got).any() and not torch.isnan(want).any():
            return f"the result contains NaN: {_short(got)}"
        if not torch.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
            both_nan = torch.isnan(got) & torch.isnan(want)
            difference = (got - want).abs().nan_to_num(math.inf).masked_fill(both_nan, 0.0)
            worst = int(difference.flatten().argmax())
            return (
                f"values differ: expected {_short(want)}, got {_short(got)} "
                f"(largest difference at flat index {worst})"
            )
        return None
    if isinstance(expected, Real) and not isinstance(expected, bool):
        if isinstance(received, torch.Tensor) and received.numel() == 1:
            received = received.item()
        if isinstance(received, bool) or not isinstance(received, (Real, np.integer, np.floating)):
            return f"expected a number, got {type(received).__name__} {_short(received)}"
        both_nan = math.isnan(expected) and math.isnan(float(received))
        if not both_nan and not math.isclose(
            float(received), float(expected), rel_tol=rtol, abs_tol=atol
        ):
            return f"expected {expected!r}, got {_short(received)}"
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(received, (tuple, list)) or len(received) != len(expected):
            return f"expected a sequence of {len(expected)} items, got {_short(received)}"
        for i, (want, got) in enumerate(zip(expected, received, strict=True)):
            problem = compare(want, got, rtol=rtol, atol=atol)
            if problem is not None:
                return f"item {i}: {problem}"
        return None
    return None if received == expected else f"expected {_short(expected)}, got {_short(received)}"


def _unchanged(before: Any, after: Any) -> bool:
    """Whether ``after`` still equals its deep copy ``before`` (``True`` when unknowable)."""
    if isinstance(before, torch.Tensor):
        return (
            isinstance(after, torch.Tensor)
            and (before.shape, before.dtype) == (after.shape, after.dtype)
            and bool(torch.equal(before, after) or torch.allclose(before, after, equal_nan=True))
        )
    if isinstance(before, np.ndarray):
        return np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")
    if isinstance(before, torch.nn.Module):
        return _unchanged(before.state_dict(), after.state_dict())
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(
            _unchanged(before[k], after[k]) for k in before
        )
    if isinstance(before, (list, tuple)):
        return len(before) == len(after) and all(
            _unchanged(a, b) for a, b in zip(before, after, strict=True)
        )
    if isinstance(before, (int, float, str, bytes, bool, type(None))):  # e.g. items of a list
        nan = isinstance(before, float) and math.isnan(before)
        return type(after) is type(before) and (after == before or (nan and math.isnan(after)))
    return True  # an object without value equality: nothing to tell


def report(feedback: Feedback) -> Feedback:
    """Print ``feedback`` as its one line and return it."""
    print(feedback)
    return feedback


def student_error(exercise: str, error: Exception) -> Feedback:
    """Turn an exception raised by the student's code into feedback (a stub included)."""
    if isinstance(error, NotImplementedError):
        message = (
            "not implemented yet: write your answer in place of the "
            "`raise NotImplementedError` line, then run this cell again"
        )
        return Feedback(exercise, "not implemented", message)
    return Feedback(exercise, "error", f"your code raised {_describe(error)}")


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

    Each case's arguments are deep-copied before the student's call, so a
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
    if not cases:
        raise ValueError("cases must hold at least one tuple of arguments")
    if not callable(student):
        return report(
            Feedback(exercise, "failed", f"expected a function, got {type(student).__name__}")
        )
    for number, args in enumerate(cases, start=1):
        given = copy.deepcopy(args)
        try:
            received = student(*given)
        except Exception as error:  # the student's code may raise anything
            return report(student_error(exercise, error))
        expected = reference(*args)
        try:
            problem = compare(expected, received, rtol=rtol, atol=atol)
            changed = [
                i for i, (a, b) in enumerate(zip(args, given, strict=True)) if not _unchanged(a, b)
            ]
        except Exception as error:  # a strange returned object: report it, do not raise
            problem, changed = f"the result could not be compared ({_describe(error)})", []
        if changed:
            problem = f"your function changed its argument {changed[0] + 1} in place"
        if problem is not None:
            text = f"case {number} of {len(cases)}: {problem}" + (f". Hint: {hint}" if hint else "")
            return report(Feedback(exercise, "failed", text))
    return report(Feedback(exercise, "passed", f"all {len(cases)} cases agree with the reference"))


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
            return report(student_error(exercise, error))
    try:
        problem = compare(expected, received, rtol=rtol, atol=atol)
    except Exception as error:  # a strange object: report it, do not raise
        problem = f"the answer could not be compared ({_describe(error)})"
    if problem is None:
        return report(Feedback(exercise, "passed", "correct"))
    return report(Feedback(exercise, "failed", problem + (f". Hint: {hint}" if hint else "")))


def check_properties(
    exercise: str,
    student: Any,
    cases: Sequence[tuple],
    describe_problem: Callable[..., str | None],
    *,
    success: str,
) -> Feedback:
    """Check an answer by properties of its results, for exercises with random outputs.

    For each case, ``student(*args)`` is called and ``describe_problem(result,
    *args)`` says what is wrong with the result (``None`` when it is right). The
    arguments are passed as they are, so ``describe_problem`` can see whether the
    student changed them.

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

    Returns
    -------
    Feedback
        Also printed as one line.
    """
    if not callable(student):
        return report(
            Feedback(exercise, "failed", f"expected a function, got {type(student).__name__}")
        )
    for args in cases:
        try:
            result = student(*args)
        except Exception as error:  # the student's code may raise anything
            return report(student_error(exercise, error))
        try:
            problem = describe_problem(result, *args)
        except Exception as error:  # a strange returned object: report it, do not raise
            problem = f"the result could not be checked ({_describe(error)})"
        if problem is not None:
            return report(Feedback(exercise, "failed", problem))
    return report(Feedback(exercise, "passed", success))
