"""The Admin API's OpenAPI 3 document, served at /v1/openapi.json.

Written by hand from the endpoints in each app's `api.py`; a fuzz test generated from this
document checks that the server answers as it says.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from console.api import ApiError, error_response


@login_not_required
@require_GET
def document(request: HttpRequest) -> JsonResponse:
    return JsonResponse(spec())


@csrf_exempt
@login_not_required
def not_found(request: HttpRequest) -> JsonResponse:
    """Unknown paths under /v1/ answer with the API's error envelope, not an HTML page."""
    return error_response(
        request, ApiError(404, "not_found_error", f"No such endpoint: {request.path}")
    )


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


STRING = {"type": "string"}
NULLABLE_STRING = {"type": "string", "nullable": True}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": "string", "format": "date-time", "nullable": True}
INTEGER = {"type": "integer"}


def _object(properties: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


def _page(item: str) -> dict:
    return _object(
        {
            "data": {"type": "array", "items": _ref(item)},
            "has_more": {"type": "boolean"},
            "first_id": NULLABLE_STRING,
            "last_id": NULLABLE_STRING,
        }
    )


def _deleted(*ids: str) -> dict:
    return _object({**dict.fromkeys(ids, STRING), "type": STRING})


ERRORS = {
    "400": {
        "description": "Invalid request",
        "content": {"application/json": {"schema": _ref("Error")}},
    },
    "401": {
        "description": "Missing or invalid Admin API key",
        "content": {"application/json": {"schema": _ref("Error")}},
    },
    "404": {"description": "Not found", "content": {"application/json": {"schema": _ref("Error")}}},
    "405": {
        "description": "Method not allowed",
        "content": {"application/json": {"schema": _ref("Error")}},
    },
    "413": {
        "description": "Request body over 1 MB",
        "content": {"application/json": {"schema": _ref("Error")}},
    },
}


def _op(
    summary: str, schema: dict, *, params: list | None = None, body: dict | None = None
) -> dict:
    operation = {
        "summary": summary,
        "parameters": params or [],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
            **ERRORS,
        },
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return operation


def _path(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": STRING}


def _query(name: str, schema: dict, *, required: bool = False, array: bool = False) -> dict:
    if array:
        return {
            "name": f"{name}[]",
            "in": "query",
            "required": required,
            "schema": {"type": "array", "items": schema},
            "style": "form",
            "explode": True,
        }
    return {"name": name, "in": "query", "required": required, "schema": schema}


PAGING = [
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}),
    _query("before_id", STRING),
    _query("after_id", STRING),
]
ORG_ROLES = ["user", "developer", "billing", "admin"]
API_ROLES = ["user", "developer", "billing"]
WORKSPACE_ROLES = [
    "workspace_user",
    "workspace_restricted_developer",
    "workspace_developer",
    "workspace_admin",
]
KEY_STATUSES = ["active", "inactive", "archived", "expired"]


def _schemas() -> dict:
    tokens = {
        "uncached_input_tokens": INTEGER,
        "cache_creation": _object(
            {"ephemeral_5m_input_tokens": INTEGER, "ephemeral_1h_input_tokens": INTEGER}
        ),
        "cache_read_input_tokens": INTEGER,
        "output_tokens": INTEGER,
        "server_tool_use": _object({"web_search_requests": INTEGER}),
        "api_key_id": NULLABLE_STRING,
        "workspace_id": NULLABLE_STRING,
        "model": NULLABLE_STRING,
        "service_tier": NULLABLE_STRING,
        "context_window": NULLABLE_STRING,
    }
    cost = {
        "amount": STRING,
        "currency": STRING,
        "workspace_id": NULLABLE_STRING,
        "description": NULLABLE_STRING,
        "cost_type": NULLABLE_STRING,
        "model": NULLABLE_STRING,
        "token_type": NULLABLE_STRING,
        "service_tier": NULLABLE_STRING,
        "context_window": NULLABLE_STRING,
    }
    api_key = {
        "type": {"type": "string", "enum": ["api_key"]},
        "id": STRING,
        "name": STRING,
        "status": {"type": "string", "enum": KEY_STATUSES},
        "created_at": TIME,
        "created_by": _object({"id": NULLABLE_STRING, "type": STRING}),
        "partial_key_hint": STRING,
        "workspace_id": NULLABLE_STRING,
        "expires_at": NULLABLE_TIME,
        "scope": _object({"type": STRING, "workspace_id": NULLABLE_STRING}),
    }
    return {
        "Error": _object(
            {
                "type": {"type": "string", "enum": ["error"]},
                "error": {
                    "type": "object",
                    "properties": {
                        "type": STRING,
                        "message": STRING,
                        "details": {"type": "object"},
                    },
                    "required": ["type", "message"],
                },
                "request_id": STRING,
            }
        ),
        "Organization": _object(
            {"type": {"type": "string", "enum": ["organization"]}, "id": STRING, "name": STRING}
        ),
        "User": _object(
            {
                "type": {"type": "string", "enum": ["user"]},
                "id": STRING,
                "email": STRING,
                "name": STRING,
                "role": {"type": "string", "enum": ORG_ROLES},
                "added_at": TIME,
            }
        ),
        "Invite": _object(
            {
                "type": {"type": "string", "enum": ["invite"]},
                "id": STRING,
                "email": STRING,
                "role": {"type": "string", "enum": ORG_ROLES},
                "status": {"type": "string", "enum": ["pending", "accepted", "expired", "deleted"]},
                "invited_at": TIME,
                "expires_at": TIME,
            }
        ),
        "Workspace": _object(
            {
                "type": {"type": "string", "enum": ["workspace"]},
                "id": STRING,
                "name": STRING,
                "display_color": STRING,
                "created_at": TIME,
                "archived_at": NULLABLE_TIME,
            }
        ),
        "WorkspaceMember": _object(
            {
                "type": {"type": "string", "enum": ["workspace_member"]},
                "user_id": STRING,
                "workspace_id": STRING,
                "workspace_role": {
                    "type": "string",
                    "enum": [*WORKSPACE_ROLES, "workspace_billing"],
                },
            }
        ),
        "ApiKey": _object(api_key),
        "ApiKeyWithSecret": _object({**api_key, "key": STRING}),
        "RateLimit": _object(
            {
                "type": STRING,
                "id": STRING,
                "group_type": STRING,
                "name": STRING,
                "models": {"type": "array", "items": STRING},
                "limits": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "type": STRING,
                            "value": {"type": "integer", "nullable": True},
                            "org_limit": INTEGER,
                            "source": STRING,
                            "effective": INTEGER,
                        },
                        "required": ["type", "value"],
                    },
                },
            }
        ),
        "SpendLimit": _object(
            {
                "type": STRING,
                "workspace_id": STRING,
                "amount": NULLABLE_STRING,
                "organization_limit": NULLABLE_STRING,
                "effective": NULLABLE_STRING,
                "month_to_date": STRING,
                "currency": STRING,
            }
        ),
        "SpendNotification": _object(
            {
                "type": STRING,
                "id": STRING,
                "workspace_id": STRING,
                "amount": STRING,
                "currency": STRING,
            }
        ),
        "UsageReport": _object(
            {
                "data": {
                    "type": "array",
                    "items": _object(
                        {
                            "starting_at": TIME,
                            "ending_at": TIME,
                            "results": {"type": "array", "items": _object(tokens)},
                        }
                    ),
                },
                "has_more": {"type": "boolean"},
                "next_page": NULLABLE_STRING,
            }
        ),
        "CostReport": _object(
            {
                "data": {
                    "type": "array",
                    "items": _object(
                        {
                            "starting_at": TIME,
                            "ending_at": TIME,
                            "results": {"type": "array", "items": _object(cost)},
                        }
                    ),
                },
                "has_more": {"type": "boolean"},
                "next_page": NULLABLE_STRING,
            }
        ),
    }


def _paths() -> dict:
    workspace = [_path("workspace_id")]
    amount = {"oneOf": [STRING, {"type": "number"}]}
    report = [
        _query("starting_at", TIME, required=True),
        _query("ending_at", TIME),
        _query("page", STRING),
    ]
    return {
        "/v1/organizations/me": {"get": _op("The key's organization", _ref("Organization"))},
        "/v1/organizations/users": {
            "get": _op(
                "List users",
                _page("User"),
                params=[
                    *PAGING,
                    _query("email", STRING),
                    _query("roles", {"type": "string", "enum": ORG_ROLES}, array=True),
                ],
            ),
        },
        "/v1/organizations/users/{user_id}": {
            "get": _op("Get a user", _ref("User"), params=[_path("user_id")]),
            "post": _op(
                "Change a user's role",
                _ref("User"),
                params=[_path("user_id")],
                body=_object({"role": {"type": "string", "enum": API_ROLES}}),
            ),
            "delete": _op("Remove a user", _deleted("id"), params=[_path("user_id")]),
        },
        "/v1/organizations/invites": {
            "get": _op("List invites", _page("Invite"), params=PAGING),
            "post": _op(
                "Invite someone",
                _ref("Invite"),
                body=_object(
                    {
                        "email": {"type": "string", "format": "email"},
                        "role": {"type": "string", "enum": API_ROLES},
                    }
                ),
            ),
        },
        "/v1/organizations/invites/{invite_id}": {
            "get": _op("Get an invite", _ref("Invite"), params=[_path("invite_id")]),
            "delete": _op("Delete an invite", _deleted("id"), params=[_path("invite_id")]),
        },
        "/v1/organizations/workspaces": {
            "get": _op(
                "List workspaces",
                _page("Workspace"),
                params=[
                    *PAGING,
                    _query("include_archived", {"type": "boolean"}),
                    _query("include_default", {"type": "boolean"}),
                ],
            ),
            "post": _op(
                "Create a workspace",
                _ref("Workspace"),
                body=_object({"name": STRING, "display_color": STRING}, ["name"]),
            ),
        },
        "/v1/organizations/workspaces/{workspace_id}": {
            "get": _op("Get a workspace", _ref("Workspace"), params=workspace),
            "post": _op(
                "Update a workspace",
                _ref("Workspace"),
                params=workspace,
                body=_object({"name": STRING, "display_color": STRING}, []),
            ),
        },
        "/v1/organizations/workspaces/{workspace_id}/archive": {
            "post": _op("Archive a workspace and its keys", _ref("Workspace"), params=workspace),
        },
        "/v1/organizations/workspaces/{workspace_id}/members": {
            "get": _op(
                "List workspace members", _page("WorkspaceMember"), params=[*workspace, *PAGING]
            ),
            "post": _op(
                "Add a workspace member",
                _ref("WorkspaceMember"),
                params=workspace,
                body=_object(
                    {
                        "user_id": STRING,
                        "workspace_role": {"type": "string", "enum": WORKSPACE_ROLES},
                    }
                ),
            ),
        },
        "/v1/organizations/workspaces/{workspace_id}/members/{user_id}": {
            "get": _op(
                "Get a workspace member",
                _ref("WorkspaceMember"),
                params=[*workspace, _path("user_id")],
            ),
            "post": _op(
                "Change a workspace member's role",
                _ref("WorkspaceMember"),
                params=[*workspace, _path("user_id")],
                body=_object({"workspace_role": {"type": "string", "enum": WORKSPACE_ROLES}}),
            ),
            "delete": _op(
                "Remove a workspace member",
                _deleted("user_id", "workspace_id"),
                params=[*workspace, _path("user_id")],
            ),
        },
        "/v1/organizations/workspaces/{workspace_id}/api_keys": {
            "post": _op(
                "Create an API key (the secret is in this answer only)",
                _ref("ApiKeyWithSecret"),
                params=workspace,
                body=_object({"name": STRING, "expires_at": TIME}, ["name"]),
            ),
        },
        "/v1/organizations/workspaces/{workspace_id}/rate_limits": {
            "get": _op("A workspace's rate limits", _page("RateLimit"), params=workspace),
        },
        "/v1/organizations/workspaces/{workspace_id}/rate_limits/{rate_limit_id}": {
            "post": _op(
                "Set or clear a workspace's rate limits of a model group",
                _ref("RateLimit"),
                params=[*workspace, _path("rate_limit_id")],
                body=_object(
                    {
                        "limits": {
                            "type": "array",
                            "items": _object(
                                {
                                    "type": {
                                        "type": "string",
                                        "enum": [
                                            "requests_per_minute",
                                            "input_tokens_per_minute",
                                            "output_tokens_per_minute",
                                        ],
                                    },
                                    "value": {"type": "integer", "nullable": True, "minimum": 1},
                                }
                            ),
                        }
                    }
                ),
            ),
        },
        "/v1/organizations/workspaces/{workspace_id}/spend_limit": {
            "get": _op("A workspace's spend limit", _ref("SpendLimit"), params=workspace),
            "post": _op(
                "Set or remove a workspace's spend limit",
                _ref("SpendLimit"),
                params=workspace,
                body=_object({"amount": {**amount, "nullable": True}}),
            ),
        },
        "/v1/organizations/workspaces/{workspace_id}/spend_notifications": {
            "get": _op(
                "A workspace's spend notifications", _page("SpendNotification"), params=workspace
            ),
            "post": _op(
                "Add a spend notification",
                _ref("SpendNotification"),
                params=workspace,
                body=_object({"amount": amount}),
            ),
        },
        "/v1/organizations/workspaces/{workspace_id}/spend_notifications/{notification_id}": {
            "delete": _op(
                "Remove a spend notification",
                _deleted("id"),
                params=[*workspace, _path("notification_id")],
            ),
        },
        "/v1/organizations/api_keys": {
            "get": _op(
                "List API keys",
                _page("ApiKey"),
                params=[
                    *PAGING,
                    _query("status", {"type": "string", "enum": KEY_STATUSES}),
                    _query("workspace_id", STRING),
                    _query("created_by_user_id", STRING),
                ],
            ),
        },
        "/v1/organizations/api_keys/{api_key_id}": {
            "get": _op("Get an API key", _ref("ApiKey"), params=[_path("api_key_id")]),
            "post": _op(
                "Rename, disable, enable or archive an API key",
                _ref("ApiKey"),
                params=[_path("api_key_id")],
                body=_object(
                    {
                        "name": STRING,
                        "status": {"type": "string", "enum": ["active", "inactive", "archived"]},
                    },
                    [],
                ),
            ),
            "delete": _op(
                "Delete (archive) an API key", _deleted("id"), params=[_path("api_key_id")]
            ),
        },
        "/v1/organizations/rate_limits": {
            "get": _op("The organization's rate limits", _page("RateLimit"))
        },
        "/v1/organizations/usage_report/messages": {
            "get": _op(
                "Token usage per bucket",
                _ref("UsageReport"),
                params=[
                    *report,
                    _query("bucket_width", {"type": "string", "enum": ["1m", "1h", "1d"]}),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1440}),
                    _query(
                        "group_by",
                        {
                            "type": "string",
                            "enum": [
                                "api_key_id",
                                "workspace_id",
                                "model",
                                "service_tier",
                                "context_window",
                            ],
                        },
                        array=True,
                    ),
                    _query("api_key_ids", STRING, array=True),
                    _query("workspace_ids", STRING, array=True),
                    _query("models", STRING, array=True),
                ],
            ),
        },
        "/v1/organizations/cost_report": {
            "get": _op(
                "Cost per day",
                _ref("CostReport"),
                params=[
                    *report,
                    _query("bucket_width", {"type": "string", "enum": ["1d"]}),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 31}),
                    _query(
                        "group_by",
                        {"type": "string", "enum": ["workspace_id", "description"]},
                        array=True,
                    ),
                ],
            ),
        },
    }


def spec() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Console Admin API",
            "version": "1",
            "description": "Manage a Console organization: its users, invites, workspaces, members, API keys, "
            "limits, and usage and cost reports. Compatible with Anthropic's Admin API clients.",
        },
        "servers": [{"url": "/"}],
        "security": [{"AdminKey": []}, {"Bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "AdminKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
                "Bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": _schemas(),
        },
    }
