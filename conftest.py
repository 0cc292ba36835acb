"""Let ``pytest --nbmake`` execute the chapters' MyST-markdown notebooks in place.

nbmake collects only ``*.ipynb`` files and reads them with ``nbformat``. The
chapters are ``.md`` files read by jupytext, so this file collects them with
nbmake's own ``NotebookFile`` and gives nbmake a reader that goes through
jupytext. Nothing is written: the outputs are discarded after the run.
"""

from pathlib import Path

import jupytext
import pytest
from nbmake import nb_run
from nbmake.pytest_items import NotebookFile


class _JupytextReader:
    """Stands in for the ``nbformat`` module inside nbmake's runner."""

    @staticmethod
    def read(path, as_version):
        return jupytext.read(path, as_version=as_version)


nb_run.nbformat = _JupytextReader


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
        return NotebookFile.from_parent(parent, path=file_path)
    return None
