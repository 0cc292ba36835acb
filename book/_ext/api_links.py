"""Sphinx extension: each name of the API reference links to the pages that teach it.

A public name of ``coursepkg`` is *taught* on every chapter whose code (code
cells, Python and shell blocks, inline code) uses it; when no chapter does, on
the other pages that do. A class no page names (a return type) is taught where
the functions of its module that return it are. Any other name (a validation
helper) is taught on the first page that uses its module. Each documented name
gets a "Taught in" line with links to those pages; a name with none is reported
as a warning, which fails the strict build.

sphinx-codeautolink 0.20 (``codeautolink_autodoc_inject``) was tried instead: it
stops the build on sphinx-exercise's untitled sections and, patched for that, links
a name only from Python code that spells it, so 41 of the 130 names linked here got
no link (names the instructors' and setup pages teach in prose and shell commands,
return types, helpers no chapter calls by name).
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
_CODE_BLOCK = re.compile(r"^```(?:\{code-cell\}|python|bash)[^\n]*\n(.*?)^```", re.M | re.S)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")  # inline code and roles such as {func}`...`
# Pages searched, in this order: chapters first; the other pages only when no chapter uses a name.
_PAGE_GROUPS = ("notebooks/[0-9][0-9]_*.md", "book/*.md")
_EXCLUDED = {"book/api", "book/glossary"}


def _code_of(text: str) -> str:
    return "\n".join(_CODE_BLOCK.findall(text) + _INLINE_CODE.findall(text))


def _read_pages(app: Sphinx) -> None:
    root = Path(app.srcdir)
    app.env.api_link_pages = [
        {
            path.relative_to(root).with_suffix("").as_posix(): _code_of(path.read_text("utf-8"))
            for path in sorted(root.glob(pattern))
            if path.relative_to(root).with_suffix("").as_posix() not in _EXCLUDED
        }
        for pattern in _PAGE_GROUPS
    ]


def _pages_using(app: Sphinx, names: list[str]) -> list[str]:
    if not names:
        return []
    pattern = re.compile(r"(?<![\w])(?:{})\b".format("|".join(map(re.escape, names))))
    for group in app.env.api_link_pages:
        pages = [page for page, code in group.items() if pattern.search(code)]
        if pages:
            return pages
    return []


def _pages_teaching(app: Sphinx, module: ModuleType, short: str, obj: Any) -> list[str]:
    pages = _pages_using(app, [short])
    members = {name: getattr(module, name) for name in getattr(module, "__all__", [])}
    if not pages and isinstance(obj, type):
        makers = [
            name for name, member in members.items() if callable(member) and _returns(member, short)
        ]
        pages = _pages_using(app, makers)
    if not pages:
        pages = _pages_using(app, [name for name in members if not name.isupper()])[:1]
    return pages


def _returns(function: Any, class_name: str) -> bool:
    try:
        annotation = inspect.signature(function).return_annotation
    except (TypeError, ValueError):
        return False
    return class_name in str(getattr(annotation, "__name__", annotation))


def _add_taught_in(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]):
    module_name, _, short = name.rpartition(".")
    module = sys.modules.get(module_name)
    if what == "module" or not isinstance(module, ModuleType):
        return  # modules and members of classes: their object carries the link
    pages = _pages_teaching(app, module, short, obj)
    if not pages:
        LOGGER.warning("api_links: no page teaches %s", name, type="api_links")
        return
    links = ", ".join(f":doc:`/{page}`" for page in pages)
    lines.extend(["", f"**Taught in:** {links}", ""])


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the extension."""
    app.connect("builder-inited", _read_pages)
    app.connect("autodoc-process-docstring", _add_taught_in, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
