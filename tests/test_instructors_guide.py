"""The instructors' guide lists every exercise of the book, with the points the grader uses."""

import re
from pathlib import Path

import jupytext

from coursepkg.editions import chapter_paths
from coursepkg.grading import checks_of

GUIDE = Path("book/instructors.md").read_text(encoding="utf-8")
NO_POINTS = "\N{EN DASH}"  # the guide's mark for an open exercise
ROW = re.compile(
    r"^\| \{ref\}`(?P<chapter>[\w-]+)` \| \{ref\}`(?P<label>ex-[\w-]+)` "
    r"\| (?P<kind>\w+) \| ★+ \| (?P<points>\d+|" + NO_POINTS + r") \|$",
    re.MULTILINE,
)


def _exercises():
    """``{label: (chapter label, checker name or None)}`` read from the chapters."""
    found = {}
    for path in chapter_paths():
        text = path.read_text(encoding="utf-8")
        chapter = re.search(r"^\((ch-[\w-]+)\)=$", text, re.M).group(1)
        cells = jupytext.read(path).cells
        for label in re.findall(r"^```\{exercise\}.*\n:label: (ex-[\w-]+)$", text, re.M):
            start = next(i for i, c in enumerate(cells) if f":label: {label}" in c.source)
            end = next(
                (i for i, c in enumerate(cells) if i > start and "{exercise}" in c.source),
                len(cells),
            )
            checker = [c.source for c in cells[start:end] if c.source.startswith("ex.check_")]
            found[label] = (chapter, checker[0] if checker else None)
    return found


def test_every_exercise_is_in_the_table_once_with_its_kind():
    rows = {m["label"]: m for m in ROW.finditer(GUIDE)}
    exercises = _exercises()
    assert len(ROW.findall(GUIDE)) == len(rows) == len(exercises) > 0
    for label, (chapter, checker) in exercises.items():
        assert rows[label]["chapter"] == chapter, label
        assert rows[label]["kind"] == ("checked" if checker else "open"), label


def test_points_in_the_table_are_the_graders():
    rows = {m["label"]: m["points"] for m in ROW.finditer(GUIDE)}
    graded = {}
    for path in chapter_paths():
        for check in checks_of(path):
            graded[check.call] = check.points
    for label, (_, checker) in _exercises().items():
        if checker is None:
            assert rows[label] == NO_POINTS, label
        else:
            call = checker.split(";")[0]
            assert rows[label] == str(graded[call]), label


def test_the_guides_checker_example_gives_the_feedback_it_shows(capsys):
    blocks = re.findall(r"^```python\n(.*?)^```", GUIDE, re.M | re.S)
    (example,) = [block for block in blocks if "def check_relu" in block]
    exec(compile(example, "instructors.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    shown = [line.split("# ", 1)[1] for line in example.splitlines() if "  # " in line]
    assert len(printed) == len(shown) == 4
    for line, comment in zip(printed, shown, strict=True):
        start, _, end = comment.partition(" ... ")
        assert line.startswith(start) and line.endswith(end), (line, comment)
