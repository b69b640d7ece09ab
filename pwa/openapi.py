"""The OpenAPI 3.1 document of the sync API, served at /api/v1/openapi.json.

Built from the same constants the code uses (kinds, statuses, the batch limit, the form
vocabularies), so it cannot drift from them; tests/web/test_sync.py and test_sync_fuzz.py hold
the real answers to its schemas.
"""

from __future__ import annotations

from typing import Any

from fieldkit.models import Device, Outcome, Reason, RecordKind, Result, Sex
from fieldkit.privacy import METHODS, PURPOSES
from fieldkit.sync import MAX_ITEMS, Kind, Status

UUID = {
    "type": "string",
    "minLength": 36,
    "maxLength": 36,
    "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
}
# Form fields arrive as strings; JSON numbers and booleans are accepted where they make sense.
INTEGER_OR_TEXT = {"type": ["integer", "string"]}
OPTIONAL_TEXT = {"type": ["string", "null"]}
YES_NO = {
    "type": ["boolean", "string", "null"],
    "description": 'true / false, or the form\'s "yes" / "no"; "" or null: not known.',
}


def _values(enum_type) -> list[str]:
    return [member.value for member in enum_type]


def _optional(enum_type) -> dict[str, Any]:
    return {"type": ["string", "null"], "enum": [*_values(enum_type), "", None]}


HOUSEHOLD_REF = {
    "household_id": {**INTEGER_OR_TEXT, "description": "The household's server id."},
    "household_uuid": {
        **UUID,
        "description": (
            "Instead of household_id: the UUID of a household proposed from the phone and stored "
            "by an earlier item (of this batch or an earlier one)."
        ),
    },
}
BASICS = {
    "label": {"type": "string", "description": "Số nhà / tên hộ (required, ≤ 60)."},
    "head_name": {"type": "string", "description": "Họ tên chủ hộ (required, ≤ 100)."},
    "address_hint": OPTIONAL_TEXT,
    "smartphones": {"type": ["integer", "string", "null"], "description": "0–30."},
    "internet_at_home": YES_NO,
}
LINE_FIELDS = {
    "resident_id": INTEGER_OR_TEXT,
    "resident_uuid": {
        **UUID,
        "description": (
            "Instead of resident_id: the UUID of a resident added from the phone and stored by an "
            "earlier item."
        ),
    },
    "service_code": {"type": "string", "description": "A code of the service catalogue."},
    "result": {"enum": _values(Result)},
    "reason": {**_optional(Reason), "description": "Required when result is failed or referred."},
    "device": _optional(Device),
    "dossier_no": OPTIONAL_TEXT,
}


def _payload(description: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {
            "uuid": {**UUID, "description": "Equal to the item's id; may be left out."},
            **properties,
        },
        **extra,
    }


SCHEMAS: dict[str, Any] = {
    "SyncRequest": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "maxItems": MAX_ITEMS,
                "items": {"$ref": "#/components/schemas/SyncItem"},
            }
        },
    },
    "SyncItem": {
        "type": "object",
        "required": ["id", "kind", "payload"],
        "properties": {
            "id": {**UUID, "description": "Made on the phone; the record's UUID for ever."},
            "kind": {"enum": _values(Kind)},
            "payload": {"type": "object"},
        },
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": kind.value}}, "required": ["kind"]},
                "then": {"properties": {"payload": {"$ref": f"#/components/schemas/{name}"}}},
            }
            for kind, name in [
                (Kind.visit, "VisitPayload"),
                (Kind.resident, "ResidentPayload"),
                (Kind.household, "HouseholdPayload"),
                (Kind.household_edit, "HouseholdEditPayload"),
                (Kind.consent, "ConsentPayload"),
                (Kind.revision, "RevisionPayload"),
            ]
        ],
    },
    "VisitPayload": _payload(
        "The visit form. Lines come either as a `lines` list or as the form's "
        "`lines-N-<field>` keys (N the form's index, gaps allowed); error names use "
        "`lines-N-<field>` in both cases (N the list position for a list).",
        {
            **HOUSEHOLD_REF,
            "visited_at": {
                "type": "string",
                "description": (
                    'Vietnam time as the form gives it ("2026-11-20T09:30"), or ISO 8601 with an '
                    "offset."
                ),
            },
            "outcome": {"enum": _values(Outcome)},
            "notes": OPTIONAL_TEXT,
            "follow_up_on": {"type": ["string", "null"], "description": "YYYY-MM-DD or ''."},
            "smartphones": BASICS["smartphones"],
            "internet_at_home": YES_NO,
            "lines": {
                "type": "array",
                "maxItems": 60,
                "items": {"type": "object", "properties": LINE_FIELDS},
            },
        },
        patternProperties={
            f"^lines-[0-9]{{1,3}}-{name}$": schema for name, schema in LINE_FIELDS.items()
        },
    ),
    "ResidentPayload": _payload(
        "The new-resident form.",
        {
            **HOUSEHOLD_REF,
            "name": {"type": "string"},
            "birth_year": {"type": ["integer", "string", "null"]},
            "sex": _optional(Sex),
            "relation": OPTIONAL_TEXT,
            "phone": OPTIONAL_TEXT,
        },
    ),
    "HouseholdPayload": _payload(
        "A household found in the field and proposed for the list; it joins the sender's "
        "village, pending review.",
        BASICS,
    ),
    "HouseholdEditPayload": _payload(
        "The edit-household form: every basic field, as the form has them after the change "
        "(a field left out is taken as emptied).",
        {**HOUSEHOLD_REF, **BASICS},
    ),
    "ConsentPayload": _payload(
        "The household's consent to keep its personal data, as taken at the door.",
        {
            **HOUSEHOLD_REF,
            "version": {
                "type": "string",
                "description": "The consent wording's version; the current one if left out.",
            },
            **{
                f"purpose_{code}": {
                    "type": ["string", "boolean"],
                    "description": (f'"{name}": "yes" when agreed.'),
                }
                for code, name in PURPOSES.items()
            },
            "method": {"enum": list(METHODS)},
            "consented_on": {"type": "string", "description": "YYYY-MM-DD, not after today."},
        },
    ),
    "RevisionPayload": _payload(
        "A record the commune returned (trả lại), fixed in the field and sent again as its "
        "next revision. The item's id (and `uuid`) is a NEW UUID made on the phone for this "
        "resubmission — not the record's: sending it again answers duplicate, the same id "
        "with other content conflict. Besides the three fields below, the payload carries "
        "the record's fields as its own kind sends them (VisitPayload, HouseholdPayload, "
        "ResidentPayload; a household_edit sends every basic field). Refused as invalid "
        "when the record was rejected, approved or is not returned (`errors.form` says "
        "which), as conflict when its revision moved on since `base_revision`, as forbidden "
        "when the sender is neither the record's maker nor a leader of its village.",
        {
            "record_kind": {"enum": _values(RecordKind)},
            "record_uuid": {**UUID, "description": "The returned record's own UUID."},
            "base_revision": {
                "type": ["integer", "string"],
                "description": (
                    "The revision that was returned (the record's `revision` when the form was "
                    "opened)."
                ),
            },
            **{name: schema for name, schema in BASICS.items()},
        },
        required=["record_kind", "record_uuid", "base_revision"],
    ),
    "SyncResponse": {
        "type": "object",
        "required": ["results", "server_time"],
        "additionalProperties": False,
        "properties": {
            "results": {
                "type": "array",
                "maxItems": MAX_ITEMS,
                "description": "One result per item, in the items' order.",
                "items": {"$ref": "#/components/schemas/ItemResult"},
            },
            "server_time": {
                "type": "string",
                "format": "date-time",
                "description": "The server's clock (UTC, with offset), to check the phone's.",
            },
        },
    },
    "ItemResult": {
        "type": "object",
        "required": ["id", "status", "message"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "description": "The item's id, exactly as sent."},
            "status": {
                "enum": _values(Status),
                "description": (
                    "stored: new and kept (pending review). duplicate: the server already had this "
                    "content under this UUID, or an edit changed nothing; nothing changed. "
                    "stored and duplicate both mean the item may leave the outbox. "
                    "conflict: this UUID was sent before with other content (the per-item 409). "
                    "invalid: fix the fields named in `errors` and resend (the per-item 422); "
                    "also the answer for an item the server failed to store for an unexpected "
                    "reason (`errors.form` says so), so that it never holds back the items "
                    "after it. "
                    "forbidden: outside the sender's village or role."
                ),
            },
            "message": {
                "type": "string",
                "minLength": 1,
                "description": "Vietnamese, to show as it is.",
            },
            "errors": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"type": "string", "minLength": 1},
                "description": "Field name (as in the payload) → Vietnamese message; "
                "`form` for the record as a whole.",
            },
            "household_id": {
                "type": "integer",
                "minimum": 1,
                "description": "The household the record is or belongs to.",
            },
            "notice": {
                "type": "string",
                "minLength": 1,
                "description": "Vietnamese, only when stored: something to tell the person "
                "about a record kept all the same, e.g. a visit that looks like another "
                "(“Có vẻ trùng với lượt thăm lúc 09:41.”).",
            },
        },
        "allOf": [
            {
                "if": {"properties": {"status": {"const": "invalid"}}},
                "then": {"required": ["errors"]},
                "else": {"not": {"required": ["errors"]}},
            },
            {
                "if": {"properties": {"status": {"enum": ["stored", "duplicate"]}}},
                "then": {"required": ["household_id"]},
                "else": {"not": {"required": ["household_id"]}},
            },
            {
                "if": {"properties": {"status": {"const": "stored"}}},
                "else": {"not": {"required": ["notice"]}},
            },
        ],
    },
    "PackRequest": {
        "type": "object",
        "properties": {
            "have": {
                "type": "object",
                "description": "The page versions the phone holds: URL → version.",
                "propertyNames": {"maxLength": 500},
                "additionalProperties": {"type": "string"},
            },
            "after": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "The last household id of the previous chunk (its `next`, or "
                "the Fieldkit-Pack-Next header); left out for the first chunk.",
            },
        },
        "description": "Sent as JSON, gzip-compressed (Content-Encoding: gzip) or not.",
    },
    "PackPage": {
        "type": "object",
        "required": ["url", "version"],
        "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "description": "Where the page is kept (its path)."},
            "version": {"type": "string"},
            "html": {"type": "string", "description": "The page whole."},
            "patch": {
                "type": "object",
                "description": "Instead of `html`, for the household list the phone holds: "
                "`head` + the row of each id in `order` (from `rows`, else the phone's copy) "
                "+ `tail`, one row per line.",
                "required": ["head", "tail", "order", "rows"],
                "additionalProperties": False,
                "properties": {
                    "head": {"type": "string"},
                    "tail": {"type": "string"},
                    "order": {"type": "array", "items": {"type": "integer"}},
                    "rows": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
        },
        "oneOf": [{"required": ["html"]}, {"required": ["patch"]}],
    },
    "PackResponse": {
        "type": "object",
        "required": [
            "households",
            "generated_at",
            "headers",
            "drop",
            "pages",
            "ready",
            "next",
            "need_bytes",
        ],
        "additionalProperties": False,
        "properties": {
            "households": {
                "type": ["integer", "null"],
                "description": "Households of the member's village; null off the field.",
            },
            "generated_at": {"type": "string"},
            "headers": {
                "type": "object",
                "description": "The headers to keep every page with.",
                "additionalProperties": {"type": "string"},
            },
            "drop": {
                "type": "array",
                "items": {"type": "string"},
                "description": "URLs the phone holds that are no longer its to keep.",
            },
            "pages": {"type": "array", "items": {"$ref": "#/components/schemas/PackPage"}},
            "ready": {
                "type": "integer",
                "description": "Households up to date on the phone once this chunk is stored.",
            },
            "next": {
                "type": ["integer", "null"],
                "description": "`after` for the next chunk; null when this was the last.",
            },
            "need_bytes": {
                "type": "integer",
                "description": "About how many bytes this chunk and the rest take on the phone.",
            },
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {"type": "string", "minLength": 1, "description": "Vietnamese."},
            "errors": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"Cache-Control": {"$ref": "#/components/headers/NoStore"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Fieldkit sync API",
            "version": "1",
            "description": (
                "The phone's outbox sends field records here (DESIGN.md §4). Each item is "
                "stored at most once by its UUID and answered on its own, in its own "
                "transaction: a refused item saves nothing and never undoes another. "
                "Sending a batch again is always safe."
            ),
        },
        "paths": {
            "/api/v1/sync": {
                "post": {
                    "operationId": "sync",
                    "summary": "Send outbox items",
                    "security": [{"session": [], "csrfToken": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/SyncRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "One result per item, in order.",
                            "headers": {"Cache-Control": {"$ref": "#/components/headers/NoStore"}},
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/SyncResponse"}
                                }
                            },
                        },
                        "400": _error(
                            "The body is not a batch (not JSON, not an object, "
                            "`items` not a list, an item not an object or without "
                            "a UUID id), or the X-CSRF-Token header is missing or "
                            "stale. No item was looked at."
                        ),
                        "401": _error(
                            "Not signed in. Keep every item; ask to sign in again "
                            '("Đăng nhập lại để gửi").'
                        ),
                        "413": _error(
                            f"More than {MAX_ITEMS} items, or a body over 2 MiB: "
                            "send fewer at a time."
                        ),
                    },
                },
            },
            "/api/v1/offline-pack": {
                "post": {
                    "operationId": "offlinePack",
                    "summary": "The day's pages the phone lacks, one chunk at a time",
                    "description": (
                        "Every page that changed since the versions the phone holds, whole, "
                        "in one compressed answer (brotli or gzip) per chunk of up to 150 "
                        "households; the first chunk holds the shared pages too. Ask again "
                        "with `after` while `next` is not null; asking again with what the "
                        "phone now holds resumes after a dropped connection."
                    ),
                    "security": [{"session": [], "csrfToken": []}],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/PackRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "One chunk.",
                            "headers": {
                                "Cache-Control": {"$ref": "#/components/headers/NoStore"},
                                "Fieldkit-Pack-Next": {
                                    "description": "The next chunk's `after`, before the "
                                    "pages come; absent on the last chunk.",
                                    "schema": {"type": "integer"},
                                },
                            },
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/PackResponse"}
                                }
                            },
                        },
                        "400": _error(
                            "The body cannot be read (not JSON, `have` not URL → version, "
                            "`after` not an id, bad gzip, over 2 MiB unzipped), or the "
                            "X-CSRF-Token header is missing or stale."
                        ),
                        "401": _error("Not signed in."),
                    },
                },
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document.",
                            "content": {"application/json": {}},
                        }
                    },
                },
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "headers": {"NoStore": {"schema": {"type": "string", "const": "no-store"}}},
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "fieldkit_session",
                    "description": "The signed session cookie set at sign-in; it lasts "
                    "30 days and each request renews it.",
                },
                "csrfToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRF-Token",
                    "description": "The token every page exposes as <meta "
                    'name="csrf-token" content="…">.',
                },
            },
        },
    }
