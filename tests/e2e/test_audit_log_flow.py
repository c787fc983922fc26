"""Settings > Audit log in the browser: sentences about named things, filters and search in
place, Older and Newer through the pages, and the CSV of what is shown."""

from pathlib import Path

from playwright.sync_api import Page, expect

from accounts import services
from accounts.audit import Actor
from tests.e2e.conftest import no_full_reload, shot, sign_in
from tests.factories import PASSWORD, WorkspaceFactory
from workspaces import services as workspace_services


def _rows(page: Page):
    return page.get_by_test_id("audit-table").locator("tbody tr")


def test_the_audit_log_reads_filters_and_pages(transactional_db, personas, live_server, page: Page):
    admin = Actor.for_user(personas.admin)
    production = WorkspaceFactory(organization=personas.org, name="Production")
    workspace_services.workspace_archive(actor=admin, workspace=production)
    for number in range(55):
        services.organization_rename(actor=admin, organization=personas.org, name=f"Acme {number}")
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/audit-log/")

    expect(_rows(page)).to_have_count(50)
    expect(_rows(page).first).to_contain_text("Renamed from “Acme 53” to “Acme 54”")
    expect(_rows(page).first).to_contain_text("admin@acme.test")
    page.get_by_role("link", name="Older").click()
    expect(_rows(page)).to_have_count(6)
    assert "??" not in page.url and "cursor=" in page.url
    archived = _rows(page).filter(has_text="Archived")
    expect(archived.get_by_role("link", name="Production")).to_have_attribute(
        "href", f"/settings/workspaces/{production.public_id}/"
    )
    shot(page, "page-2")
    page.get_by_role("link", name="Newer").click()
    expect(_rows(page)).to_have_count(50)

    same_document = no_full_reload(page)
    page.get_by_label("Search").fill("production")
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page).first).to_contain_text("Archived")
    csv_link = page.get_by_role("link", name="Export CSV")
    expect(csv_link).to_have_attribute("href", "?q=production&format=csv")
    with page.expect_download() as download:
        csv_link.click()
    assert download.value.suggested_filename.startswith("audit-log-")
    lines = Path(download.value.path()).read_text().splitlines()
    assert len(lines) == 2 and "Archived" in lines[1] and "Production" in lines[1]
    same_document()
