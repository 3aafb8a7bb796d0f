import pytest
from django.core import mail

from members.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/", "/accounts/signup/", "/accounts/login/", "/accounts/password-reset/"]
)
def test_public_pages_render_in_both_languages(client, path):
    french = client.get(path, HTTP_ACCEPT_LANGUAGE="fr")
    assert french.status_code == 200
    assert '<html lang="fr">' in french.text
    english = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="en">' in english.text


def test_home_is_translated(client):
    assert "Financer le bien commun, ensemble" in client.get("/", HTTP_ACCEPT_LANGUAGE="fr").text
    assert "Fund the common good, together" in client.get("/", HTTP_ACCEPT_LANGUAGE="en").text


def test_language_switch_sticks(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert "Fund the common good, together" in client.get("/", HTTP_ACCEPT_LANGUAGE="fr").text


def test_sandbox_is_marked_plainly(client):
    assert "Sandbox" in client.get("/", HTTP_ACCEPT_LANGUAGE="en").text


def test_web_signup_logs_in(client):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "web@example.org",
            "display_name": "Web",
            "password": "a-long-and-unusual-passphrase",
            "public_identity": "name",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(email="web@example.org").display_name == "Web"
    assert client.get("/account/").status_code == 200


def test_web_signup_shows_errors_and_writes_nothing(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "web@example.org", "password": "short", "public_identity": "name"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "This password is too short" in response.text
    assert User.objects.count() == 0


def test_web_login_and_password_reset(client, make_user, django_capture_on_commit_callbacks):
    make_user(email="login@example.org")
    response = client.post(
        "/accounts/login/",
        {"username": "login@example.org", "password": "correct-horse-battery-staple"},
    )
    assert response.status_code == 302
    client.post("/accounts/logout/")
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            client.post("/accounts/password-reset/", {"email": "login@example.org"}).status_code
            == 302
        )
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    path = link.split("8000", 1)[-1] if "8000" in link else link
    form = client.get(path, follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "another-long-passphrase", "new_password2": "another-long-passphrase"},
    )
    assert done.status_code == 302
    assert client.login(username="login@example.org", password="another-long-passphrase")


def test_account_page_creates_and_revokes_tokens(client, make_user):
    user = make_user()
    client.force_login(user)
    page = client.post("/account/", {"action": "token", "name": "cli", "scopes": ["read:funds"]})
    assert page.status_code == 200
    assert "bc_" in page.text
    token = user.api_tokens.get()
    client.post(f"/account/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None
