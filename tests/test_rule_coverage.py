"""Every rule in the table has a test that names it: a rule added without one fails here.

A test names a rule when its id is in one of its string literals (as a whole id: `h2.hpack` is not
named by "h2.hpack-table-size"). Where each rule's test is, and on which traffic: docs/ARCHITECTURE.md,
"How to add a finding rule", step 5."""

from __future__ import annotations

import functools
import io
import re
import tokenize
from pathlib import Path

import pytest

from inspector.findings.rules import RULES

TESTS = Path(__file__).resolve().parent


def _literals(path: Path) -> list[str]:
    """The string literals of a Python file (f-strings whole)."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return [t.string for t in tokens if t.type == tokenize.STRING]


def names(text: str, rule_id: str) -> bool:
    """Whether `text` names `rule_id` as a whole id."""
    return re.search(rf"(?<![\w.-]){re.escape(rule_id)}(?![\w-])", text) is not None


@functools.cache
def _named_in_tests() -> dict[str, set[str]]:
    """rule id -> the test files whose string literals name it (read once, when a test first asks:
    not at collection, where every worker would read every test file)."""
    found: dict[str, set[str]] = {rule_id: set() for rule_id in RULES}
    for path in sorted(TESTS.glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        text = "\n".join(_literals(path))
        for rule_id in RULES:
            if rule_id in text and names(text, rule_id):  # (the plain `in` only saves the search)
                found[rule_id].add(path.name)
    return found


@pytest.mark.parametrize("rule_id", list(RULES))
def test_the_rule_has_a_test_that_names_it(rule_id):
    assert _named_in_tests()[rule_id], (f"no test names the rule {rule_id!r}: add one with traffic that breaks it "
                            "(docs/ARCHITECTURE.md, How to add a finding rule)")


def test_only_a_whole_id_in_a_string_literal_names_a_rule(tmp_path):
    sample = tmp_path / "test_sample.py"
    sample.write_text('# "h2.preface" in a comment\nx = "h2.hpack-table-size, h2.hpackish"\n'
                      'y = f"warning h2.goaway-error: {x}"\n')
    text = "\n".join(_literals(sample))
    assert not names(text, "h2.preface")  # only in a comment
    assert not names(text, "h2.hpack")  # only as the start of longer names
    assert names(text, "h2.hpack-table-size") and names(text, "h2.goaway-error")  # an f-string counts
