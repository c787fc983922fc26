"""Signing in and out, resetting a password, and the public pages."""

import re
from urllib.parse import urlsplit

from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD


def test_sign_in_with_email_and_password(personas):
    c = Client()
    response = c.post(
        reverse("accounts:login"), {"username": "ADMIN@acme.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert c.get("/").status_code == 302  # to the workspaces page


def test_wrong_password_shows_error(personas):
    response = Client().post(
        reverse("accounts:login"), {"username": "admin@acme.test", "password": "nope"}
    )
    assert response.status_code == 200
    assert b"match an account" in response.content


def test_sign_out_is_a_post(client, personas):
    c = client(personas.admin)
    assert c.post(reverse("accounts:logout")).status_code == 302
    assert c.get(reverse("workspaces:organization_members")).status_code == 302


def test_password_reset_by_email(personas, django_capture_on_commit_callbacks, settings):
    settings.SITE_URL = "https://console.example"
    c = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(reverse("accounts:password_reset"), {"email": "developer@acme.test"})
    assert response.status_code == 302
    (message,) = mail.outbox
    link = re.search(r"https?://[^\s]+", message.body).group(0)
    assert link.startswith("https://console.example/password-reset/")
    path = urlsplit(link).path
    form_page = c.get(path, follow=True)
    assert b"Choose a new password" in form_page.content
    done = c.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "brand-new-secret-42", "new_password2": "brand-new-secret-42"},
    )
    assert done.status_code == 302
    assert User.objects.get(email="developer@acme.test").check_password("brand-new-secret-42")


def test_password_reset_for_unknown_email_reveals_nothing(db):
    response = Client().post(reverse("accounts:password_reset"), {"email": "nobody@x.test"})
    assert response.status_code == 302
    assert not mail.outbox


def test_public_pages_need_no_sign_in(db):
    for name in ["accounts:login", "accounts:password_reset"]:
        assert Client().get(reverse(name)).status_code == 200


def test_user_without_organization_sees_explanation(client, db):
    lonely = User.objects.create_user("lonely@x.test", "pw-123456789")
    c = client(lonely)
    response = c.get("/")
    assert b"not in an organization" in response.content
    assert c.get(reverse("workspaces:organization_members")).status_code == 404
