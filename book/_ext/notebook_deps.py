"""Sphinx extension: re-execute exactly the chapters a change of ``coursepkg`` can affect.

myst-nb caches each notebook's outputs under the hash of its code cells, so on
its own it would keep showing outputs computed with an older ``coursepkg``. This
extension gives every notebook a *dependency key*: the hash of the code (not the
docstrings, comments or formatting) of the package modules the notebook uses and
of the modules those import. A module is used when the notebook's code imports it
or a name from it, or reads an attribute of it; a name the package re-exports
counts for the module that defines it. Modules are told apart by their full names
(``coursepkg.schedules`` is not ``coursepkg.exercises.schedules``), read from the
code's syntax tree. When a notebook's key changes, its cached outputs are dropped
and the page is re-read, so myst-nb executes it again; the other notebooks keep
their outputs. Changing only a docstring re-executes nothing.

The tests execute every chapter with nbmake (the root ``conftest.py``) and hand each
one that passes to :func:`record_executed`, which stores it in the same cache with
its key; a build after the tests then executes nothing. No library does either job:
myst-nb's cache keys on the notebook alone, and nbmake keeps no outputs but by
overwriting its input. The standard library's ``modulefinder`` would follow every
import, torch's thousands of modules included, to find the few of the package.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import json
from pathlib import Path
from typing import Any

import jupytext
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
_KEYS_FILE = "notebook_deps.json"  # beside the cache: the key of each notebook it holds


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


class Package:
    """The modules of a package: their code, and the modules of the package each one uses."""

    def __init__(self, root: Path):
        self.name = root.name
        self.code: dict[str, str] = {}
        self.packages: set[str] = set()
        trees = {}
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root.parent).with_suffix("").parts
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if parts[-1] == "__init__":
                self.packages.add(module)
            trees[module] = ast.parse(path.read_text(encoding="utf-8"))
            self.code[module] = ast.dump(_without_docstrings(trees[module]))
        self.bindings = {module: self._bindings(tree, module) for module, tree in trees.items()}
        self.imports = {
            module: self._uses(tree, module) - {module} for module, tree in trees.items()
        }

    def _absolute(self, node: ast.ImportFrom, module: str | None) -> str:
        """Return the module a ``from ... import`` names, relative imports resolved."""
        if not node.level or module is None:
            return node.module or ""
        anchor = module.split(".") if module in self.packages else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - node.level + 1]
        return ".".join([*anchor, node.module] if node.module else anchor)

    def _bindings(self, tree: ast.Module, module: str | None) -> dict[str, tuple[str, str]]:
        """Return what each name the code imports from the package stands for.

        ``(module, "")`` for a module, ``(module, name)`` for a name defined in (or
        imported into) a module; ``*module`` stands for ``(module, "*")``.
        """
        bound = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in self.code:
                        name = alias.asname or alias.name.partition(".")[0]
                        bound[name] = (alias.name if alias.asname else name, "")
            elif isinstance(node, ast.ImportFrom):
                base = self._absolute(node, module)
                for alias in node.names if base in self.code else []:
                    sub = f"{base}.{alias.name}"
                    target = (sub, "") if sub in self.code else (base, alias.name)
                    bound[alias.asname or alias.name if alias.name != "*" else f"*{base}"] = target
        return bound

    def _member(self, module: str, name: str, seen=frozenset()) -> tuple[set[str], str | None]:
        """Return the modules behind ``module.name``, and the module it is, if it is one."""
        used, found = {module}, None
        if f"{module}.{name}" in self.code:
            found = f"{module}.{name}"
            used.add(found)
        if (module, name) in seen:
            return used, found
        # A name imported into the module is followed to the module defining it; one that
        # is not may come from a ``from ... import *``.
        bindings = self.bindings[module]
        stars = [(base, name) for base, attr in bindings.values() if attr == "*"]
        for base, attr in [bindings[name]] if name in bindings else stars:
            more, other = (
                self._member(base, attr, seen | {(module, name)}) if attr else ({base}, base)
            )
            used |= more
            found = found or other
        return used, found

    def _subtree(self, module: str) -> set[str]:
        return {m for m in self.code if m == module or m.startswith(f"{module}.")}

    def _run_by_import(self, module: str) -> set[str]:
        """Return the module an import runs and the packages above it, those of this package."""
        parts = module.split(".")
        return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & self.code.keys()

    def _uses(self, tree: ast.Module, module: str | None) -> set[str]:
        """Return the modules of the package that code (of ``module``, or a notebook's) uses."""
        bound = self.bindings[module] if module else self._bindings(tree, None)
        used = set()

        def module_of(node: ast.expr) -> str | None:
            """Return the module an expression stands for; record what it uses on the way."""
            if isinstance(node, ast.Name):
                base, attr = bound.get(node.id, ("", ""))
                return base if base and not attr else None
            if isinstance(node, ast.Attribute) and (parent := module_of(node.value)):
                more, found = self._member(parent, node.attr)
                used.update(more)
                return found
            return None

        attribute_of = {
            id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    used |= self._run_by_import(alias.name)
            elif isinstance(node, ast.ImportFrom):
                base = self._absolute(node, module)
                used |= self._run_by_import(base)
                for alias in node.names if base in self.code else []:
                    star = alias.name == "*"
                    used |= self._subtree(base) if star else self._member(base, alias.name)[0]
            elif isinstance(node, ast.Attribute):
                module_of(node)
            elif isinstance(node, ast.Name) and id(node) not in attribute_of:
                if whole := module_of(node):  # a module handed around: all of it may be used
                    used |= self._subtree(whole)
        return used

    def used_by(self, code: str) -> set[str]:
        """Modules that ``code`` imports or uses names of, with the modules those use."""
        try:
            direct = self._uses(ast.parse(code), None)
        except SyntaxError:
            return set(self.code)  # what it uses is unknown: everything
        closure, todo = set(), list(direct)
        while todo:
            module = todo.pop()
            if module not in closure:
                closure.add(module)
                if module not in self.packages:  # a package's imports are re-exports
                    todo.extend(self.imports[module])
        return closure

    def key(self, code: str) -> str:
        """Hash of the code of the modules ``code`` depends on."""
        digest = hashlib.sha256()
        for module in sorted(self.used_by(code)):
            digest.update(module.encode() + b"\0" + self.code[module].encode() + b"\0")
        return digest.hexdigest()[:16]


def notebook_code(path: Path) -> str:
    """Return the code cells of a MyST notebook, joined, IPython's syntax made Python."""
    from IPython.core.inputtransformer2 import TransformerManager

    cells = jupytext.read(path).cells
    transform = TransformerManager().transform_cell
    return "\n".join(transform(cell.source) for cell in cells if cell.cell_type == "code")


def _cache_path(srcdir: Path) -> Path:
    """Where myst-nb keeps executed notebooks: Jupyter Book's default, beside the html."""
    return srcdir / "_build/.jupyter_cache"


def _read_keys(cache_path: Path) -> dict[str, str]:
    """Return the dependency key of each notebook whose outputs the cache holds."""
    keys_file = cache_path / _KEYS_FILE
    return json.loads(keys_file.read_text()) if keys_file.is_file() else {}


def record_executed(
    path: Path, nb, seconds: float, *, srcdir: Path, package: str = "coursepkg"
) -> None:
    """Store a notebook executed outside the build (by the tests) where the build finds it.

    myst-nb looks a notebook up in the cache by the hash of its code cells (sources and
    metadata; the timings nbclient adds are dropped), so the build shows these outputs
    instead of executing the notebook again. The notebook's dependency key is recorded
    with it, so a later change of the code it uses still re-executes it.
    """
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    srcdir, path = srcdir.resolve(), path.resolve()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    cache_path = _cache_path(srcdir)
    cache_path.mkdir(parents=True, exist_ok=True)
    key = Package(srcdir / package).key(notebook_code(path))
    doc = path.relative_to(srcdir).with_suffix("").as_posix()
    with open(cache_path / "notebook_deps.lock", "w") as lock:  # tests run in parallel
        fcntl.flock(lock, fcntl.LOCK_EX)
        get_cache(cache_path).cache_notebook_bundle(
            CacheBundleIn(nb, str(path), data={"execution_seconds": seconds}),
            check_validity=False,
            overwrite=True,
        )
        keys = {**_read_keys(cache_path), doc: key}
        (cache_path / _KEYS_FILE).write_text(json.dumps(keys, indent=1))


def _outdated(app: Sphinx, env, added: set, changed: set, removed: set) -> list[str]:
    srcdir = Path(app.srcdir).resolve()
    root = srcdir / app.config.notebook_deps_package
    if not (root / "__init__.py").is_file():
        raise ExtensionError(f"notebook_deps_package: no package at {root}")
    package = Package(root)
    keys = {
        path.relative_to(srcdir).with_suffix("").as_posix(): package.key(notebook_code(path))
        for path in sorted(srcdir.glob(app.config.notebook_deps_notebooks))
    }
    cache_path = Path(app.config.nb_execution_cache_path or _cache_path(srcdir))
    # Without the keys of the cached outputs, no cached output can be trusted.
    previous = _read_keys(cache_path)
    stale = [doc for doc, key in keys.items() if previous.get(doc) != key]
    if stale and cache_path.is_dir():
        from jupyter_cache import get_cache

        cache = get_cache(cache_path)
        stale_paths = {srcdir / f"{doc}.md" for doc in stale}
        for record in cache.list_cache_records():
            if Path(record.uri).resolve() in stale_paths:
                cache.remove_cache(record.pk)
    cache_path.mkdir(parents=True, exist_ok=True)
    (cache_path / _KEYS_FILE).write_text(json.dumps(keys, indent=1))
    if previous and stale:
        LOGGER.info("notebook_deps: the code these use changed, re-executing: %s", stale)
    # A page is read again when the outputs it shows were made with other code: also
    # when the tests have executed it with the changed code since the last build, and
    # stored the outputs and the new key already.
    shown = getattr(env, "notebook_deps_keys", {})
    env.notebook_deps_keys = keys
    return [doc for doc, key in keys.items() if shown.get(doc) != key]


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the extension."""
    app.add_config_value("notebook_deps_package", "coursepkg", "env")
    app.add_config_value("notebook_deps_notebooks", "notebooks/[0-9][0-9]_*.md", "env")
    app.connect("env-get-outdated", _outdated)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
