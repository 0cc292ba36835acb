"""The glossary: every term defined, with its Chinese term, and linked from a chapter."""

import re
from pathlib import Path

from coursepkg.editions import chapter_paths

GLOSSARY = Path("book/glossary.md").read_text(encoding="utf-8")
ENTRIES = dict(re.findall(r"^(\S[^\n]*)\n  (\S[^\n]*)$", GLOSSARY.split("```{glossary}")[1], re.M))
LINKED = {
    target.lower()
    for path in chapter_paths()
    for target in re.findall(r"\{term\}`(?:[^`<]*<)?([^`>]+)>?`", path.read_text("utf-8"))
}


def test_the_glossary_has_the_course_terms():
    assert len(ENTRIES) >= 40


def test_every_term_has_its_chinese_term_and_a_definition():
    for term, entry in ENTRIES.items():
        chinese, _, definition = entry.partition(" · ")
        assert re.search(r"[\u4e00-\u9fff]", chinese), f"{term}: no Chinese term"
        assert len(definition.split()) >= 6, f"{term}: the definition is too short"


def test_every_term_is_linked_from_a_chapter():
    unlinked = [term for term in ENTRIES if term.lower() not in LINKED]
    assert not unlinked, f"terms no chapter links to: {unlinked}"
