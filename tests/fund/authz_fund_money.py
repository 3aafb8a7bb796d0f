"""Authorization rows for the fund's money API: one per operation, every role."""

import datetime as dt
import itertools
from typing import Any

from django.utils import timezone

from tests.authz import Row, everyone, only, signed_in

MANAGERS = ["moderator", "treasurer"]
_keys = itertools.count()


def _someone_else() -> Any:
    from .money_factories import member

    return member()


def _campaign(_user: Any) -> dict[str, Any]:
    from tests.campaigns.factories import live_campaign

    return {"campaign_id": live_campaign().pk}


def _public_project(_user: Any) -> dict[str, Any]:
    from tests.campaigns.factories import live_campaign

    return {"project_id": live_campaign().project_id}


def _saver_with_payout(user: Any) -> dict[str, Any]:
    """The member holds savings and a payout account; other roles hold neither."""
    from .money_factories import connect_payee, subscribe

    if user is not None and user.memberships.filter(status="active").exists():
        subscribe(user, 10_000)
        connect_payee(user)
    return {}


def _redemption(user: Any) -> dict[str, Any]:
    """A member's own redemption; for the other roles, someone else's."""
    from fund.services.savings import redemption_request

    from .money_factories import connect_payee, subscribe

    owner = user if user is not None and user.memberships.filter(status="active").exists() else None
    owner = owner or _someone_else()
    subscribe(owner, 10_000)
    connect_payee(owner)
    return {"redemption_id": redemption_request(user=owner, amount=5_000).pk}


def _receipt(user: Any) -> dict[str, Any]:
    from .money_factories import donate

    donation = donate(user or _someone_else(), 1_000)
    return {"number": donation.receipt.number}


def _draft_poll(_user: Any) -> dict[str, Any]:
    from .factories import make_poll

    return {"poll_id": make_poll().pk}


def _adoptable_rule(_user: Any) -> dict[str, Any]:
    from fund.services.governance import poll_close, poll_publish
    from fund.services.matching import matching_rule_propose

    from .factories import open_poll, vote

    voter = _someone_else()
    poll = open_poll()
    rule = matching_rule_propose(title="1:1", poll=poll, factor=10_000)
    vote(poll, voter, {"choice": "yes"})
    poll_publish(poll=poll_close(poll=poll, now=poll.closes_at))
    return {"rule_id": rule.pk}


def _qf_round(user: Any, *, opened: bool = False, past: bool = False) -> dict[str, Any]:
    from fund.services.qf import qf_round_create, qf_round_open
    from tests.campaigns.factories import live_campaign

    from .money_factories import matching_pool_funded

    matching_pool_funded(10_000)
    now = timezone.now()
    start = now - dt.timedelta(hours=3) if past else now
    qf_round = qf_round_create(
        title="QF",
        currency="EUR",
        pool_amount=10_000,
        campaigns=[live_campaign()],
        opens_at=start,
        closes_at=start + dt.timedelta(hours=2),
    )
    if opened:
        qf_round_open(qf_round=qf_round)
    return {"qf_round_id": qf_round.pk}


def _proposed_grant(_user: Any) -> dict[str, Any]:
    from .money_factories import grants_pool_funded, proposed

    grants_pool_funded(5_000)
    return {"investment_id": proposed("grant", 5_000).pk}


def _loan(*, state: str) -> Any:
    def setup(_user: Any) -> dict[str, Any]:
        from fund.services.investments import loan_default_declare, loans_late_check

        from .money_factories import approved_loan, disbursed, member, person, subscribe

        subscribe(member(), 100_000)
        loan = disbursed(approved_loan(10_000, term_months=2))
        if state in {"late", "defaulted"}:
            loans_late_check(today=timezone.localdate() + dt.timedelta(days=120))
            loan.refresh_from_db()
        if state == "defaulted":
            loan_default_declare(investment=loan, actor=person("treasurer"), reason="silence")
        return {"investment_id": loan.pk}

    return setup


def _published_round(_user: Any) -> dict[str, Any]:
    from .factories import funded_round

    voter = _someone_else()
    round = funded_round([(voter, ["1"])], projects=[("Repair café", 3_000)], budget=5_000)
    return {"round_id": round.pk}


def _grants_pool(_user: Any) -> dict[str, Any]:
    from .money_factories import grants_pool_funded

    grants_pool_funded(5_000)
    return {}


ROWS = [
    # Savings
    Row("GET", "/api/v1/fund/savings", signed_in(200)),
    Row(
        "POST",
        "/api/v1/fund/savings/subscriptions",
        only(["member"], 201),
        body={"amount": 5_000},
    ),
    Row(
        "POST",
        "/api/v1/fund/savings/interest-share",
        only(["member"], 200),
        body={"interest_share": 2_500},
    ),
    Row("GET", "/api/v1/fund/savings/redemptions", signed_in(200)),
    Row(
        "POST",
        "/api/v1/fund/savings/redemptions",
        only(["member"], 201, others=409),
        body={"amount": 1_000},
        setup=_saver_with_payout,
    ),
    Row(
        "POST",
        "/api/v1/fund/savings/redemptions/{redemption_id}/cancel",
        only(["member"], 200, others=404),
        setup=_redemption,
    ),
    Row(
        "POST",
        "/api/v1/fund/savings/redemptions/{redemption_id}/payout",
        only(["member"], 409, others=404),
        setup=_redemption,
    ),
    Row(
        "GET",
        "/api/v1/fund/savings/statements/{year}",
        signed_in(200),
        setup=lambda u: {"year": 2026},
    ),
    # Donations and receipts
    Row("GET", "/api/v1/fund/donations", signed_in(200)),
    Row("POST", "/api/v1/fund/donations", signed_in(201), body={"amount": 1_000}),
    Row("GET", "/api/v1/fund/receipts", signed_in(200)),
    Row("GET", "/api/v1/fund/receipts/{number}", signed_in(200), setup=_receipt),
    # Matchfunding
    Row(
        "GET",
        "/api/v1/fund/match-estimate",
        everyone(200),
        setup=_campaign,
        body=lambda c: {"campaign": c["campaign_id"], "amount": 1_000},
    ),
    Row("GET", "/api/v1/fund/matching-rules", everyone(200)),
    Row(
        "POST",
        "/api/v1/fund/matching-rules",
        only(MANAGERS, 201),
        setup=_draft_poll,
        body=lambda c: {"title": "Double your gift", "poll": c["poll_id"], "factor": 10_000},
    ),
    Row(
        "POST",
        "/api/v1/fund/matching-rules/{rule_id}/adopt",
        only(MANAGERS, 200),
        setup=_adoptable_rule,
    ),
    Row("GET", "/api/v1/fund/qf-rounds", everyone(200)),
    Row(
        "POST",
        "/api/v1/fund/qf-rounds",
        only(MANAGERS, 201),
        setup=_campaign,
        body=lambda c: {
            "title": "Members' round",
            "pool": 10_000,
            "campaigns": [c["campaign_id"]],
            "opens_at": "2030-01-01T10:00:00Z",
            "closes_at": "2030-01-08T10:00:00Z",
        },
    ),
    Row("GET", "/api/v1/fund/qf-rounds/{qf_round_id}", everyone(200), setup=_qf_round),
    Row("POST", "/api/v1/fund/qf-rounds/{qf_round_id}/open", only(MANAGERS, 200), setup=_qf_round),
    Row(
        "POST",
        "/api/v1/fund/qf-rounds/{qf_round_id}/close",
        only(MANAGERS, 200),
        setup=lambda u: _qf_round(u, opened=True, past=True),
    ),
    # Investments
    Row("GET", "/api/v1/fund/investments", everyone(200)),
    Row(
        "POST",
        "/api/v1/fund/investments",
        only(MANAGERS, 201),
        body={"kind": "grant", "title": "Repair café", "amount": 1_000},
    ),
    Row("GET", "/api/v1/fund/investments/{investment_id}", everyone(200), setup=_proposed_grant),
    Row(
        "POST",
        "/api/v1/fund/investments/{investment_id}/approve",
        only(["treasurer"], 200),
        setup=_proposed_grant,
    ),
    Row(
        "POST",
        "/api/v1/fund/investments/{investment_id}/cancel",
        only(["treasurer"], 200),
        setup=_proposed_grant,
        body={"reason": "withdrawn"},
    ),
    Row(
        "POST",
        "/api/v1/fund/investments/{investment_id}/repayments",
        only(["treasurer"], 201),
        setup=_loan(state="disbursed"),
        body={"amount": 1_000, "bank_reference": "VIR-42"},
    ),
    Row(
        "POST",
        "/api/v1/fund/investments/{investment_id}/default",
        only(["treasurer"], 200),
        setup=_loan(state="late"),
        body={"reason": "no answer"},
    ),
    Row(
        "POST",
        "/api/v1/fund/investments/{investment_id}/write-off",
        only(["treasurer"], 200),
        setup=_loan(state="defaulted"),
    ),
    Row(
        "POST",
        "/api/v1/fund/rounds/{round_id}/investments",
        only(MANAGERS, 201),
        setup=_published_round,
    ),
    # Pools and figures
    Row(
        "POST",
        "/api/v1/fund/pool-transfers",
        only(["treasurer"], 201),
        setup=_grants_pool,
        body=lambda c: {
            "source": "grants_pool",
            "target": "matching_pool",
            "amount": 1_000,
            "idempotency_key": f"authz-{next(_keys)}",
        },
    ),
    Row(
        "GET", "/api/v1/fund/projects/{project_id}/tax-status", everyone(200), setup=_public_project
    ),
    Row(
        "PUT",
        "/api/v1/fund/projects/{project_id}/tax-status",
        only(["treasurer"], 200),
        setup=_public_project,
        body={"tax_rate": 7500, "basis": "Free meals for people in need."},
    ),
    Row("GET", "/api/v1/fund/dashboard", everyone(200)),
    Row("GET", "/api/v1/fund/flows", everyone(200)),
    Row("GET", "/api/v1/fund/years", everyone(200)),
]
