"""Outgoing webhooks for project leads: signed events, retried deliveries, a log and replays.

Body: {"id", "type", "created", "data"}, compact JSON. Header
`BienCommun-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`.
Addresses that resolve to private, loopback, link-local, multicast or reserved networks are
refused, at registration and again at each delivery (the connection goes to the address that
was checked, so a DNS answer cannot change between the check and the request).
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.queue import enqueue_on_commit

from .enums import WebhookDeliveryStatus, WebhookEventType
from .exceptions import WebhookEndpointError
from .machines import delivery_machine
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "BienCommun-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300
USER_AGENT = "BienCommun-Webhooks/1.0"


class AddressRefusedError(Exception):
    """The address is not a public one."""


# --- signing ----------------------------------------------------------------------------------


def secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature_compute(secret: str, body: str, timestamp: int) -> str:
    message = f"{timestamp}.{body}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: str, timestamp: int) -> str:
    return f"t={timestamp},v1={signature_compute(secret, body, timestamp)}"


def signature_verify(
    secret: str,
    body: str | bytes,
    header: str,
    *,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
    now: int | None = None,
) -> bool:
    """What a receiver does: recompute the HMAC and compare in constant time."""
    text = body.decode() if isinstance(body, bytes) else body
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now if now is not None else int(time.time())) - timestamp) > tolerance:
        return False
    expected = signature_compute(secret, text, timestamp)
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- addresses --------------------------------------------------------------------------------


def ip_is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_global
        and not (
            ip.is_private
            or ip.is_loopback
            or ip.is_link_local
            or ip.is_multicast
            or ip.is_reserved
            or ip.is_unspecified
        )
    )


def _allow_private() -> bool:
    return bool(settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE)


def address_resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address the host resolves to; refused unless all of them are public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefusedError(f"cannot resolve {host}") from exc
    addresses = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]
        addresses.append(ipaddress.ip_address(raw))
    if not addresses:
        raise AddressRefusedError(f"{host} has no address")
    refused = [str(a) for a in addresses if not ip_is_public(a)]
    if refused:
        raise AddressRefusedError(f"{host} resolves to a non-public address ({refused[0]})")
    return addresses


def webhook_url_check(url: str) -> str:
    """Refuse an endpoint address that is malformed, not https, or not public."""
    parts = urlsplit(url.strip())
    allow_private = _allow_private()
    schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in schemes or not parts.hostname:
        raise WebhookEndpointError(
            "The address must be an https URL.", fields={"url": ["Use an https:// address."]}
        )
    if parts.username or parts.password:
        raise WebhookEndpointError(
            "Credentials in the address are not allowed.",
            fields={"url": ["Remove the user name and password from the address."]},
        )
    if not allow_private:
        try:
            address_resolve(parts.hostname, parts.port or 443)
        except AddressRefusedError as exc:
            raise WebhookEndpointError(
                f"This address is refused: {exc}.",
                fields={"url": ["Webhooks are only sent to public internet addresses."]},
            ) from exc
    return urlunsplit(parts)


# --- endpoints --------------------------------------------------------------------------------


def webhook_event_types_clean(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(WebhookEventType.values))
    if unknown:
        raise WebhookEndpointError(
            "Unknown event types.", fields={"event_types": [f"Unknown: {t}" for t in unknown]}
        )
    return sorted(set(event_types))


def webhook_endpoint_create(
    *,
    project: Any,
    actor: Any,
    url: str,
    description: str = "",
    event_types: list[str] | None = None,
) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        project=project,
        url=webhook_url_check(url),
        secret=secret_new(),
        description=description,
        event_types=webhook_event_types_clean(event_types or []),
        created_by=actor,
    )


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, data: dict[str, Any]) -> WebhookEndpoint:
    fields = []
    if "url" in data:
        endpoint.url = webhook_url_check(data["url"])
        fields.append("url")
    if "event_types" in data:
        endpoint.event_types = webhook_event_types_clean(data["event_types"])
        fields.append("event_types")
    for name in ("description", "is_active"):
        if name in data:
            setattr(endpoint, name, data[name])
            fields.append(name)
    if data.get("roll_secret"):
        endpoint.secret = secret_new()
        fields.append("secret")
    if fields:
        endpoint.save(update_fields=fields)
    return endpoint


# --- events -----------------------------------------------------------------------------------


def event_body(event_id: str, event_type: str, data: dict[str, Any], created: int) -> str:
    return json.dumps(
        {"id": event_id, "type": event_type, "created": created, "data": data},
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )


def webhook_event_emit(
    *,
    project_id: int,
    event_type: str,
    data: dict[str, Any],
    endpoints: list[WebhookEndpoint] | None = None,
) -> list[WebhookDelivery]:
    """Queue one event for the project's endpoints that want it; sent after commit."""
    if endpoints is None:
        endpoints = list(WebhookEndpoint.objects.filter(project_id=project_id, is_active=True))
    targets = [e for e in endpoints if e.wants(event_type) or event_type == WebhookEventType.PING]
    if not targets:
        return []
    event_id = "evt_" + secrets.token_hex(12)
    body = event_body(event_id, event_type, data, int(time.time()))
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=e, event_id=event_id, event_type=event_type, body=body)
        for e in targets
    )
    for delivery in deliveries:
        enqueue_on_commit(_deliver_task(), delivery.pk)
    return deliveries


def webhook_endpoint_ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    with transaction.atomic():
        (delivery,) = webhook_event_emit(
            project_id=endpoint.project_id,
            event_type=WebhookEventType.PING,
            data={"endpoint_id": endpoint.pk, "project_id": endpoint.project_id},
            endpoints=[endpoint],
        )
    return delivery


def webhook_delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the same event (same id and body, freshly signed) again."""
    with transaction.atomic():
        replay = WebhookDelivery.objects.create(
            endpoint_id=delivery.endpoint_id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            body=delivery.body,
            replay_of=delivery,
        )
        enqueue_on_commit(_deliver_task(), replay.pk)
    return replay


def _deliver_task() -> Any:
    from .tasks import webhook_deliver

    return webhook_deliver


# --- delivery ---------------------------------------------------------------------------------


def retry_delay(attempt: int) -> timedelta:
    """Bounded exponential backoff after the attempt-th failure."""
    base = int(settings.OUTGOING_WEBHOOKS_RETRY_BASE_SECONDS)
    cap = int(settings.OUTGOING_WEBHOOKS_RETRY_MAX_SECONDS)
    return timedelta(seconds=min(base * 2 ** max(attempt - 1, 0), cap))


def _send(url: str, body: str, headers: dict[str, str]) -> httpx.Response:
    timeout = httpx.Timeout(float(settings.OUTGOING_WEBHOOKS_TIMEOUT_SECONDS), connect=3.0)
    parts = urlsplit(url)
    host = parts.hostname or ""
    request_url = url
    extensions: dict[str, Any] = {}
    if not _allow_private():
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = address_resolve(host, port)[0]
        literal = f"[{address}]" if address.version == 6 else str(address)
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        request_url = urlunsplit(parts._replace(netloc=netloc))
        headers = {**headers, "Host": parts.netloc}
        if parts.scheme == "https":
            extensions["sni_hostname"] = host
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        request = client.build_request(
            "POST", request_url, content=body.encode(), headers=headers, extensions=extensions
        )
        return client.send(request)


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery | None:
    """One attempt at one delivery; schedules the next attempt or gives up."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDeliveryStatus.PENDING:
        return delivery
    attempt = delivery.attempts + 1
    lease = timezone.now() + timedelta(seconds=settings.OUTGOING_WEBHOOKS_TIMEOUT_SECONDS + 60)
    # Claim this attempt: a second worker holding the same task finds the count moved.
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDeliveryStatus.PENDING, attempts=delivery.attempts
    ).update(attempts=attempt, next_attempt_at=lease)
    if not claimed:
        return delivery
    endpoint = delivery.endpoint
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(endpoint.secret, delivery.body, timestamp),
        "BienCommun-Event-Id": delivery.event_id,
        "BienCommun-Event-Type": delivery.event_type,
        "BienCommun-Delivery-Id": str(delivery.pk),
    }
    status_code: int | None = None
    error = ""
    permanent = False
    started = time.monotonic()
    started_at = timezone.now()
    try:
        response = _send(endpoint.url, delivery.body, headers)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except AddressRefusedError as exc:
        error = f"refused: {exc}"
        permanent = True
    except httpx.HTTPError as exc:
        error = f"{exc.__class__.__name__}: {exc}"[:500]
    latency_ms = int((time.monotonic() - started) * 1000)
    ok = status_code is not None and not error
    max_attempts = int(settings.OUTGOING_WEBHOOKS_MAX_ATTEMPTS)
    now = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=attempt,
            started_at=started_at,
            status_code=status_code,
            latency_ms=latency_ms,
            error=error[:500],
        )
        common: dict[str, Any] = {
            "last_status_code": status_code,
            "last_latency_ms": latency_ms,
            "last_error": error[:500],
        }
        if ok:
            delivery_machine.compare_and_set(
                WebhookDelivery.objects.all(),
                pk=delivery.pk,
                source=WebhookDeliveryStatus.PENDING,
                target=WebhookDeliveryStatus.DELIVERED,
                delivered_at=now,
                **common,
            )
        elif permanent or attempt >= max_attempts:
            delivery_machine.compare_and_set(
                WebhookDelivery.objects.all(),
                pk=delivery.pk,
                source=WebhookDeliveryStatus.PENDING,
                target=WebhookDeliveryStatus.FAILED,
                **common,
            )
        else:
            delay = retry_delay(attempt)
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                next_attempt_at=now + delay, **common
            )
            transaction.on_commit(lambda: _schedule_retry(delivery.pk, delay))
    delivery.refresh_from_db()
    return delivery


def _schedule_retry(delivery_id: int, delay: timedelta) -> None:
    task = _deliver_task()
    try:
        task.apply_async(args=[delivery_id], countdown=int(delay.total_seconds()))
    except Exception as exc:  # the broker is down: the sweeper finds the delivery due
        if task.app.conf.task_always_eager:
            raise
        logger.warning(
            "webhook retry for delivery %s deferred to the sweeper: %s", delivery_id, exc
        )
