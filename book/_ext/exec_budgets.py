"""Sphinx extension: the ``{exec-budgets}`` table of the status page.

Each chapter's execution time in the last build (myst-nb's records) beside its
budget, and, when ``make bench`` has run, the figures it measured
(``_build/bench/bench.json``): each chapter in a fresh kernel with its peak
memory and training runs, ``fit()`` against a bare loop, and the tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docutils import nodes
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

_BUDGETS = "benchmarks/budgets.json"  # the one place the budgets are written


class BudgetsNode(nodes.General, nodes.Element):
    """Placeholder, replaced once every notebook has been executed."""


class BudgetsDirective(SphinxDirective):
    """Insert the placeholder, and have myst-nb refresh the page after executions."""

    def run(self) -> list[nodes.Node]:
        """Return the placeholder node."""
        NbMetadataCollector.set_doc_data(self.env, self.env.docname, "has_exec_table", True)
        return [BudgetsNode()]


def _table(header: list[str], rows: list[list[nodes.Node | str]]) -> nodes.table:
    table = nodes.table(classes=["colwidths-auto"])
    group = nodes.tgroup(cols=len(header))
    table += group
    group.extend(nodes.colspec(colwidth=1) for _ in header)
    head, body = nodes.thead(), nodes.tbody()
    group += head
    group += body
    for parent, cells in [(head, header), *((body, row) for row in rows)]:
        row = nodes.row()
        for cell in cells:
            paragraph = nodes.paragraph()
            paragraph += cell if isinstance(cell, nodes.Node) else nodes.Text(cell)
            row += nodes.entry("", paragraph)
        parent += row
    return table


def _link(docname: str, target: str) -> pending_xref:
    link = pending_xref(refdoc=docname, reftarget=f"/{target}", reftype="doc", refdomain="std")
    link["refexplicit"], link["refwarn"] = True, True
    link += nodes.inline(text=Path(target).name)
    return link


def _mark(value: float, budget: float) -> str:
    return "✓" if value <= budget else "✗ over budget"


class BudgetsTransform(SphinxPostTransform):
    """Replace the placeholder with the tables."""

    default_priority = 8  # before references are resolved

    def run(self, **kwargs: Any) -> None:
        """Build the tables from the execution records and the last benchmark."""
        for node in self.document.findall(BudgetsNode):
            node.replace_self(self._tables())

    def _tables(self) -> list[nodes.Node]:
        root = Path(self.env.srcdir)
        budgets = json.loads((root / _BUDGETS).read_text(encoding="utf-8"))
        docname, rows, total = self.env.docname, [], 0.0
        for doc, data in sorted(NbMetadataCollector.get_doc_data(self.env).items()):
            runtime = (data.get("exec_data") or {}).get("runtime")
            if runtime is None:
                continue
            case_study = Path(doc).name == budgets["case_study"]
            budget = budgets["case_study_s" if case_study else "chapter_s"]
            total += runtime
            mark = _mark(runtime, budget)
            rows.append([_link(docname, doc), f"{runtime:.1f} s", f"≤ {budget} s", mark])
        book = budgets["book_s"]
        rows.append(["all chapters", f"{total:.1f} s", f"≤ {book} s", _mark(total, book)])
        result = [_table(["Chapter", "Run time in this build", "Budget", ""], rows)]
        bench = root / "_build/bench/bench.json"
        if bench.is_file():
            text = nodes.paragraph()
            text += [nodes.Text("The last "), nodes.literal(text="make bench")]
            text += nodes.Text(" on the machine that built the site:")
            result.append(text)
            result.append(_bench_table(json.loads(bench.read_text(encoding="utf-8")), budgets))
        return result


def _bench_table(bench: dict, budgets: dict) -> nodes.table:
    rows = []
    for chapter in bench["chapters"]:
        runs = chapter["runs"]
        runs_text = f"{len(runs)} runs, {sum(run['seconds'] for run in runs):.1f} s"
        budget = chapter["budget_s"]
        rows.append(
            [
                chapter["chapter"],
                f"{chapter['seconds']:.1f} s",
                f"≤ {budget:.0f} s",
                _mark(chapter["seconds"], budget),
                f"{chapter['peak_mb']:.0f} MB",
                runs_text,
            ]
        )
    for key, label, unit in (
        ("book_s", "all chapters", " s"),
        ("fit_ratio", "fit() / bare loop", ""),
        ("tests_s", "unit and claims tests", " s"),
    ):
        if key in bench:
            value, budget = bench[key], budgets[key]
            rows.append(
                [label, f"{value:g}{unit}", f"≤ {budget}{unit}", _mark(value, budget), "", ""]
            )
    header = ["Measure", "Measured", "Budget", "", "Peak memory", "Training runs (fit)"]
    return _table(header, rows)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive and its transform."""
    app.add_node(BudgetsNode)
    app.add_directive("exec-budgets", BudgetsDirective)
    app.add_post_transform(BudgetsTransform)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
