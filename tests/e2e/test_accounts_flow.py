"""Signing in, and an admin's members work: invite, accept, change a role, remove."""

import re
from datetime import timedelta

from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts import services
from accounts.audit import Actor
from accounts.models import Invite, OrganizationMember
from accounts.roles import OrgRole
from tests.e2e.conftest import (
    allow_console_error,
    live_path,
    no_full_reload,
    open_dialog,
    path_of,
    shot,
    sign_in,
)
from tests.factories import PASSWORD, WorkspaceFactory

NEW_EMAIL = "new.person@acme.test"
NEW_PASSWORD = "plum-orchard-lantern-42"


def _invite_link(email: str, live_server) -> str:
    messages = [m for m in mail.outbox if email in m.to]
    assert len(messages) == 1, f"expected one invite e-mail to {email}, got {len(messages)}"
    match = re.search(r"https?://\S+/invites/\S+/", messages[0].body)
    assert match, messages[0].body
    return live_path(live_server, match.group(0))


def _member_row(page: Page, email: str):
    return page.get_by_test_id("members-table").locator(f'tr[data-email="{email}"]')


def _invite(page: Page, email: str, role_label: str) -> None:
    """Settings > Members > Invite, as the admin on the Members page."""
    page.get_by_role("link", name="Invite", exact=True).click()
    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", name="Invite member")).to_be_visible()
    dialog.get_by_label("E-mail").fill(email)
    dialog.get_by_label("Role").select_option(label=role_label)
    shot(page, "invite-dialog")
    dialog.get_by_role("button", name="Send invite").click()
    expect(page.locator("dialog")).to_have_count(0)


def test_sign_in_lands_on_settings(transactional_db, personas, live_server, page: Page):
    sign_in(page, live_server, personas.admin.email, PASSWORD)

    assert path_of(page) == "/settings/workspaces/"
    expect(page.get_by_role("heading", name="Workspaces", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Settings")).to_have_attribute("aria-current", "page")
    expect(
        page.get_by_test_id("workspaces-table").locator('tr[data-workspace="Default"]')
    ).to_be_visible()
    expect(page.get_by_label("Organization: Acme Test")).to_be_visible()
    shot(page, "signed-in")

    page.goto(f"{live_server.url}/")
    assert path_of(page) == "/settings/workspaces/"


def test_wrong_password_shows_error(transactional_db, personas, live_server, page: Page):
    page.goto(f"{live_server.url}/login/")
    page.locator('input[name="username"]').fill(personas.admin.email)
    page.locator('input[name="password"]').fill("not-the-password")
    page.locator('button[type="submit"]').click()

    expect(page.get_by_role("alert")).to_contain_text("don't match an account")
    assert path_of(page) == "/login/"
    expect(page.locator('input[name="username"]')).to_have_value(personas.admin.email)
    shot(page, "wrong-password")


def test_invite_accept_change_role_remove(
    transactional_db, personas, live_server, new_page, page: Page
):
    mail.outbox.clear()
    sign_in(page, live_server, personas.admin.email, PASSWORD)

    # Settings > Members > Invite: the modal, then the invite under Pending invites.
    page.get_by_role("complementary", name="Settings").get_by_role("link", name="Members").click()
    expect(page.get_by_role("heading", name="Members", level=1)).to_be_visible()
    same_document = no_full_reload(page)
    _invite(page, NEW_EMAIL, "Developer")
    invites = page.get_by_test_id("invites-table")
    expect(invites.locator(f'tr[data-email="{NEW_EMAIL}"]')).to_contain_text("Developer")
    expect(page.locator("#toasts")).to_contain_text(f"Invite sent to {NEW_EMAIL}.")
    same_document()
    shot(page, "invite-pending")

    # The invitee, in a browser of their own, follows the link from the e-mail.
    link = _invite_link(NEW_EMAIL, live_server)
    invitee = new_page()
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name="Join Acme Test")).to_be_visible()
    expect(invitee.locator(".card")).to_contain_text(NEW_EMAIL)
    invitee.get_by_label("Name").fill("New Person")
    invitee.get_by_label("Password").fill(NEW_PASSWORD)
    shot(invitee, "accept-form")
    invitee.get_by_role("button", name="Create account and join").click()
    invitee.wait_for_url(f"{live_server.url}/settings/workspaces/")
    expect(invitee.locator("#toasts")).to_contain_text("Welcome to Acme Test.")
    expect(invitee.get_by_label("Account menu")).to_contain_text("New Person")
    shot(invitee, "invitee-in-console")

    # The used link now says so.
    allow_console_error(invitee, r"status of 410")
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name="This invite has already been used")).to_be_visible()
    shot(invitee, "invite-used")

    # Back as admin: the new member is listed, the invite no longer pending.
    page.reload()
    row = _member_row(page, NEW_EMAIL)
    expect(row).to_contain_text("New Person")
    expect(page.get_by_test_id("invites-table")).to_have_count(0)
    expect(page.get_by_text("No pending invites.")).to_be_visible()

    # Change the role with the select: it saves on change.
    role = row.get_by_label(f"Role of {NEW_EMAIL}")
    expect(role).to_have_value(OrgRole.DEVELOPER)
    with page.expect_response(lambda r: "/role/" in r.url and r.request.method == "POST") as resp:
        role.select_option(label="Billing")
    assert resp.value.status == 200
    expect(_member_row(page, NEW_EMAIL).get_by_label(f"Role of {NEW_EMAIL}")).to_have_value(
        OrgRole.BILLING
    )
    page.reload()
    expect(_member_row(page, NEW_EMAIL).get_by_label(f"Role of {NEW_EMAIL}")).to_have_value(
        OrgRole.BILLING
    )
    shot(page, "role-changed")

    # Remove the member: trash icon, confirm in the dialog, the row goes.
    same_document = no_full_reload(page)
    page.get_by_role("link", name=f"Remove {NEW_EMAIL}").click()
    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", name="Remove member")).to_be_visible()
    expect(dialog).to_contain_text(NEW_EMAIL)
    shot(page, "remove-dialog")
    dialog.get_by_role("button", name="Remove member").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(_member_row(page, NEW_EMAIL)).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text(f"{NEW_EMAIL} was removed")
    same_document()
    shot(page, "member-removed")
    assert not OrganizationMember.objects.filter(
        organization=personas.org, user__email=NEW_EMAIL
    ).exists()


def test_revoked_invite_link_says_so(transactional_db, personas, live_server, new_page, page: Page):
    mail.outbox.clear()
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/members/")
    _invite(page, "revoked@acme.test", "User")
    pending = page.get_by_test_id("invites-table").locator('tr[data-email="revoked@acme.test"]')
    pending.get_by_role("link", name="Revoke", exact=True).click()
    dialog = open_dialog(page)
    expect(dialog).to_contain_text("The link in their e-mail stops working.")
    dialog.get_by_role("button", name="Revoke invite").click()
    expect(pending).to_have_count(0)
    expect(page.get_by_text("No pending invites.")).to_be_visible()

    invitee = new_page()
    allow_console_error(invitee, r"status of 410")
    response = invitee.goto(_invite_link("revoked@acme.test", live_server))
    assert response.status == 410
    expect(invitee.get_by_role("heading", name="This invite was revoked")).to_be_visible()
    expect(invitee.locator(".card")).to_contain_text("Ask them for a new invite")
    expect(invitee.locator('input[name="password"]')).to_have_count(0)
    shot(invitee, "invite-revoked")


def test_expired_invite_link_says_so(transactional_db, personas, live_server, page: Page):
    invite, token = services.invite_create(
        actor=Actor.for_user(personas.admin),
        organization=personas.org,
        email="late@acme.test",
        role=OrgRole.USER,
    )
    Invite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    allow_console_error(page, r"status of 410")
    page.goto(live_path(live_server, services.invite_url(token)))
    expect(page.get_by_role("heading", name="This invite has expired")).to_be_visible()
    expect(page.locator(".card")).to_contain_text("Ask an admin of the organization")
    shot(page, "invite-expired")


def test_existing_account_signs_in_to_accept(transactional_db, personas, live_server, page: Page):
    """Someone who already has an account (in another organization) signs in first."""
    _invite, token = services.invite_create(
        actor=Actor.for_user(personas.admin),
        organization=personas.org,
        email=personas.outsider.email,
        role=OrgRole.USER,
    )
    page.goto(live_path(live_server, services.invite_url(token)))
    expect(page.get_by_role("heading", name="Join Acme Test")).to_be_visible()
    expect(page.locator('input[name="password"]')).to_have_count(0)
    page.get_by_role("link", name="Sign in to accept").click()

    page.locator('input[name="username"]').fill(personas.outsider.email)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('button[type="submit"]').click()
    page.wait_for_url("**/invites/accept/")
    shot(page, "accept-signed-in")
    page.get_by_role("button", name="Accept invite").click()

    page.wait_for_url(f"{live_server.url}/settings/workspaces/")
    expect(page.get_by_label("Organization: Acme Test")).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text("Welcome to Acme Test.")
    shot(page, "joined-second-organization")
    member = personas.member(personas.outsider)
    assert member.role == OrgRole.USER


def test_unknown_invite_link_says_so(transactional_db, live_server, page: Page):
    allow_console_error(page, r"status of 410")
    page.goto(f"{live_server.url}/invites/not-a-real-token/")
    expect(page.get_by_role("heading", name="This invite link is not valid")).to_be_visible()
    shot(page, "invite-unknown")


def test_admin_role_changes_are_confirmed(transactional_db, personas, live_server, page: Page):
    WorkspaceFactory(organization=personas.org, name="Research")
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/members/")
    email = personas.developer.email
    role = _member_row(page, email).get_by_label(f"Role of {email}")

    # Promotion asks first, saying what they gain; cancelling changes nothing.
    role.select_option(label="Admin")
    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", name="Make Developer an Admin?")).to_be_visible()
    effects = dialog.get_by_test_id("role-effects")
    expect(effects).to_contain_text("They can manage the organization")
    expect(effects).to_contain_text("They join 1 workspace as Workspace Admin: Research.")
    expect(effects).to_contain_text(
        "Workspace Admin instead of Workspace Developer in 1 workspace: Default."
    )
    shot(page, "promotion-dialog")
    dialog.get_by_role("link", name="Cancel").click()
    expect(page.locator("dialog")).to_have_count(0)
    role = _member_row(page, email).get_by_label(f"Role of {email}")
    expect(role).to_have_value(OrgRole.DEVELOPER)  # the select shows the saved role again
    expect(role).to_be_focused()
    assert personas.member(personas.developer).role == OrgRole.DEVELOPER

    # Confirmed: saved, and said so.
    role.select_option(label="Admin")
    open_dialog(page).get_by_role("button", name="Make Admin").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text(
        f"{email} is now Admin. They are Workspace Admin in every workspace."
    )
    expect(_member_row(page, email).get_by_label(f"Role of {email}")).to_have_value(OrgRole.ADMIN)
    assert personas.member(personas.developer).role == OrgRole.ADMIN

    # Demotion asks too, saying what they lose.
    _member_row(page, email).get_by_label(f"Role of {email}").select_option(label="User")
    dialog = open_dialog(page)
    expect(dialog.get_by_test_id("role-effects")).to_contain_text(
        "They lose access to 1 workspace where they were Workspace Admin: Research."
    )
    shot(page, "demotion-dialog")
    dialog.get_by_role("button", name="Make User").click()
    expect(page.locator("#toasts")).to_contain_text(f"{email} is now User.")
    assert personas.member(personas.developer).role == OrgRole.USER

    # Other changes save at once, with a toast.
    role = _member_row(page, email).get_by_label(f"Role of {email}")
    expect(role).to_have_value(OrgRole.USER)  # the list has been refreshed
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
    role.select_option(label="Billing")
    expect(page.locator("#toasts")).to_contain_text(f"{email} is now Billing.")
    expect(page.locator("dialog")).to_have_count(0)
    assert personas.member(personas.developer).role == OrgRole.BILLING


def test_role_select_shows_the_saved_role_when_the_save_fails(
    transactional_db, personas, live_server, page: Page
):
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/members/")
    email = personas.user.email
    # Meanwhile someone else removed them: the save answers 404.
    OrganizationMember.objects.filter(organization=personas.org, user=personas.user).delete()
    allow_console_error(page, r"status of 404|Status Error Code 404")
    _member_row(page, email).get_by_label(f"Role of {email}").select_option(label="Developer")
    expect(page.locator("#toasts .toast--error")).to_have_text("That no longer exists.")
    expect(_member_row(page, email).get_by_label(f"Role of {email}")).to_have_value(OrgRole.USER)


def test_duplicate_invite_offers_resend(transactional_db, personas, live_server, page: Page):
    mail.outbox.clear()
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/members/")
    _invite(page, "twice@acme.test", "Developer")
    first_link = _invite_link("twice@acme.test", live_server)

    # Inviting them again: the dialog says they were invited, and offers to resend.
    page.get_by_role("link", name="Invite", exact=True).click()
    dialog = open_dialog(page)
    dialog.get_by_label("E-mail").fill("twice@acme.test")
    dialog.get_by_role("button", name="Send invite").click()
    pending = open_dialog(page).get_by_test_id("pending-invite")
    expect(pending).to_contain_text("twice@acme.test was invited as Developer")
    shot(page, "duplicate-invite")
    pending.get_by_role("button", name="Resend invite").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text(
        "Invite sent again to twice@acme.test. The link sent before no longer works."
    )
    messages = [m for m in mail.outbox if "twice@acme.test" in m.to]
    assert len(messages) == 2
    assert first_link.rsplit("/invites/", 1)[1] not in messages[1].body

    # From the list of pending invites, after a confirmation.
    row = page.get_by_test_id("invites-table").locator('tr[data-email="twice@acme.test"]')
    row.get_by_role("link", name="Resend").click()
    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", name="Resend invite")).to_be_visible()
    dialog.get_by_role("button", name="Resend invite").click()
    expect(page.locator("dialog")).to_have_count(0)
    assert len([m for m in mail.outbox if "twice@acme.test" in m.to]) == 3
    assert Invite.objects.filter(email="twice@acme.test").count() == 1
