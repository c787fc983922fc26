"""Signing in and out, password reset, and accepting an invite: the public pages."""

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.forms import NewAccountForm, PasswordResetForm, SignInForm
from accounts.middleware import SESSION_KEY
from accounts.models import User
from console.forms import add_service_errors
from console.http import safe_next


class NextOfThisSite(auth_views.RedirectURLMixin):
    """Django's sign-in and sign-out views check `next` themselves; here they ask the
    console's one check, so every `next` follows the same rule."""

    def get_redirect_url(self, request: HttpRequest | None = None) -> str:
        return safe_next(request or self.request, "")  # type: ignore[attr-defined]


class SignInView(NextOfThisSite, auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(NextOfThisSite, auth_views.LogoutView):
    pass


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


INVITE_PROBLEMS = {
    "unknown": (
        "This invite link is not valid",
        "Check that you copied the whole link from the e-mail.",
    ),
    "expired": (
        "This invite has expired",
        "Invites are valid for 21 days. Ask an admin of the organization to invite you again.",
    ),
    "deleted": (
        "This invite was revoked",
        "An admin of the organization withdrew it. "
        "Ask them for a new invite if you still need access.",
    ),
    "accepted": ("This invite has already been used", "Sign in with the account that accepted it."),
}


# As Django's password reset does, the token leaves the address at once: the link's URL is
# swapped for this one and the token kept in the session, so it appears in no later request
# line, access log, Referer header or CSRF warning.
INVITE_URL_TOKEN = "accept"
INVITE_SESSION_KEY = "_invite_token"


@login_not_required
@require_http_methods(["GET", "POST"])
def invite_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Join an organization from an invite link: as the signed-in user if the invite is
    theirs, else by creating an account (or signing in, if the address has one)."""
    from_link = token != INVITE_URL_TOKEN
    if not from_link:
        token = request.session.get(INVITE_SESSION_KEY, "")
    try:
        invite = services.invite_for_token(token)
    except services.InviteUnusable as problem:
        title, detail = INVITE_PROBLEMS[problem.reason]
        return render(
            request, "accounts/invite_problem.html", {"title": title, "detail": detail}, status=410
        )
    if from_link:
        request.session[INVITE_SESSION_KEY] = token
        return redirect("accounts:invite_accept", token=INVITE_URL_TOKEN)
    context: dict = {"invite": invite}
    signed_in = request.user if request.user.is_authenticated else None
    if signed_in is not None and signed_in.email != invite.email:
        context["wrong_account"] = True
        return render(request, "accounts/invite_accept.html", context, status=403)
    has_account = signed_in is None and User.objects.filter(email=invite.email).exists()
    if has_account:
        context["login_url"] = f"{reverse('accounts:login')}?next={quote(request.path)}"
        return render(request, "accounts/invite_accept.html", context)
    form = None if signed_in else NewAccountForm(request.POST or None, email=invite.email)
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            member = services.invite_accept(
                token=token,
                user=signed_in,
                name=form.cleaned_data["name"] if form else "",
                password=form.cleaned_data["password"] if form else "",
            )
        except ValidationError as error:
            add_service_errors(form, error) if form else messages.error(request, error.messages[0])
        except (services.InviteUnusable, PermissionDenied):
            return redirect(request.path)
        else:
            if signed_in is None:
                login(request, member.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session.pop(INVITE_SESSION_KEY, None)
            request.session[SESSION_KEY] = str(member.organization_id)
            messages.success(request, f"Welcome to {member.organization.name}.")
            return redirect("/")
    context["form"] = form
    return render(request, "accounts/invite_accept.html", context)
