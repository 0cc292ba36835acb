"""Sphinx extension: each script once per page.

sphinx-thebe and sphinx-togglebutton add their inline configuration twice per page
(once with no file name, once with an empty one), so pages declared ``const
THEBE_JS_URL`` twice and the browser reported an error. Scripts with the same source
and attributes are kept once. No option turns this off: Jupyter Book always loads
both extensions, and neither has a setting for how it adds its scripts.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _unique_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = tuple(sorted(getattr(script, "attributes", {}).items()))
        key = (getattr(script, "filename", script) or "", attributes)  # None and "": inline
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the handler; safe for parallel builds."""
    app.connect("html-page-context", _unique_scripts, priority=900)  # after the others
    return {"parallel_read_safe": True, "parallel_write_safe": True}
