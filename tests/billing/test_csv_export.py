"""CSV downloads open in a spreadsheet as data: text that would start a formula is escaped."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.audit import Actor
from billing import usage
from billing.models import Model
from console.csv_export import safe_cell
from tests.factories import WorkspaceFactory
from workspaces import services as workspace_services

EVIL = '=HYPERLINK("http://evil.test","x")'
RANGE = {"range": "custom", "start": "2026-11-01", "end": "2026-11-02"}


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_text_that_starts_a_formula_is_escaped(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Production", "a=b", 12, -3.5, None])
def test_other_cells_are_unchanged(value):
    assert safe_cell(value) == value


def test_cost_downloads_escape_a_workspace_named_like_a_formula(client, personas):
    workspace = WorkspaceFactory(organization=personas.org, name=EVIL)
    key, _secret = workspace_services.api_key_create(
        actor=Actor.for_user(personas.admin), workspace=workspace, name="@key"
    )
    usage.record(
        api_key=key,
        model=Model.objects.get(api_name="claude-sonnet-4-5"),
        tokens={"uncached_input_tokens": 1_000, "output_tokens": 100},
        at=datetime(2026, 11, 1, 12, tzinfo=UTC),
    )
    admin = client(personas.admin)
    for table in ({}, {"table": "breakdown"}):
        response = admin.get(reverse("billing:cost"), {**RANGE, "format": "csv", **table})
        cells = [cell for row in csv.reader(io.StringIO(response.content.decode())) for cell in row]
        assert EVIL not in cells
        assert "'" + EVIL in cells
