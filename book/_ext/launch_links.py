"""Sphinx extension: launch buttons (Binder, Colab) only where they can work.

* While ``repository.url`` in ``_config.yml`` is empty, the chapters show no
  launch button: there is nothing to launch from, and the theme would fail.
* The chapters are MyST Markdown files, which neither Binder's JupyterLab nor
  Colab opens as a notebook, so the buttons open ``.ipynb`` files instead.
  Binder: ``binder/postBuild`` writes each chapter's notebook beside its source.
  Colab: opens the notebook the published site serves, from the branch that holds
  the site (``launch_notebooks_branch``, ``gh-pages`` by default).

No option of Jupyter Book or sphinx-book-theme does either: the theme raises when
launch buttons are configured without a repository, links the source file on the
repository's branch, and switches to an ``.ipynb`` only when one lies beside the
source (where Sphinx would read it as a second source of the same page).
"""

from __future__ import annotations

import re
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config


def _no_buttons_without_repository(app: Sphinx, config: Config) -> None:
    if not config.html_theme_options.get("repository_url"):
        config.html_theme_options.pop("launch_buttons", None)


def _open_notebooks(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    branch = app.config.launch_notebooks_branch
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group["buttons"]:
            url = button.get("url", "")
            if button.get("text") == "Binder":
                button["url"] = re.sub(r"\.md$", ".ipynb", url)
            elif button.get("text") == "Colab":
                button["url"] = re.sub(r"/blob/[^/]+/(.*)\.md$", rf"/blob/{branch}/\1.ipynb", url)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the extension."""
    app.add_config_value("launch_notebooks_branch", "gh-pages", "html")
    app.connect("config-inited", _no_buttons_without_repository)
    app.connect("html-page-context", _open_notebooks, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
