from forms.validation import check_schema, validate

GOALS = {
    "type": "object",
    "required": ["goals", "owner"],
    "properties": {
        "owner": {"type": "string", "format": "email"},
        "goals": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["title", "weight"],
                "properties": {
                    "title": {"type": "string", "minLength": 3},
                    "weight": {"type": "integer", "maximum": 100},
                },
            },
        },
    },
}


def paths(errors):
    return sorted(e["path"] for e in errors)


def test_every_bad_field_is_named_including_missing_nested_ones():
    errors = validate(GOALS, {"owner": "not-an-email", "goals": [{"title": "ok"}, {"title": "Grow", "weight": 120}]})
    assert paths(errors) == ["goals/0/title", "goals/0/weight", "goals/1/weight", "owner"]
    by_path = {e["path"]: e for e in errors}
    assert by_path["goals/0/weight"]["message"] == "This field is required."
    assert by_path["goals/0/weight"]["message_zh"] == "此项为必填。"
    assert "3 characters" in by_path["goals/0/title"]["message"]


def test_fields_the_form_does_not_declare_are_refused():
    errors = validate(GOALS, {"owner": "a@b.test", "goals": [{"title": "Grow", "weight": 10}], "lane_owners": {}})
    assert paths(errors) == ["lane_owners"]


def test_valid_data_passes_and_non_objects_do_not():
    assert validate(GOALS, {"owner": "a@b.test", "goals": [{"title": "Grow", "weight": 10}]}) == []
    assert paths(validate(GOALS, ["not", "an", "object"])) == [""]


def test_schema_check_explains_what_is_wrong():
    assert check_schema(GOALS) is None
    assert "object" in check_schema({"type": "array"})
    assert "not a valid JSON Schema" in check_schema({"type": "object", "properties": {"x": {"type": "nope"}}})
    assert check_schema(["not a schema"]) is not None


def test_a_field_that_must_stay_empty_for_a_choice_is_named():
    schema = {
        "type": "object",
        "properties": {"outcome": {"type": "string"}, "changed": {"type": "integer"}},
        "if": {"properties": {"outcome": {"const": "changed"}}, "required": ["outcome"]},
        "then": {"required": ["changed"]},
        "else": {"not": {"required": ["changed"]}},
    }
    [error] = validate(schema, {"outcome": "upheld", "changed": 4})
    assert (error["path"], error["code"]) == ("changed", "not") and "empty" in error["message"]
    assert paths(validate(schema, {"outcome": "changed"})) == ["changed"]
    assert validate(schema, {"outcome": "upheld"}) == []
