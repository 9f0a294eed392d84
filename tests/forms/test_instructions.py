from forms.instructions import render


def test_instructions_are_filled_from_task_data():
    assert render("Review {{ subject.name }} / 评估{{ subject.name }}", {"subject": {"name": "冯雪"}}) == (
        "Review 冯雪 / 评估冯雪"
    )


def test_templates_cannot_reach_python_internals_or_break_the_task():
    escape = "{{ subject.__class__.__mro__ }}"
    assert render(escape, {"subject": {}}) == escape
    assert render("Hello {{ missing }}", {}) == "Hello {{ missing }}"
    assert render("Plain text", {}) == "Plain text"
