"""The OpenAPI document tells the truth about errors: one shape (`ErrorOut`) for every error
answer of every /api/ operation, and the answers really have that shape."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from tests.conftest import ADMIN_TOKEN
from tests.server import bearer

ERROR_STATUSES = ("400", "401", "403", "404", "409", "413", "422", "429")
ERROR_REF = "#/components/schemas/ErrorOut"


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def _api_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in item.items()
    ]


def _check(document: dict[str, Any], body: object) -> None:
    """Validate an answer against ErrorOut as the document defines it (its $refs included)."""
    schema = {"$ref": ERROR_REF, "components": document["components"]}
    Draft202012Validator(schema).validate(body)


def test_every_api_operation_documents_its_errors_with_one_model(
    document: dict[str, Any],
) -> None:
    operations = _api_operations(document)
    assert len(operations) >= 30
    missing = []
    for method, path, operation in operations:
        for status in ERROR_STATUSES:
            schema = (
                operation["responses"]
                .get(status, {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            if schema != {"$ref": ERROR_REF}:
                missing.append(f"{method} {path} {status}: {schema}")
    assert missing == []


def test_fastapis_list_shaped_validation_error_is_gone(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    error = schemas["ErrorOut"]
    assert error["required"] == ["detail"]
    assert error["properties"]["detail"]["type"] == "string"


def test_a_request_that_does_not_parse_answers_errorout_naming_the_field(
    client: TestClient, document: dict[str, Any]
) -> None:
    response = client.post(
        "/api/events", json={"title": "Forum", "date": "soon"}, headers=bearer(ADMIN_TOKEN)
    )
    assert response.status_code == 422
    body = response.json()
    _check(document, body)
    assert body["field"] == "date"
    assert body["detail"].startswith("date: ")
    assert body["errors"][0]["loc"] == ["body", "date"]

    nested = client.post(
        "/api/events",
        json={"title": "Forum", "date": "2024-11-09", "categories": ["ok", 3]},
        headers=bearer(ADMIN_TOKEN),
    )
    assert nested.status_code == 422
    _check(document, nested.json())
    assert nested.json()["field"] == "categories.1"

    broken = client.post(
        "/api/events",
        content=b'{"title": ',
        headers={**bearer(ADMIN_TOKEN), "content-type": "application/json"},
    )
    assert broken.status_code == 422
    _check(document, broken.json())
    assert broken.json()["detail"] == "The request body is not valid JSON"

    query = client.get("/api/events/1/report.csv", params={"lang": "fr"})
    assert query.status_code == 422
    _check(document, query.json())
    assert query.json()["field"] == "lang"


def test_domain_errors_answer_errorout(client: TestClient, document: dict[str, Any]) -> None:
    unknown = client.get("/api/tables/NOSUCH")
    assert unknown.status_code == 404
    _check(document, unknown.json())

    event = client.post(
        "/api/events", json={"title": "Forum", "date": "2024-11-09"}, headers=bearer(ADMIN_TOKEN)
    ).json()
    other = client.post(
        "/api/events", json={"title": "Altro", "date": "2024-11-10"}, headers=bearer(ADMIN_TOKEN)
    ).json()
    forbidden = client.post(
        f"/api/events/{other['id']}/tables",
        json={"title": "Tavolo"},
        headers=bearer(event["moderator_token"]),
    )
    assert forbidden.status_code == 403
    _check(document, forbidden.json())

    anonymous = client.post("/api/events", json={"title": "Forum", "date": "2024-11-09"})
    assert anonymous.status_code == 401
    _check(document, anonymous.json())

    too_large = client.post(
        "/api/events",
        content=b'{"title": "' + b"x" * 300_000 + b'"}',
        headers={**bearer(ADMIN_TOKEN), "content-type": "application/json"},
    )
    assert too_large.status_code == 413
    _check(document, too_large.json())

    unreadable = client.post(
        "/api/events",
        content=b'{"title": "\xff\xfe"}',
        headers={**bearer(ADMIN_TOKEN), "content-type": "application/json"},
    )
    assert unreadable.status_code in (400, 422)
    _check(document, unreadable.json())

    no_route = client.get("/api/nothing-here")
    assert no_route.status_code == 404
    _check(document, no_route.json())


def test_api_docs_is_served_from_static_without_a_cdn(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    for asset in (
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css",
        "/static/js/api-docs.js",
    ):
        assert asset in html
        assert client.get(asset).status_code == 200
    assert "http://" not in html and "https://" not in html and "<script>" not in html
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
