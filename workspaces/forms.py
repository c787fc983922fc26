from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.keys import KEY_NAME_MAX_LENGTH
from accounts.models import KeyStatus
from accounts.roles import ASSIGNABLE_WORKSPACE_ROLES
from console.forms import DateField, choice
from workspaces.models import HEX_COLOR, NAME_MAX_LENGTH, Workspace, WorkspaceColor

CUSTOM_COLOR = "custom"

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
        choices=[*WorkspaceColor.choices, (CUSTOM_COLOR, "Custom colour")],
        initial=WorkspaceColor.CLAY,
        error_messages={
            "required": "Choose a colour.",
            "invalid_choice": "Choose one of the colours shown.",
        },
    )
    custom_color = forms.CharField(
        label="Custom colour",
        required=False,
        initial="#888888",
        widget=forms.TextInput(attrs={"type": "color"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        color = self.initial.get("display_color")
        if color and color not in WorkspaceColor.values:
            self.initial["display_color"] = CUSTOM_COLOR
            self.initial["custom_color"] = color

    def clean(self) -> dict:
        """`display_color` is the colour chosen: a swatch, or the custom one (#RRGGBB)."""
        super().clean()
        data = self.cleaned_data
        if data.get("display_color") == CUSTOM_COLOR:
            color = (data.get("custom_color") or "").strip().upper()
            try:
                HEX_COLOR(color)
            except ValidationError as error:
                self.add_error("custom_color", error)
            data["display_color"] = color
        return data


SEARCH_MAX_LENGTH = 100


class SearchField(forms.CharField):
    """A list's name search: trimmed, at most `SEARCH_MAX_LENGTH` characters."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            required=False,
            max_length=SEARCH_MAX_LENGTH,
            label=kwargs.pop("label", "Search"),
            error_messages={"max_length": f"Search for at most {SEARCH_MAX_LENGTH} characters."},
            widget=forms.TextInput(
                attrs={"type": "search", "autocomplete": "off", **kwargs.pop("attrs", {})}
            ),
            **kwargs,
        )


class WorkspaceListForm(forms.Form):
    """Settings > Workspaces' search, order and archived filter (all in the address)."""

    q = SearchField(attrs={"placeholder": "Search by name"})
    sort = forms.ChoiceField(required=False)
    archived = forms.BooleanField(required=False, label="Show archived")

    def __init__(self, *args: Any, orders: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice(self, "sort").choices = [(order, order) for order in orders]


class WorkspaceMemberAddForm(forms.Form):
    user = forms.CharField(error_messages={"required": "Choose a member of the organization."})
    # Roles are checked by the service, which explains why Workspace Billing is refused.
    role = forms.CharField(
        widget=forms.Select(choices=ROLE_CHOICES), initial=ASSIGNABLE_WORKSPACE_ROLES[2].value
    )


class WorkspaceMemberRoleForm(forms.Form):
    role = forms.CharField(widget=forms.Select(choices=ROLE_CHOICES))


class ApiKeyCreateForm(forms.Form):
    EXPIRY_CHOICES = [
        ("never", "Never"),
        ("7", "7 days"),
        ("30", "30 days"),
        ("90", "90 days"),
        ("custom", "On a date…"),
    ]

    name = forms.CharField(
        max_length=KEY_NAME_MAX_LENGTH,
        error_messages={
            "required": "Give the key a name.",
            "max_length": f"Key names can be at most {KEY_NAME_MAX_LENGTH} characters.",
        },
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
        help_text="A name that says where the key is used, e.g. “support-bot production”.",
    )
    expiry = forms.ChoiceField(choices=EXPIRY_CHOICES, initial="never", label="Expires")
    expiry_date = DateField(
        required=False,
        label="Expiry date",
        help_text="Used when Expires is “On a date…”; the key stops working at 00:00 UTC that day.",
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        expiry = data.get("expiry")
        data["expires_at"] = None
        if expiry in ("7", "30", "90"):
            data["expires_at"] = timezone.now() + timedelta(days=int(expiry))
        elif expiry == "custom":
            day = data.get("expiry_date")
            if day is None:
                if "expiry_date" not in self.errors:
                    self.add_error("expiry_date", "Choose the day the key expires.")
            else:
                data["expires_at"] = datetime.combine(day, time.min, tzinfo=UTC)
        return data


class ApiKeyRenameForm(forms.Form):
    name = forms.CharField(
        max_length=KEY_NAME_MAX_LENGTH,
        error_messages={
            "required": "Give the key a name.",
            "max_length": f"Key names can be at most {KEY_NAME_MAX_LENGTH} characters.",
        },
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )


class WorkspaceKeysForm(forms.Form):
    """A workspace's API Keys tab: name search, and deleted keys shown beside the others."""

    q = SearchField(attrs={"placeholder": "Search by name"})
    deleted = forms.BooleanField(required=False, label="Show deleted")


class AdminKeysForm(forms.Form):
    q = SearchField(attrs={"placeholder": "Search by name"})


class KeyFilterForm(forms.Form):
    q = SearchField(attrs={"placeholder": "Search by name"})
    workspace = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "All but deleted"), *KeyStatus.choices],
    )
    creator = forms.ChoiceField(required=False, label="Created by")

    def __init__(
        self,
        *args: Any,
        workspaces: Sequence[Workspace],
        creators: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choice(self, "workspace").choices = [
            ("", "All Workspaces"),
            *((w.public_id, w.name) for w in workspaces),
        ]
        choice(self, "creator").choices = [("", "Anyone"), *creators]
