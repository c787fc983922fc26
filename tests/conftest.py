"""Personas: one user per organization role, a member of another organization, anonymous.

`org` is the organization under test; `other_org` is someone else's. Clients are signed in
as each persona (`admin_client`, `billing_client`, ...).
"""

from dataclasses import dataclass

import pytest
from django.test import Client

from accounts.models import Organization, OrganizationMember, User
from accounts.roles import OrgRole
from tests.factories import MemberFactory, OrganizationFactory, UserFactory
from workspaces.models import Workspace


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashers are slow on purpose; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Personas:
    org: Organization
    admin: User
    billing: User
    developer: User
    user: User
    other_org: Organization
    outsider: User

    def member(self, user: User) -> OrganizationMember:
        return OrganizationMember.objects.select_related("organization").get(
            organization=self.org, user=user
        )

    @property
    def default_workspace(self) -> Workspace:
        return Workspace.objects.get(organization=self.org, is_default=True)


@pytest.fixture
def personas(db) -> Personas:
    org = OrganizationFactory(name="Acme Test")
    other_org = OrganizationFactory(name="Other Org")
    people = {
        role: MemberFactory(
            organization=org,
            role=role,
            user=UserFactory(email=f"{role}@acme.test", name=role.title()),
        ).user
        for role in (OrgRole.ADMIN, OrgRole.BILLING, OrgRole.DEVELOPER, OrgRole.USER)
    }
    outsider = MemberFactory(
        organization=other_org, role=OrgRole.ADMIN, user=UserFactory(email="outsider@other.test")
    ).user
    return Personas(
        org=org,
        admin=people[OrgRole.ADMIN],
        billing=people[OrgRole.BILLING],
        developer=people[OrgRole.DEVELOPER],
        user=people[OrgRole.USER],
        other_org=other_org,
        outsider=outsider,
    )


@pytest.fixture
def org(personas: Personas) -> Organization:
    return personas.org


def _client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def client_for():
    return _client_for


@pytest.fixture
def admin_client(personas: Personas) -> Client:  # shadows pytest-django's superuser client
    return _client_for(personas.admin)


@pytest.fixture
def billing_client(personas: Personas) -> Client:
    return _client_for(personas.billing)


@pytest.fixture
def developer_client(personas: Personas) -> Client:
    return _client_for(personas.developer)


@pytest.fixture
def user_client(personas: Personas) -> Client:
    return _client_for(personas.user)


@pytest.fixture
def outsider_client(personas: Personas) -> Client:
    return _client_for(personas.outsider)


@pytest.fixture
def anonymous_client() -> Client:
    return Client()


@pytest.fixture
def htmx() -> dict:
    """Headers that make a test client request look like htmx's."""
    return {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def catalog(db) -> None:
    """The model catalog and tiers, which a data migration loads. Tests in real transactions
    empty the database when they end, data migrations' rows included; load them again."""
    from billing.catalog import load_catalog
    from billing.models import ModelGroup

    if not ModelGroup.objects.exists():
        load_catalog()
