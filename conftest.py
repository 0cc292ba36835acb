"""Let ``pytest --nbmake`` execute the chapters' MyST-markdown notebooks, and keep their outputs.

nbmake collects only ``*.ipynb`` files and reads them with ``nbformat``. The
chapters are ``.md`` files read by jupytext, so this file collects them with an
item built on nbmake's own and gives nbmake a reader that goes through jupytext.

Each chapter is executed once per test run, here, and the book reuses the result:
a chapter that passes is stored in the book's execution cache
(:func:`notebook_deps.record_executed`), where ``jupyter-book build`` finds it
instead of executing the chapter again. Runs on another seed or at the quick size
(``COURSE_SEED`` or ``COURSE_QUICK`` set) are checked but never stored: the book
shows the chapters as written.
"""

import os
import sys
import time
from pathlib import Path

import jupytext
import pytest
from nbmake import nb_run
from nbmake.nb_run import NotebookRun
from nbmake.pytest_items import NotebookFailedException, NotebookItem

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT / "book/_ext"))
from notebook_deps import record_executed  # noqa: E402


class _JupytextReader:
    """Stands in for the ``nbformat`` module inside nbmake's runner."""

    @staticmethod
    def read(path, as_version):
        return jupytext.read(path, as_version=as_version)


nb_run.nbformat = _JupytextReader


class ChapterItem(NotebookItem):
    """nbmake's notebook test; a chapter that passes also hands its outputs to the book."""

    def runtest(self):
        option = self.config.option
        start = time.perf_counter()
        result = NotebookRun(
            self.path, option.nbmake_timeout, kernel=option.nbmake_kernel
        ).execute()
        if result.error is not None:
            raise NotebookFailedException(result)
        if not {"COURSE_SEED", "COURSE_QUICK"} & set(os.environ):
            record_executed(self.path, result.nb, time.perf_counter() - start, srcdir=ROOT)


class ChapterFile(pytest.File):
    def collect(self):
        yield ChapterItem.from_parent(self, filename=str(self.path))


def pytest_configure(config):
    if config.option.nbmake and config.option.overwrite:
        raise pytest.UsageError("--overwrite would replace the .md notebooks with JSON; drop it")


def pytest_collect_file(file_path: Path, parent):
    if (
        parent.config.option.nbmake
        and file_path.suffix == ".md"
        and file_path.parent.name == "notebooks"
        and "_build" not in file_path.parts
    ):
        chapter = ChapterFile.from_parent(parent, path=file_path)
        chapter.add_marker(pytest.mark.integration)
        return chapter
    return None


def pytest_collection_modifyitems(items):
    """Start the chapters first, the longest (the last) first.

    On two workers, a long chapter collected last runs alone at the end; started
    first, it runs beside everything else.
    """
    chapters = sorted((i for i in items if isinstance(i, ChapterItem)), key=lambda i: i.path)
    items[:] = chapters[::-1] + [i for i in items if not isinstance(i, ChapterItem)]
