import factory

from accounts.models import Organization, OrganizationMember, User
from accounts.roles import OrgRole, WorkspaceRole
from workspaces.models import Workspace, WorkspaceColor, WorkspaceMember

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    """An organization with its Default workspace, as the service makes them."""

    class Meta:
        model = Organization
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Organization {n}")

    @factory.post_generation
    def default_workspace(obj, create, extracted, **kwargs):
        if create:
            Workspace.objects.create(
                organization=obj,
                name="Default",
                display_color=WorkspaceColor.SLATE,
                is_default=True,
            )


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrganizationMember

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = OrgRole.USER


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Workspace {n}")
    display_color = WorkspaceColor.TEAL


class WorkspaceMemberFactory(factory.django.DjangoModelFactory):
    """An explicit workspace membership, within the user's membership of the organization
    (made a User of it if they are not a member yet)."""

    class Meta:
        model = WorkspaceMember

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    organization_member = factory.LazyAttribute(
        lambda membership: OrganizationMember.objects.get_or_create(
            organization=membership.workspace.organization, user=membership.user
        )[0]
    )
    role = WorkspaceRole.DEVELOPER
