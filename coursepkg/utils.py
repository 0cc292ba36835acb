"""Reproducibility and device selection, used at the top of every chapter."""

from __future__ import annotations

import ast
import inspect
import math
import os
import random
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "check_fraction",
    "check_nonnegative",
    "check_path",
    "check_positive_int",
    "check_seed",
    "check_type",
    "get_device",
    "glue",
    "seed_everything",
    "seeded_generator",
    "show_source",
]

_MAX_SEED = 2**32 - 1
_MAX_GENERATOR_SEED = 2**64 - 1  # what torch.Generator.manual_seed accepts


def check_type(value: object, expected: type, name: str, label: str) -> None:
    """Raise a ``TypeError`` naming ``name`` unless ``value`` is an instance of ``expected``.

    ``label`` is how the message names the type, e.g. ``"torch.nn.Module"``.
    """
    if not isinstance(value, expected):
        raise TypeError(f"{name} must be a {label}, got {type(value).__name__}")


def check_positive_int(value: object, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer ``>= minimum``, else raise naming ``name``.

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        The argument's name, used in the error message.
    minimum : int, default 1
        The smallest allowed value.

    Returns
    -------
    int
        ``value`` itself.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (``bool`` is refused too).
    ValueError
        If ``value < minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_number(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")


def check_nonnegative(value: object, name: str) -> float:
    """Return ``value`` as a float if it is a finite number ``>= 0``, else raise naming ``name``."""
    _check_number(value, name)
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        number = math.inf
    if not (math.isfinite(number) and number >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return number


def check_fraction(value: object, name: str) -> float:
    """Return ``value`` as a float if it lies in ``[0, 1]``, else raise naming ``name``."""
    _check_number(value, name)
    if not 0 <= value <= 1:  # NaN fails too
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return float(value)


def check_seed(value: object, name: str = "seed") -> int:
    """Return ``value`` if it can seed a :class:`torch.Generator`, else raise naming ``name``.

    Parameters
    ----------
    value : object
        The value to check.
    name : str, default "seed"
        The argument's name, used in the error message.

    Returns
    -------
    int
        ``value`` as an ``int``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If ``value`` is outside ``[0, 2**64 - 1]``.
    """
    seed = check_positive_int(value, name, minimum=0)
    if seed > _MAX_GENERATOR_SEED:
        raise ValueError(f"{name} must be in [0, 2**64 - 1], got {value}")
    return seed


def seeded_generator(seed: object, name: str = "seed") -> torch.Generator:
    """Return a new :class:`torch.Generator` seeded with ``seed``, checked by :func:`check_seed`."""
    return torch.Generator().manual_seed(check_seed(seed, name))


def check_path(value: object, name: str) -> Path:
    """Return ``value`` as a :class:`pathlib.Path` if it is a path, else raise naming ``name``.

    Parameters
    ----------
    value : object
        The value to check: a ``str`` or an ``os.PathLike`` such as a ``Path``.
    name : str
        The argument's name, used in the error message.

    Returns
    -------
    pathlib.Path
        ``Path(value)``.

    Raises
    ------
    TypeError
        If ``value`` is neither a ``str`` nor an ``os.PathLike``.
    """
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(value).__name__}")
    return Path(value)


def seed_everything(seed: int) -> int:
    """Seed Python's, NumPy's and PyTorch's random number generators.

    Two runs of the same CPU code after ``seed_everything(seed)`` give identical
    numbers. GPU kernels may still differ from run to run (see :ref:`setup`).

    Parameters
    ----------
    seed : int
        A seed in ``[0, 2**32 - 1]``.

    Returns
    -------
    int
        The seed, so that it can be logged.

    Raises
    ------
    TypeError
        If ``seed`` is not an integer.
    ValueError
        If ``seed`` is outside ``[0, 2**32 - 1]``.
    """
    check_positive_int(seed, "seed", minimum=0)
    if seed > _MAX_SEED:
        raise ValueError(f"seed must be in [0, 2**32 - 1], got {seed}")
    seed = int(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses started later
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed


def get_device() -> torch.device:
    """Return the fastest available device: CUDA, then Apple's MPS, then the CPU.

    Returns
    -------
    torch.device
        ``cuda``, ``mps`` or ``cpu``.
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def glue(name: str, value: Any, *, display: bool = True) -> None:
    """Record ``value`` under ``name`` for the book's prose, or only show it.

    The book is built with myst-nb, whose ``glue`` lets the text quote a number the
    notebook computed. A student running a chapter without myst-nb installed gets
    the value displayed (when ``display`` is true) and nothing else.

    Parameters
    ----------
    name : str
        The key the book's text refers to.
    value : object
        The value to record.
    display : bool, default True
        Whether to show the value in the notebook as well.
    """
    check_type(name, str, "name", "str")
    check_type(display, bool, "display", "bool")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # outside the book's environment
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)


def show_source(obj: Any, *, docstring: bool = False) -> Any:
    """Return the source code of a coursepkg function or class, ready to display.

    The chapters use it to show the teaching implementation they run, so the
    page and the package can never disagree.

    Parameters
    ----------
    obj : function, class or method
        Anything :func:`inspect.getsource` accepts.
    docstring : bool, default False
        Keep the docstring; by default it is left out to keep the listing short.

    Returns
    -------
    IPython.display.Code
        Highlighted in a notebook or on the website; plain text elsewhere.
    """
    from IPython.display import Code  # imported here: IPython is only needed in notebooks

    check_type(docstring, bool, "docstring", "bool")
    try:
        source = textwrap.dedent(inspect.getsource(obj))
    except TypeError as error:
        kind = type(obj).__name__
        raise TypeError(f"obj must be a function, class or method, got {kind}") from error
    if not docstring:
        source = _without_docstring(source)
    return Code(source, language="python")


def _without_docstring(source: str) -> str:
    """Remove the docstring of the function or class defined by ``source``."""
    node = ast.parse(source).body[0]
    first = node.body[0] if node.body else None
    if not (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return source
    lines = source.splitlines(keepends=True)
    return "".join(lines[: first.lineno - 1] + lines[first.end_lineno :])
