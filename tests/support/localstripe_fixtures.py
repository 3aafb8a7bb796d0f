"""Pytest fixtures that run the localstripe Stripe emulator with the test-only extension.

Load them from a conftest (or a test module)::

    pytest_plugins = ["tests.support.localstripe_fixtures"]

``localstripe`` (session) starts one emulator per test process (per xdist worker) on a
free port of 127.0.0.1; ``stripe_client`` gives a ``stripe.StripeClient`` aimed at it;
``stripe_module_configured`` points the module-level ``stripe`` API at it for one test
and restores the previous values afterwards. See docs/localstripe.md.

PYTEST_DONT_REWRITE: plain helpers, imported by test modules as well as loaded as a plugin.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import stripe

REPO_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk_test_localstripe"
PUBLISHABLE_KEY = "pk_test_localstripe"
STARTUP_TIMEOUT_SECONDS = 20.0
IN_CI = os.environ.get("CI") == "true"

# Requests to the emulator never go through an HTTP proxy from the environment.
_direct_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LocalStripeUnavailableError(RuntimeError):
    """The emulator did not start."""


class LocalStripeRequestError(RuntimeError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"localstripe answered {status}: {body}")
        self.status = status
        self.body = body


def _direct_http_client() -> stripe.HTTPClient:
    try:
        import requests
    except ImportError:  # the SDK falls back on urllib, which honours no_proxy as well
        return stripe.new_default_http_client()
    session = requests.Session()
    session.trust_env = False
    return stripe.RequestsClient(session=session)


@dataclass(frozen=True)
class LocalStripe:
    """A running emulator: its base URL and the test controls it offers."""

    url: str
    log_path: Path
    api_key: str = API_KEY
    publishable_key: str = PUBLISHABLE_KEY

    @property
    def js_url(self) -> str:
        """The fake Stripe.js, a stand-in for https://js.stripe.com/v3/."""
        return f"{self.url}/js.stripe.com/v3/"

    def client(self, *, max_network_retries: int = 0) -> stripe.StripeClient:
        """A StripeClient aimed at the emulator; nothing global is changed."""
        return stripe.StripeClient(
            self.api_key,
            base_addresses={"api": self.url, "connect": self.url, "files": self.url},
            max_network_retries=max_network_retries,
            http_client=_direct_http_client(),
        )

    # --- webhooks -------------------------------------------------------------------

    def register_webhook(
        self,
        url: str,
        secret: str,
        *,
        events: list[str] | None = None,
        name: str | None = None,
    ) -> str:
        """Have every event (or the listed types) POSTed, signed with ``secret``, to ``url``.

        Returns the endpoint's name; registering a name again replaces the endpoint.
        """
        name = name or "endpoint_" + secrets.token_hex(6)
        payload: dict[str, Any] = {"url": url, "secret": secret}
        if events is not None:
            payload["events"] = list(events)
        self._request("POST", f"/_config/webhooks/{name}", payload)
        return name

    def unregister_webhook(self, name: str) -> None:
        self._request("DELETE", f"/_config/webhooks/{name}")

    @contextlib.contextmanager
    def webhook(self, url: str, secret: str, *, events: list[str] | None = None) -> Iterator[str]:
        """A webhook endpoint registered for the duration of a ``with`` block."""
        name = self.register_webhook(url, secret, events=events)
        try:
            yield name
        finally:
            self.unregister_webhook(name)

    # --- test controls ----------------------------------------------------------------

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        """What following the account link does: the account becomes able to receive transfers."""
        return self._request("POST", f"/_config/connect/accounts/{account_id}/complete_onboarding")

    def authenticate_payment_intent(
        self, payment_intent_id: str, client_secret: str, *, success: bool = True
    ) -> dict[str, Any]:
        """Answer a PaymentIntent's 3D Secure challenge, as the fake Stripe.js's modal does."""
        return self._request(
            "POST",
            f"/v1/payment_intents/{payment_intent_id}/_authenticate"
            f"?success={'true' if success else 'false'}",
            {"key": self.publishable_key, "client_secret": client_secret},
        )

    def set_platform_balance(self, available: dict[str, int] | None) -> None:
        """Track the platform's available balance (e.g. ``{"eur": 5000}``); None stops tracking.

        While tracked, a transfer without ``source_transaction`` that exceeds it fails with
        ``balance_insufficient``; transfers debit it and reversals credit it back.
        """
        if available is None:
            self._request("DELETE", "/_config/connect/platform_balance")
        else:
            self._request("POST", "/_config/connect/platform_balance", {"available": available})

    def set_fees(self, *, percent_basis_points: int = 0, fixed: int = 0) -> None:
        """Fee booked on later charges' balance transactions: amount × bp / 10000 + fixed."""
        self._request(
            "POST", "/_config/fees", {"percent_basis_points": percent_basis_points, "fixed": fixed}
        )

    def flush(self) -> None:
        """Delete every object (webhook endpoints and fee settings stay)."""
        self._request("DELETE", "/_config/data")

    def _request(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with _direct_opener.open(request, timeout=10) as response:
                body = response.read().decode()
        except urllib.error.HTTPError as error:
            raise LocalStripeRequestError(error.code, error.read().decode()) from error
        return json.loads(body) if body.strip() else None


def _log_tail(log_path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_until_ready(
    process: subprocess.Popen[bytes], ready_file: Path, log_path: Path, timeout: float
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalStripeUnavailableError(
                f"localstripe exited with status {process.returncode}:\n{_log_tail(log_path)}"
            )
        if ready_file.exists():
            url = ready_file.read_text().strip()
            try:
                with _direct_opener.open(url + "/js.stripe.com/v3/", timeout=2) as response:
                    if response.status == 200:
                        return url
            except OSError:
                pass
        time.sleep(0.05)
    raise LocalStripeUnavailableError(
        f"localstripe did not answer within {timeout:.0f} s:\n{_log_tail(log_path)}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextlib.contextmanager
def running_localstripe(*, timeout: float = STARTUP_TIMEOUT_SECONDS) -> Iterator[LocalStripe]:
    """Start an emulator in a subprocess, yield it once it answers, stop it afterwards.

    Raises LocalStripeUnavailableError when it cannot start.
    """
    workdir = Path(tempfile.mkdtemp(prefix="localstripe-"))
    ready_file = workdir / "url"
    log_path = workdir / "localstripe.log"
    command = [
        sys.executable,
        "-m",
        "tests.support.localstripe_server",
        "--port",
        "0",
        "--ready-file",
        str(ready_file),
        "--exit-with-parent",
    ]
    try:
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
    except OSError as error:
        shutil.rmtree(workdir, ignore_errors=True)
        raise LocalStripeUnavailableError(f"cannot run {sys.executable}: {error}") from error
    try:
        url = _wait_until_ready(process, ready_file, log_path, timeout)
        yield LocalStripe(url=url, log_path=log_path)
    finally:
        _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def require_or_skip(reason: str) -> None:
    """Under CI=true a missing test service is a failure; elsewhere a skip that says why."""
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def localstripe() -> Iterator[LocalStripe]:
    reason = None
    try:
        with running_localstripe() as server:
            yield server
    except LocalStripeUnavailableError as error:
        reason = f"localstripe could not start: {error}"
    if reason is not None:
        require_or_skip(reason)


@pytest.fixture
def stripe_client(localstripe: LocalStripe) -> stripe.StripeClient:
    return localstripe.client()


_MODULE_SETTINGS = (
    "api_key",
    "api_base",
    "connect_api_base",
    "upload_api_base",
    "max_network_retries",
    "default_http_client",
)


@contextlib.contextmanager
def stripe_module_pointed_at(server: LocalStripe) -> Iterator[None]:
    """Point the module-level ``stripe`` API (``stripe.Customer.create``...) at the emulator."""
    saved = {name: getattr(stripe, name) for name in _MODULE_SETTINGS}
    stripe.api_key = server.api_key
    stripe.api_base = server.url
    stripe.connect_api_base = server.url
    stripe.upload_api_base = server.url
    stripe.max_network_retries = 0
    stripe.default_http_client = _direct_http_client()
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(stripe, name, value)


@pytest.fixture
def stripe_module_configured(localstripe: LocalStripe) -> Iterator[LocalStripe]:
    with stripe_module_pointed_at(localstripe):
        yield localstripe
