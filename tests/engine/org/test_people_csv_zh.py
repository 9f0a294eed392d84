"""The org-chart import explains every problem in both languages: the pages show the reader's."""

from __future__ import annotations

import pytest

from engine.core.errors import InvalidInput
from engine.org import people


def test_every_row_problem_has_a_chinese_text() -> None:
    csv = (
        "name,email,manager_email,locale,active\n"
        ",nobody@acme.test,,,\n"
        "A,a@acme.test,a@acme.test,fr,maybe\n"
        "B,b@acme.test,,,\n"
        "B again,b@acme.test,,,\n"
        "C,c@acme.test,not-an-email,,\n"
    )
    errors = people.parse(csv.encode()).errors
    assert {e["field"] for e in errors} >= {"name", "manager_email", "locale", "active", "email"}
    for error in errors:
        assert error["message"] and error["message_zh"] and error["message_zh"] != error["message"]


@pytest.mark.parametrize(
    "data",
    [b"name,email\n\xff\xfe,bad@acme.test\n", b"email\nx@acme.test\n", b"name,email,shoe_size\nA,a@acme.test,42\n"],
)
def test_a_broken_file_is_refused_in_both_languages(data: bytes) -> None:
    with pytest.raises(InvalidInput) as caught:
        people.parse(data)
    assert caught.value.detail and caught.value.detail_zh and caught.value.detail_zh != caught.value.detail
