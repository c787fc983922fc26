from django import forms

from accounts.roles import ASSIGNABLE_WORKSPACE_ROLES
from workspaces.models import NAME_MAX_LENGTH, WorkspaceColor

ROLE_CHOICES = [(role.value, role.label) for role in ASSIGNABLE_WORKSPACE_ROLES]


class WorkspaceForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_MAX_LENGTH,
        error_messages={
            "required": "Enter a name for the workspace.",
            "max_length": f"Workspace names can be at most {NAME_MAX_LENGTH} characters.",
        },
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
    display_color = forms.ChoiceField(
        label="Colour",
        choices=WorkspaceColor.choices,
        initial=WorkspaceColor.CLAY,
        error_messages={
            "required": "Choose a colour.",
            "invalid_choice": "Choose one of the colours shown.",
        },
    )


class WorkspaceMemberAddForm(forms.Form):
    user = forms.CharField(error_messages={"required": "Choose a member of the organization."})
    # Roles are checked by the service, which explains why Workspace Billing is refused.
    role = forms.CharField(
        widget=forms.Select(choices=ROLE_CHOICES), initial=ASSIGNABLE_WORKSPACE_ROLES[2].value
    )


class WorkspaceMemberRoleForm(forms.Form):
    role = forms.CharField(widget=forms.Select(choices=ROLE_CHOICES))
