"""Helpers for the sync API's web tests: send a batch as the phone's outbox does, and hold
every answer to the OpenAPI document the app serves (not to a copy kept in the tests)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

SYNC = "/api/v1/sync"
DOCUMENT = "/api/v1/openapi.json"


class Contract:
    """The served OpenAPI document's schemas, as validators."""

    def __init__(self, document: dict[str, Any]):
        self.document = document
        self.request = self._validator("SyncRequest")
        self.response = self._validator("SyncResponse")
        self.error = self._validator("Error")
        self.documented = set(document["paths"][SYNC]["post"]["responses"])

    @classmethod
    def served_by(cls, client) -> Contract:
        response = client.get(DOCUMENT)
        assert response.status_code == 200
        return cls(response.get_json())

    def _validator(self, name: str) -> Draft202012Validator:
        # $refs in the document ("#/components/schemas/…") resolve against this root.
        return Draft202012Validator(
            {"$ref": f"#/components/schemas/{name}", "components": self.document["components"]}
        )

    def check(self, response) -> dict[str, Any]:
        """The answer's JSON, after checking it is one the document describes."""
        assert str(response.status_code) in self.documented, response.status_code
        assert response.headers["Cache-Control"] == "no-store"
        assert response.mimetype == "application/json"
        body = response.get_json()
        schema = self.response if response.status_code == 200 else self.error
        errors = sorted(schema.iter_errors(body), key=str)
        assert not errors, f"{response.status_code} {body}: {errors[0].message}"
        return body


def post(client, body: Any = None, *, token: str | None, data: bytes | None = None):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["X-CSRF-Token"] = token
    if data is None:
        return client.post(SYNC, json=body, headers=headers)
    return client.post(SYNC, data=data, headers=headers)
