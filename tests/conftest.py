"""Personas: one user per organization role, a member of another organization, staff.

`org` is the organization under test; `other_org` is someone else's. `client(user)` is a test
client signed in as `user` (`client(None)`: anonymous). The named workspaces say who holds
which role in them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client, override_settings

from accounts import services as account_services
from accounts.audit import Actor
from accounts.models import AdminApiKey, Organization, OrganizationMember, User
from accounts.roles import OrgRole, WorkspaceRole
from billing import enforcement
from tests.factories import (
    MemberFactory,
    OrganizationFactory,
    UserFactory,
    WorkspaceFactory,
    WorkspaceMemberFactory,
)
from tests.helpers import redis_url_of_this_worker
from workspaces import services as workspace_services
from workspaces.models import ApiKey, Workspace


@pytest.fixture(autouse=True, scope="session")
def _redis_of_this_worker():
    """With `REDIS_URL` set, a Redis database of this test process's own for the cache and the
    limiter's counters (see `redis_url_of_this_worker`)."""
    if not django_settings.REDIS_URL:
        yield
        return
    url = redis_url_of_this_worker(django_settings.REDIS_URL)
    caches = {"default": {**django_settings.CACHES["default"], "LOCATION": url}}
    with override_settings(REDIS_URL=url, CACHES=caches):
        enforcement.use_backend(None)
        yield
    enforcement.use_backend(None)


# The slowest test files, slowest first. Processes take files in the order collected, so
# these start at once rather than last, when the other processes would have nothing left
# to do while one of them runs.
SLOWEST_FIRST = [
    "e2e/test_pages_accessible.py",
    "bad_input/test_pages.py",
    "bad_input/test_admin_api.py",
    "billing/test_enforcement_properties.py",
    "bad_input/test_staff_admin.py",
    "api/test_fuzz.py",
    "gateway/test_faults.py",
    "api/test_writes.py",
    "gateway/test_bad_input_corpus.py",
    "billing/test_enforcement_faults.py",
]


@pytest.hookimpl(trylast=True)  # after pytest-django's, which puts tests in transactions last
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent

    def rank(item: pytest.Item) -> int:
        path = Path(str(item.path))
        relative = path.relative_to(tests).as_posix() if path.is_relative_to(tests) else ""
        return SLOWEST_FIRST.index(relative) if relative in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=rank)  # stable: each file's tests keep their order


def _load_catalog_if_emptied() -> None:
    from billing.catalog import load_catalog
    from billing.models import ModelGroup

    if not ModelGroup.objects.exists():
        load_catalog()


def _in_real_transactions(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        return True
    return bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """A test in real transactions empties every table when it ends, the catalog and tiers a
    data migration loaded included: load them again then, so that the tests that run after
    it in this process, whatever their order, find the database as migrated."""
    result = yield
    # After the last test the test database is gone already (nothing comes next).
    if nextitem is not None and _in_real_transactions(item):
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            _load_catalog_if_emptied()
    return result


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


@pytest.fixture
def client() -> Callable[[User | None], Client]:
    """`client(user)`: a test client signed in as `user`; `client(None)`: anonymous."""

    def signed_in(user: User | None) -> Client:
        signed = Client()
        if user is not None:
            signed.force_login(user)
        return signed

    return signed_in


@pytest.fixture
def staff(db) -> User:
    """The operator's staff: a superuser of the Django admin, in no organization."""
    return User.objects.create_superuser("staff@console.test", "pw-staff-123")


@pytest.fixture
def admin_actor(personas: Personas) -> Actor:
    return Actor.for_user(personas.admin)


@pytest.fixture
def newcomer(personas: Personas) -> User:
    """An organization developer who is in no workspace yet."""
    return MemberFactory(
        organization=personas.org, role=OrgRole.DEVELOPER, user__email="new@acme.test"
    ).user


@pytest.fixture
def production(personas: Personas) -> Workspace:
    """ "Production": the developer persona is a Workspace Developer there, the user persona a
    Workspace User."""
    workspace = WorkspaceFactory(organization=personas.org, name="Production")
    WorkspaceMemberFactory(
        workspace=workspace, user=personas.developer, role=WorkspaceRole.DEVELOPER
    )
    WorkspaceMemberFactory(workspace=workspace, user=personas.user, role=WorkspaceRole.USER)
    return workspace


@pytest.fixture
def production_admined_by_developer(personas: Personas) -> Workspace:
    """ "Production": the developer persona is its Workspace Admin, the user persona a
    Workspace User."""
    workspace = WorkspaceFactory(organization=personas.org, name="Production")
    WorkspaceMemberFactory(workspace=workspace, user=personas.developer, role=WorkspaceRole.ADMIN)
    WorkspaceMemberFactory(workspace=workspace, user=personas.user, role=WorkspaceRole.USER)
    return workspace


@pytest.fixture
def production_key(personas: Personas, production: Workspace) -> tuple[ApiKey, str]:
    """An API key of `production` that the developer persona made, and its secret."""
    return workspace_services.api_key_create(
        actor=Actor.for_user(personas.developer), workspace=production, name="bot"
    )


@pytest.fixture
def admin_key(personas: Personas) -> tuple[AdminApiKey, str]:
    """An Admin key of the organization that the admin persona made, and its secret."""
    return account_services.admin_key_create(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="ops"
    )


@pytest.fixture
def htmx() -> dict:
    """Headers that make a test client request look like htmx's."""
    return {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def catalog(db) -> None:
    """The model catalog and tiers, which a data migration loads. Tests in real transactions
    empty the database when they end, data migrations' rows included; load them again."""
    _load_catalog_if_emptied()
