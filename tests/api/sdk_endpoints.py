"""Every endpoint of Anthropic's Admin API the installed `anthropic` SDK calls, read from the
SDK's own resource modules: (HTTP method, path template) pairs, and which of its resources'
methods call each."""

import ast
import re
from functools import cache
from pathlib import Path

import anthropic

RESOURCES = Path(anthropic.__file__).parent / "resources"
_CALLS = {"_get": "GET", "_post": "POST", "_delete": "DELETE", "_patch": "PATCH", "_put": "PUT"}


def _path(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and node.args:  # path_template("/v1/...", id=id)
        return _path(node.args[0])
    return None


@cache
def sdk_endpoints() -> dict[tuple[str, str], list[str]]:
    """{(method, path): ["organization/users.py Users.retrieve", ...]} for every endpoint
    under /v1/organizations/ that a synchronous resource method calls."""
    found: dict[tuple[str, str], list[str]] = {}
    for module in sorted(RESOURCES.rglob("*.py")):
        tree = ast.parse(module.read_text())
        for resource in tree.body:
            if not isinstance(resource, ast.ClassDef) or resource.name.startswith("Async"):
                continue
            for method in resource.body:
                if not isinstance(method, ast.FunctionDef):
                    continue
                for node in ast.walk(method):
                    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                        continue
                    name = node.func.attr
                    if name not in (*_CALLS, "_get_api_list") or not node.args:
                        continue
                    path = _path(node.args[0])
                    if path is None or not path.startswith("/v1/organizations/"):
                        continue
                    verb = _CALLS.get(name, "GET")
                    for keyword in node.keywords:
                        if keyword.arg == "method" and isinstance(keyword.value, ast.Constant):
                            verb = str(keyword.value.value).upper()
                    where = f"{module.relative_to(RESOURCES)} {resource.name}.{method.name}"
                    found.setdefault((verb, path), []).append(where)
                    break
    return found


def template_of(path: str, templates: set[str]) -> str | None:
    """The template among `templates` that a concrete `path` fills in; of those that fit,
    the one with the fewest parameters (`spend_limits/effective`, not `{spend_limit_id}`)."""
    for template in sorted(templates, key=lambda template: (template.count("{"), template)):
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return template
    return None
