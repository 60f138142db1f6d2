"""The OpenAPI document of API v1: valid, complete, and served with its Swagger UI."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

EXPECTED_PATHS = {
    "/api/v1/auth/token/": {"post"},
    "/api/v1/units/": {"get"},
    "/api/v1/incidents/": {"get", "post"},
    "/api/v1/incidents/{id}/": {"get", "patch"},
    "/api/v1/incidents/{id}/change-level/": {"post"},
    "/api/v1/incidents/{id}/metrics/": {"post"},
    "/api/v1/incidents/{id}/reject-upgrade/": {"post"},
    "/api/v1/incidents/{id}/arrive/": {"post"},
    "/api/v1/level-changes/": {"get"},
    "/api/v1/level-changes/{id}/approve/": {"post"},
    "/api/v1/level-changes/{id}/reject/": {"post"},
    "/api/v1/incidents/{id}/tracker/": {"post"},
    "/api/v1/notifications/": {"get"},
    "/api/v1/notifications/{id}/acknowledge/": {"post"},
    **{
        f"/api/v1/incidents/{{id}}/{action}/": {"post"}
        for action in ("assess", "report", "respond", "track", "review", "close", "dismiss")
    },
    "/api/v1/incidents/{id}/review.docx": {"get"},
    "/api/v1/incidents/{id}/review.pdf": {"get"},
    **{
        path: methods
        for prefix in ("response-plans", "statements", "reviews")
        for path, methods in {
            f"/api/v1/{prefix}/": {"get", "post"},
            f"/api/v1/{prefix}/{{id}}/": {"get"},
            **{
                f"/api/v1/{prefix}/{{id}}/{action}/": {"post"}
                for action in ("submit", "approve", "reject", "request-changes")
            },
        }.items()
    },
    "/api/v1/statements/{id}/publish/": {"post"},
    "/api/v1/tasks/": {"get", "post"},
    "/api/v1/tasks/{id}/": {"get"},
    "/api/v1/tasks/{id}/progress/": {"post"},
    "/api/v1/tasks/{id}/complete/": {"post"},
    "/api/v1/tasks/{id}/updates/{update_id}/attachment": {"get"},
    "/api/v1/follow-ups/": {"get", "post"},
    "/api/v1/accountability/": {"get", "post"},
    "/api/v1/posts/": {"get", "post"},
    "/api/v1/rules/": {"get", "post"},
    "/api/v1/rules/{id}/": {"get", "patch"},
    "/api/v1/rules/try/": {"post"},
    "/api/v1/sensitive-terms/": {"get", "post"},
    "/api/v1/sensitive-terms/{id}/": {"get", "patch"},
    "/api/v1/topics/": {"get"},
    "/api/v1/topics/{id}/": {"get"},
    "/api/v1/proposals/": {"get"},
    "/api/v1/proposals/{id}/": {"get"},
    "/api/v1/proposals/{id}/accept/": {"post"},
    "/api/v1/proposals/{id}/dismiss/": {"post"},
    "/api/v1/me/work/": {"get"},
}


@pytest.fixture
def schema(db) -> dict:
    answer = APIClient().get("/api/schema/", {"format": "json"})
    assert answer.status_code == 200
    return answer.json()


def test_schema_is_served_and_documents_every_api_path(schema):
    assert schema["openapi"].startswith("3.")
    paths = {path: set(ops) - {"parameters"} for path, ops in schema["paths"].items()}
    assert paths == EXPECTED_PATHS


# Writes whose only input is who asks.
BODILESS = {
    "/api/v1/incidents/{id}/arrive/",
    "/api/v1/notifications/{id}/acknowledge/",
    *(f"/api/v1/{prefix}/{{id}}/submit/" for prefix in ("response-plans", "statements", "reviews")),
}


def test_schema_documents_request_and_response_bodies_of_every_write(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "patch") and path not in BODILESS:
                assert "requestBody" in operation, (method, path)
            success = {code for code in operation["responses"] if code.startswith("2")}
            assert success, (method, path)
            for code in success:
                assert "content" in operation["responses"][code], (method, path, code)


def test_assess_documents_level_category_and_reason(schema):
    body = schema["paths"]["/api/v1/incidents/{id}/assess/"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    component = schema["components"]["schemas"][ref]
    assert {"level", "category", "reason", "version"} <= set(component["properties"])
    assert {"level", "category"} <= set(component["required"])


def test_incident_list_is_documented_as_paginated_with_its_filters(schema):
    get = schema["paths"]["/api/v1/incidents/"]["get"]
    assert {"state", "level", "unit", "page"} <= {p["name"] for p in get["parameters"]}
    ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert {"count", "next", "previous", "results"} <= set(page["properties"])
    item = page["properties"]["results"]["items"]["$ref"].rsplit("/", 1)[-1]
    assert "timeline" not in schema["components"]["schemas"][item]["properties"]
    assert "timeline" in get["description"]


def test_schema_generates_without_warnings_and_validates(db, tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )


def test_swagger_ui_is_served(db):
    answer = APIClient().get("/api/docs/")
    assert answer.status_code == 200
    assert b"swagger" in answer.content.lower()
