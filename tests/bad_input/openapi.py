"""The Admin API as its OpenAPI document describes it, for the suite to enumerate."""

import re

from django.test import Client

from console.api_urls import api

DOCUMENT = api.get_openapi_schema(path_prefix="/v1/")
SCHEMAS = DOCUMENT["components"]["schemas"]
OPERATIONS = [
    (method.upper(), path, operation)
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
]
PARAMETER = re.compile(r"\{([^}]+)\}")


def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def concrete(schema: dict) -> dict:
    """The first non-null alternative of an `anyOf`, resolved."""
    schema = resolve(schema)
    for option in schema.get("anyOf", []):
        option = resolve(option)
        if option.get("type") != "null":
            return option
    return schema


def fill(path: str, values: dict[str, str]) -> str:
    return PARAMETER.sub(lambda m: values[m.group(1)], path)


def _listed(client: Client, listing: str) -> list[dict]:
    response = client.get(listing)
    data = response.json().get("data") if response.status_code == 200 else None
    return data or []


def _id(item: dict, name: str) -> str:
    return str(item.get(name) or item["id"])


def real_ids(client: Client, path: str) -> dict[str, str] | None:
    """The ids a path names, read from the API's own lists: each parameter from the list its
    path ends with (`/workspaces` for `{workspace_id}`, `.../members` for `{user_id}`); the
    last item listed. None when a list is empty."""
    every = all_real_ids(client, path, limit=1)
    return every[0] if every else None


def all_real_ids(client: Client, path: str, *, limit: int = 50) -> list[dict[str, str]]:
    """Like `real_ids`, for each of the (at most `limit`) objects its last list holds."""
    values: dict[str, str] = {}
    names = PARAMETER.findall(path)
    for position, match in enumerate(PARAMETER.finditer(path)):
        name = match.group(1)
        listing = PARAMETER.sub(lambda m: values.get(m.group(1), ""), path[: match.start() - 1])
        items = _listed(client, listing)
        if not items:
            return []
        if position == len(names) - 1:
            return [{**values, name: _id(item, name)} for item in items[-limit:][::-1]]
        values[name] = _id(items[-1], name)
    return [values]
