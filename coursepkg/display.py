"""What the chapters show: a computed number quoted in the prose, and the code they run."""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

import numpy as np

__all__ = ["glue", "show_source"]


def glue(name: str, value: Any, *, display: bool = True) -> None:
    """Record ``value`` under ``name`` for the book's prose, or only show it.

    The book is built with myst-nb, whose ``glue`` lets the text quote a number the
    notebook computed. A NumPy scalar is recorded as the Python number it holds, so
    the text can format it. A student running a chapter without myst-nb installed
    gets the value displayed (when ``display`` is true) and nothing else.

    Parameters
    ----------
    name : str
        The key the book's text refers to.
    value : object
        The value to record.
    display : bool, default True
        Whether to show the value in the notebook as well.
    """
    if isinstance(value, np.generic):
        value = value.item()
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

    source = textwrap.dedent(inspect.getsource(obj))
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
