"""Form regexes run on RE2: a catastrophic `pattern` answers at once; patterns RE2 cannot run are refused at deploy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from forms.validation import check_schema, validate

EVIL = "^(a+)+$"


def _form(**field: object) -> dict:
    return {"type": "object", "properties": {"code": {"type": "string", **field}}}


def test_a_catastrophic_pattern_answers_a_long_input():
    """With Python's `re` this validation would take longer than the age of the universe; the child process is
    only there so a regression fails the test instead of hanging the run."""
    script = f"""
import json
from forms.validation import validate
schema = {{"type": "object", "properties": {{"code": {{"type": "string", "pattern": {EVIL!r}}}}},
          "patternProperties": {{{EVIL!r}: {{"type": "integer"}}}}}}
bad = validate(schema, {{"code": "a" * 64 + "!"}})
good = validate(schema, {{"code": "a" * 64}})
keys = validate({{"type": "object", "properties": {{"x": {{"type": "object", "patternProperties": {{{EVIL!r}: {{}}}},
                 "additionalProperties": False}}}}}}, {{"x": {{"a" * 64 + "!": 1}}}})
print(json.dumps([bad, good, keys]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    bad, good, keys = json.loads(done.stdout.strip().splitlines()[-1])
    assert [(e["path"], e["code"]) for e in bad] == [("code", "pattern")]
    assert bad[0]["message_zh"] and "a" * 64 not in bad[0]["message"]
    assert good == []
    assert [(e["path"], e["code"]) for e in keys] == [("x/" + "a" * 64 + "!", "additionalProperties")]


def test_patterns_still_match_what_they_should():
    schema = _form(pattern=r"^[A-Z]{3}-\d{2}$")
    assert validate(schema, {"code": "ABC-12"}) == []
    assert [e["path"] for e in validate(schema, {"code": "abc-12"})] == ["code"]
    assert validate(_form(pattern="^\\p{Han}+$"), {"code": "中文"}) == []


def test_format_regex_accepts_only_what_re2_can_run():
    schema = _form(format="regex")
    assert validate(schema, {"code": "^a+$"}) == []
    assert [e["code"] for e in validate(schema, {"code": "(?=a)a"})] == ["format"]


@pytest.mark.parametrize(
    "pattern", ["^(?=.*[0-9]).+$", "(?!no)\\w+", "(?<=x)y", "(a)\\1", "(?P<q>a)(?P=q)", "(unclosed"]
)
def test_patterns_re2_cannot_run_are_refused_naming_the_pattern(pattern):
    reason = check_schema(_form(pattern=pattern))
    assert reason is not None and pattern in reason
    nested = {"type": "object", "properties": {"xs": {"type": "array", "items": {"patternProperties": {pattern: {}}}}}}
    assert pattern in (check_schema(nested) or "")


def test_a_field_named_pattern_and_pattern_like_data_are_not_patterns():
    schema = {
        "type": "object",
        "properties": {"pattern": {"type": "string", "const": "(?=x)"}},
        "x-example": {"pattern": "(?=x)"},
    }
    assert check_schema(schema) is None
