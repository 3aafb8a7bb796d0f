"""Authorization rows for governance polls and funding rounds.

Everyone reads polls, rounds, published results and files; members (of the poll's frozen
electorate) vote; moderators and the treasurer manage. Auditors read, never write.
"""

from datetime import timedelta

from django.utils import timezone

from tests.authz import Row, everyone, only, signed_in

MANAGERS = ["moderator", "treasurer"]
POLL = "/api/v1/fund/polls/{poll_id}"
ROUND = "/api/v1/fund/rounds/{round_id}"


def _member():
    from .factories import member

    return member()


def _draft_poll(user):
    from .factories import make_poll

    _member()
    return {"poll_id": make_poll().pk}


def _open_poll(user):
    from .factories import open_poll

    _member()
    return {"poll_id": open_poll().pk}


def _running_poll(user):
    """Open, with time left to vote: the role's user is in the electorate if a member."""
    from fund.services.governance import poll_open

    from .factories import make_poll

    _member()
    return {"poll_id": poll_open(poll=make_poll()).pk}


def _closed_poll(user):
    from fund.services.governance import poll_close

    from .factories import open_poll

    _member()
    return {"poll_id": poll_close(poll=open_poll()).pk}


def _published_poll(user):
    from .factories import decided_poll, member

    voter = member()
    return {"poll_id": decided_poll([(voter, {"choice": "yes"})]).pk}


PROJECTS = [("Repair café", 3000), ("Open maps", 2000)]


def _draft_round(user):
    from .factories import make_round

    _member()
    return {"round_id": make_round(projects=PROJECTS, budget=10_000).pk}


def _running_round(user):
    from fund.services.rounds import round_open

    from .factories import make_round

    _member()
    return {"round_id": round_open(round=make_round(projects=PROJECTS, budget=10_000)).pk}


def _open_round(user):
    from .factories import open_round

    _member()
    return {"round_id": open_round(projects=PROJECTS, budget=10_000).pk}


def _closed_round(user):
    from fund.services.rounds import round_close

    from .factories import open_round

    _member()
    return {"round_id": round_close(round=open_round(projects=PROJECTS, budget=10_000)).pk}


def _published_round(user):
    from .factories import funded_round, member

    voter = member()
    return {"round_id": funded_round([(voter, ["1"])], projects=PROJECTS, budget=10_000).pk}


def _window():
    start = timezone.now()
    return {"opens_at": start.isoformat(), "closes_at": (start + timedelta(days=7)).isoformat()}


ROWS = [
    Row("GET", "/api/v1/fund/polls", everyone(200), setup=_open_poll),
    Row(
        "POST",
        "/api/v1/fund/polls",
        only(MANAGERS, 201),
        body=lambda c: {
            "title": "Priorities 2027",
            "method": "majority_judgment",
            "options": ["Digital inclusion", "Open data"],
            "quorum": "1/4",
            **_window(),
        },
    ),
    Row("GET", POLL, everyone(200), setup=_open_poll),
    Row("POST", POLL + "/open", only(MANAGERS, 200), setup=_draft_poll),
    Row("POST", POLL + "/close", only(MANAGERS, 200), setup=_open_poll),
    Row("POST", POLL + "/publish", only(MANAGERS, 200), setup=_closed_poll),
    Row("POST", POLL + "/cancel", only(MANAGERS, 200), setup=_draft_poll),
    Row("GET", POLL + "/ballot", signed_in(200), setup=_running_poll),
    Row(
        "POST",
        POLL + "/ballot",
        only(["member"], 200),
        setup=_running_poll,
        body={"choice": "yes"},
    ),
    Row("GET", POLL + "/results", everyone(200), setup=_published_poll),
    Row("GET", POLL + "/ballot-file", everyone(200), setup=_published_poll),
    Row("GET", "/api/v1/fund/rounds", everyone(200), setup=_open_round),
    Row(
        "POST",
        "/api/v1/fund/rounds",
        only(MANAGERS, 201),
        body=lambda c: {
            "title": "Digital inclusion 2027",
            "currency": "EUR",
            "budget": 5_000_000,
            "min_approvals": 1,
            **_window(),
        },
    ),
    Row("GET", ROUND, everyone(200), setup=_open_round),
    Row("GET", ROUND + "/projects", everyone(200), setup=_open_round),
    Row(
        "POST",
        ROUND + "/projects",
        only(MANAGERS, 201),
        setup=_draft_round,
        body={"name": "Fab lab", "cost": 400_000, "kind": "loan"},
    ),
    Row("POST", ROUND + "/open", only(MANAGERS, 200), setup=_draft_round),
    Row("POST", ROUND + "/close", only(MANAGERS, 200), setup=_open_round),
    Row("POST", ROUND + "/publish", only(MANAGERS, 200), setup=_closed_round),
    Row("POST", ROUND + "/cancel", only(MANAGERS, 200), setup=_draft_round),
    Row("GET", ROUND + "/ballot", signed_in(200), setup=_running_round),
    Row(
        "POST",
        ROUND + "/ballot",
        only(["member"], 200),
        setup=_running_round,
        body={"approved": ["1", "2"]},
    ),
    Row("GET", ROUND + "/results", everyone(200), setup=_published_round),
    Row("GET", ROUND + "/pabulib", everyone(200), setup=_published_round),
]
