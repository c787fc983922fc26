"""Sign-in is throttled per account and per client address (django-axes)."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory

PASSWORD = "a-strong-passphrase"
LOGIN = "/login/"


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def _sign_in(email: str, password: str, *, address: str = "198.51.100.7", **headers):
    return Client(REMOTE_ADDR=address, **headers).post(
        LOGIN, {"username": email, "password": password}
    )


@pytest.fixture
def account(db):
    user = UserFactory(email="grace@acme.test")
    user.set_password(PASSWORD)
    user.save()
    return user


def test_the_right_password_signs_in(account):
    assert _sign_in(account.email, PASSWORD).status_code == 302


def test_repeated_wrong_passwords_lock_the_account_and_say_until_when(account):
    for _ in range(4):
        assert _sign_in(account.email, "wrong").status_code == 200
    assert _sign_in(account.email, "wrong").status_code == 429
    locked = _sign_in(account.email, PASSWORD)
    assert locked.status_code == 429
    assert b"signing in is paused until" in locked.content
    assert b"about 15 minutes" in locked.content


def test_the_account_is_locked_whatever_the_case_of_its_address(account):
    for _ in range(5):
        _sign_in(account.email.upper(), "wrong")
    assert _sign_in(account.email, PASSWORD).status_code == 429


def test_the_lock_on_an_account_holds_from_other_addresses(account):
    for number in range(5):
        _sign_in(account.email, "wrong", address=f"203.0.113.{number}")
    assert _sign_in(account.email, PASSWORD, address="192.0.2.99").status_code == 429


def test_one_address_trying_many_accounts_is_locked(account):
    for number in range(5):
        _sign_in(f"guess{number}@acme.test", "wrong")
    assert _sign_in(account.email, PASSWORD).status_code == 429
    assert _sign_in(account.email, PASSWORD, address="192.0.2.99").status_code == 302


def test_the_lock_ends_after_the_cool_off(account):
    for _ in range(5):
        _sign_in(account.email, "wrong")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert _sign_in(account.email, PASSWORD).status_code == 302


def test_a_successful_sign_in_clears_the_count(account):
    for _ in range(4):
        _sign_in(account.email, "wrong")
    assert _sign_in(account.email, PASSWORD).status_code == 302
    for _ in range(4):
        _sign_in(account.email, "wrong")
    assert _sign_in(account.email, PASSWORD).status_code == 302


def test_behind_proxies_the_forwarded_address_is_counted(account, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        _sign_in("someone@acme.test", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert _sign_in(account.email, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429
    assert _sign_in(account.email, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 302


def test_the_staff_admin_sign_in_is_throttled_too(account):
    admin_login = reverse("admin:login")
    for _ in range(5):
        Client(REMOTE_ADDR="198.51.100.8").post(
            admin_login, {"username": account.email, "password": "wrong"}
        )
    assert _sign_in(account.email, PASSWORD).status_code == 429
