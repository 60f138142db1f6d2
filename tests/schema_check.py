"""Is an answer what the published schema documents? The check the schema fuzzing
(test_api_fuzz.py) runs, for answers of Django's test client: regression tests of the
fuzzer's findings use it on the exact request that failed.

    assert_documented(api.post("/api/v1/rules/", {...}), "/api/v1/rules/", "POST")
"""

import requests
import schemathesis
from rest_framework.test import APIClient


def published_schema():
    """The schema as /api/schema/ serves it (it is generated from the code, not stored)."""
    raw = APIClient().get("/api/schema/", {"format": "json"}).json()
    return schemathesis.openapi.from_dict(raw)


def assert_documented(answer, path: str, method: str) -> None:
    """Raise (naming what differs) unless ``answer`` conforms to the body the schema
    documents for its status code at ``method path``."""
    response = schemathesis.Response(
        status_code=answer.status_code,
        headers={name: [value] for name, value in answer.headers.items()},
        content=answer.content,
        request=requests.Request(method, f"http://testserver{path}").prepare(),
        elapsed=0.0,
        verify=True,
    )
    published_schema()[path][method].validate_response(response)
