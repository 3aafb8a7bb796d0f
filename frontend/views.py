from typing import Any

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from common.errors import ApplicationError
from members.exports import user_data_export
from members.models import ApiToken
from members.selectors import api_token_list, membership_active_get, user_from_request, user_roles
from members.services import (
    api_token_create,
    api_token_revoke,
    password_reset_request,
    user_create,
    user_delete,
    user_update,
)

from .forms import (
    AccountDeleteForm,
    LoginForm,
    PasswordResetRequestForm,
    ProfileForm,
    SignupForm,
    TokenCreateForm,
)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/home.html", {})


def _form_page(
    request: HttpRequest,
    form: Any,
    title: str,
    submit: str,
    intro: str = "",
    template: str = "frontend/form_page.html",
) -> HttpResponse:
    return render(
        request,
        template,
        {"form": form, "page_title": title, "submit_label": submit, "intro": intro},
    )


def _apply_errors(form: Any, exc: ValidationError | ApplicationError) -> None:
    if isinstance(exc, ApplicationError):
        for field, errors in (exc.fields or {"__all__": [exc.message]}).items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
        return
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create(language=request.LANGUAGE_CODE or "fr", **form.cleaned_data)
        except (ValidationError, ApplicationError) as exc:
            _apply_errors(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome to Bien Commun."))
            return redirect(request.GET.get("next") or "frontend:home")
    status = 400 if request.method == "POST" else 200
    response = _form_page(request, form, _("Create your account"), _("Sign up"))
    response.status_code = status
    return response


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "frontend/login.html"
    redirect_authenticated_user = True


def password_reset(request: HttpRequest) -> HttpResponse:
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        password_reset_request(email=form.cleaned_data["email"])
        messages.info(
            request,
            _(
                "If an account exists for this address, we have sent it a link to choose a new password."
            ),
        )
        return redirect("frontend:login")
    return _form_page(
        request,
        form,
        _("Reset your password"),
        _("Send me a link"),
        _("Enter the email address of your account."),
    )


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "frontend/password_reset_confirm.html"
    success_url = reverse_lazy("frontend:password-reset-done")


def password_reset_done(request: HttpRequest) -> HttpResponse:
    messages.success(request, _("Your password has been changed. You can log in now."))
    return redirect("frontend:login")


@login_required
def account(request: HttpRequest) -> HttpResponse:
    user = user_from_request(request)
    profile_form = ProfileForm(
        request.POST if request.POST.get("action") == "profile" else None,
        initial={
            "display_name": user.display_name,
            "language": user.language,
            "public_identity": user.public_identity,
        },
    )
    token_form = TokenCreateForm(request.POST if request.POST.get("action") == "token" else None)
    new_token = None
    if request.method == "POST":
        if request.POST.get("action") == "profile" and profile_form.is_valid():
            user_update(user=user, data=profile_form.cleaned_data)
            messages.success(request, _("Your profile has been saved."))
            return redirect("frontend:account")
        if request.POST.get("action") == "token" and token_form.is_valid():
            _token, new_token = api_token_create(
                user=user,
                name=token_form.cleaned_data["name"],
                scopes=token_form.cleaned_data["scopes"],
            )
            token_form = TokenCreateForm()
    context = {
        "profile_form": profile_form,
        "token_form": token_form,
        "new_token": new_token,
        "tokens": api_token_list(user=user),
        "membership": membership_active_get(user=user),
        "roles": sorted(user_roles(user=user)),
        "delete_form": AccountDeleteForm(),
    }
    return render(request, "frontend/account.html", context)


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=user_from_request(request))
    with transaction.atomic():
        api_token_revoke(token=token)
    messages.success(request, _("The token has been revoked."))
    return redirect("frontend:account")


@login_required
def account_export(request: HttpRequest) -> HttpResponse:
    response = JsonResponse(
        user_data_export(user=user_from_request(request)),
        json_dumps_params={"indent": 2, "ensure_ascii": False},
    )
    response["Content-Disposition"] = 'attachment; filename="bien-commun-export.json"'
    return response


@login_required
@require_POST
def account_delete(request: HttpRequest) -> HttpResponse:
    form = AccountDeleteForm(request.POST)
    if form.is_valid() and user_from_request(request).check_password(form.cleaned_data["password"]):
        user_delete(user=user_from_request(request))
        logout(request)
        messages.success(
            request,
            _("Your account has been deleted. Your money records remain, without your identity."),
        )
        return redirect("frontend:home")
    messages.error(request, _("The password is wrong; your account was not deleted."))
    return redirect("frontend:account")


logout_view = auth_views.LogoutView.as_view(next_page=reverse_lazy("frontend:home"))
