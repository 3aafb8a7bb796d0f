"""Pages for the common fund's governance: strategy polls, funding rounds and their results.

They work without JavaScript: ballots are plain forms (radio groups in fieldsets, checkboxes),
posted and redirected back. The pages never say who voted what.
"""

from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from common.errors import ApplicationError
from common.money import format_money
from fund.enums import Grade, PollMethod, PollStatus, ResolutionChoice, RoundStatus
from fund.exceptions import InvalidBallotError
from fund.models import Poll, Round
from fund.selectors.governance import poll_ballot_status, poll_get, poll_list, poll_turnout
from fund.selectors.rounds import (
    round_ballot_status,
    round_get,
    round_list,
    round_projects,
    round_turnout,
)
from fund.services.governance import poll_ballot_submit
from fund.services.rounds import round_ballot_submit

# Grades shown from the best to the worst, as on a paper ballot.
GRADES_BEST_FIRST = sorted(Grade, key=lambda g: -g.value)


def percent(
    share: str | Fraction | None,
    places: int = 1,
    *,
    rounding: str = ROUND_HALF_EVEN,
    signed: bool = False,
) -> str:
    """An exact share shown as a rounded percentage (the exact fraction is shown alongside)."""
    if share is None:
        return "—"
    value = Fraction(share) * 100
    decimal = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal(1).scaleb(-places), rounding=rounding
    )
    sign = "+" if signed and decimal > 0 else ""
    return f"{sign}{number_format(decimal, decimal_pos=places)}\u00a0%"


def _turnout(size: int, voted: int) -> dict[str, Any]:
    return {
        "electorate": size,
        "voted": voted,
        "percent": percent(Fraction(voted, size)) if size else "—",
    }


# ---------------------------------------------------------------------------------------------
# Polls


def poll_list_page(request: HttpRequest) -> HttpResponse:
    polls = list(poll_list(user=request.user)[:200])
    groups = [
        (_("Open votes"), [p for p in polls if p.status == PollStatus.OPEN]),
        (_("Decided"), [p for p in polls if p.status == PollStatus.PUBLISHED]),
        (_("Being counted"), [p for p in polls if p.status == PollStatus.CLOSED]),
        (_("Coming up"), [p for p in polls if p.status == PollStatus.DRAFT]),
    ]
    return render(
        request, "frontend/fund/poll_list.html", {"groups": groups, "has_any": bool(polls)}
    )


def _poll_or_404(request: HttpRequest, poll_id: int) -> Poll:
    poll = poll_get(poll_id=poll_id, user=request.user)
    if poll is None:
        raise Http404
    return poll


def _ballot_from_form(poll: Poll, data: Any) -> dict[str, Any]:
    if poll.method == PollMethod.RESOLUTION:
        choice = data.get("choice")
        if choice is None:
            raise InvalidBallotError(_("Choose yes, no or abstain."))
        return {"choice": choice}
    if poll.method == PollMethod.MAJORITY_JUDGMENT:
        grades: dict[str, int] = {}
        for option in poll.options.all():
            value = data.get(f"grade-{option.code}")
            if value is None or value == "":
                continue  # left blank: graded Reject
            if not value.isdigit():
                raise InvalidBallotError(_("A grade is not valid."))
            grades[option.code] = int(value)
        return {"grades": grades}
    return {"approved": data.getlist("approved")}


def poll_detail_page(request: HttpRequest, poll_id: int) -> HttpResponse:
    poll = _poll_or_404(request, poll_id)
    status = 200
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            poll_ballot_submit(
                poll=poll, user=request.user, ballot=_ballot_from_form(poll, request.POST)
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            status = exc.status_code
        else:
            messages.success(request, _("Your ballot is recorded."))
            return redirect("frontend:poll-detail", poll_id=poll.pk)
    state = poll_ballot_status(poll=poll, user=request.user)
    ballot = state.ballot or {}
    options = []
    for index, option in enumerate(poll.options.all()):
        grades = ballot.get("grades")
        options.append(
            {
                "code": option.code,
                "label": option.label,
                "description": option.description,
                "grade": grades[index] if grades else None,
                "approved": option.code in ballot.get("approved", []),
            }
        )
    context = {
        "poll": poll,
        "options": options,
        "grades": GRADES_BEST_FIRST,
        "choices": ResolutionChoice.choices,
        "current_choice": ballot.get("choice"),
        "state": state,
        "can_vote": state.in_electorate and poll.status == PollStatus.OPEN,
        "turnout": _turnout(poll.electorate_size, poll_turnout(poll=poll)),
        "quorum": percent(poll.quorum),
        "threshold": percent(poll.threshold),
    }
    response = render(request, "frontend/fund/poll_detail.html", context)
    response.status_code = status
    return response


def _option_labels(poll: Poll) -> dict[str, str]:
    if poll.method == PollMethod.RESOLUTION:
        return {"yes": _("Yes")}
    return {option.code: option.label for option in poll.options.all()}


def _grade_label(value: int | None) -> str:
    return str(Grade(value).label) if value is not None else ""


def poll_results_page(request: HttpRequest, poll_id: int) -> HttpResponse:
    poll = _poll_or_404(request, poll_id)
    if not poll.has_results or poll.result is None:
        return render(request, "frontend/fund/poll_results.html", {"poll": poll, "result": None})
    result: dict[str, Any] = poll.result
    labels = _option_labels(poll)
    context: dict[str, Any] = {
        "poll": poll,
        "result": result,
        "turnout": _turnout(result["electorate"], result["ballots"]),
        "quorum": percent(result["quorum"]),
        "winners": [labels[w] for w in result["winners"]],
        "ranking": [[labels[o] for o in group] for group in result.get("ranking", [])],
        "ballot_file_url": reverse("fund:poll-ballot-file", kwargs={"poll_id": poll.pk}),
        "results_url": reverse("fund:poll-results", kwargs={"poll_id": poll.pk}),
        "command": f"python manage.py fund_poll_retally poll-{poll.pk}-ballots.jsonl "
        f"--result poll-{poll.pk}-results.json",
    }
    if poll.method == PollMethod.RESOLUTION:
        context["yes_share"] = percent(result["yes_share"])
        context["threshold"] = percent(result["threshold"])
    elif poll.method == PollMethod.MAJORITY_JUDGMENT:
        step = (
            next(s for s in result["steps"] if s["kind"] == "grades") if result["ballots"] else None
        )
        rows = []
        for tally in step["options"] if step else []:
            rows.append(
                {
                    "label": labels[tally["option"]],
                    "counts": list(reversed(tally["histogram"])),
                    "median": _grade_label(tally["median"]),
                    "p": percent(tally["p"]),
                    "q": percent(tally["q"]),
                    "gauge": percent(tally["gauge"], signed=True),
                    "gauge_exact": tally["gauge"],
                }
            )
        context["grade_labels"] = [str(g.label) for g in GRADES_BEST_FIRST]
        context["rows"] = rows
        context["decisions"] = [
            {
                "better": labels[s["better"]],
                "worse": labels[s["worse"]],
                "level": s["level"],
                "step": s["step"],
                "better_grade": _grade_label(s["better_grade"]),
                "worse_grade": _grade_label(s["worse_grade"]),
            }
            for s in result["steps"]
            if s["kind"] == "comparison"
        ]
    else:
        context["approvals"] = [
            {
                "label": labels[code],
                "count": count,
                "percent": percent(Fraction(count, result["ballots"]))
                if result["ballots"]
                else "—",
            }
            for code, count in result["approvals"].items()
        ]
    return render(request, "frontend/fund/poll_results.html", context)


# ---------------------------------------------------------------------------------------------
# Funding rounds


def round_list_page(request: HttpRequest) -> HttpResponse:
    rounds = list(round_list(user=request.user)[:200])
    groups = [
        (_("Open for approval"), [r for r in rounds if r.status == RoundStatus.OPEN]),
        (_("Funded"), [r for r in rounds if r.status == RoundStatus.PUBLISHED]),
        (_("Being counted"), [r for r in rounds if r.status == RoundStatus.CLOSED]),
        (_("Coming up"), [r for r in rounds if r.status == RoundStatus.DRAFT]),
    ]
    for _label, items in groups:
        for item in items:
            item.budget_display = format_money(item.budget, item.currency)  # type: ignore[attr-defined]
    return render(
        request, "frontend/fund/round_list.html", {"groups": groups, "has_any": bool(rounds)}
    )


def _round_or_404(request: HttpRequest, round_id: int) -> Round:
    round = round_get(round_id=round_id, user=request.user)
    if round is None:
        raise Http404
    return round


def round_detail_page(request: HttpRequest, round_id: int) -> HttpResponse:
    round = _round_or_404(request, round_id)
    status = 200
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            round_ballot_submit(
                round=round, user=request.user, approved=request.POST.getlist("approved")
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            status = exc.status_code
        else:
            messages.success(request, _("Your ballot is recorded."))
            return redirect("frontend:round-detail", round_id=round.pk)
    state = round_ballot_status(round=round, user=request.user)
    approved = set((state.ballot or {}).get("approved", []))
    if request.method == "POST" and status != 200:
        approved = set(request.POST.getlist("approved"))
    projects = [
        {
            "code": p.code,
            "name": p.name,
            "description": p.description,
            "cost": format_money(p.cost, round.currency),
            "kind": p.get_kind_display(),
            "approved": p.code in approved,
        }
        for p in round_projects(round=round)
    ]
    context = {
        "round": round,
        "projects": projects,
        "budget": format_money(round.budget, round.currency),
        "state": state,
        "can_vote": state.in_electorate and round.status == RoundStatus.OPEN,
        "turnout": _turnout(round.electorate_size, round_turnout(round=round)),
    }
    response = render(request, "frontend/fund/round_detail.html", context)
    response.status_code = status
    return response


def _support(share: str) -> str:
    # Rounded down: a project short of its cost never shows 100 %.
    return percent(share, rounding=ROUND_FLOOR)


def _units(amount: int | str | Fraction, round: Round) -> str:
    """Whole currency units of the allocation, shown as money."""
    value = Fraction(amount) * round.unit
    if value.denominator == 1:
        return format_money(int(value), round.currency)
    return format_money(int(value), round.currency) + "…"  # truncated; the exact value is shown


def round_results_page(request: HttpRequest, round_id: int) -> HttpResponse:
    round = _round_or_404(request, round_id)
    if not round.has_results or round.result is None:
        return render(request, "frontend/fund/round_results.html", {"round": round, "result": None})
    result: dict[str, Any] = round.result
    projects = {p.code: p for p in round_projects(round=round)}

    def names(codes: list[str]) -> list[str]:
        return [projects[c].name for c in codes]

    winners = [
        {
            "rank": n,
            "name": projects[code].name,
            "kind": projects[code].get_kind_display(),
            "cost": format_money(projects[code].cost, round.currency),
            "approvals": result["approvals"][code],
            "support": _support(result["effective_support"].get(code, "0")),
            "support_exact": result["effective_support"].get(code, "0"),
            "by": _("completion")
            if code in result["completion"]
            else (_("Method of Equal Shares") if code in result["mes_selected"] else _("greedy")),
        }
        for n, code in enumerate(result["selected"], 1)
    ]
    others = [
        {
            "name": p.name,
            "cost": format_money(p.cost, round.currency),
            "approvals": result["approvals"][p.code],
            "support": _support(result["effective_support"].get(p.code, "0")),
            "support_exact": result["effective_support"].get(p.code, "0"),
        }
        for p in projects.values()
        if p.code not in set(result["selected"])
    ]
    comparison = [
        (
            _("Official: Method of Equal Shares + Add1"),
            names(result["selected"]),
            _units(result["total_cost"], round),
        ),
        (
            _("Greedy (most approvals first)"),
            names(result["greedy"]["selected"]),
            _units(result["greedy"]["total_cost"], round),
        ),
        (
            _("Sequential Phragmén"),
            names(result["phragmen"]["selected"]),
            _units(result["phragmen"]["total_cost"], round),
        ),
    ]
    context = {
        "round": round,
        "result": result,
        "winners": winners,
        "others": others,
        "comparison": comparison,
        "budget": _units(result["budget"], round),
        "total_cost": _units(result["total_cost"], round),
        "endowment": _units(result["endowment"], round),
        "initial_endowment": _units(result["initial_endowment"], round),
        "turnout": _turnout(round.electorate_size, result["num_voters"]),
        "tie_order": names(result["tie_breaking"]["order"]),
        "pb_url": reverse("fund:round-pabulib", kwargs={"round_id": round.pk}),
        "results_url": reverse("fund:round-results", kwargs={"round_id": round.pk}),
        "command": f"python manage.py fund_round_allocate round-{round.pk}.pb "
        f"--result round-{round.pk}-results.json",
    }
    return render(request, "frontend/fund/round_results.html", context)


urlpatterns = [
    path("votes/", poll_list_page, name="poll-list"),
    path("votes/<int:poll_id>/", poll_detail_page, name="poll-detail"),
    path("votes/<int:poll_id>/results/", poll_results_page, name="poll-results"),
    path("rounds/", round_list_page, name="round-list"),
    path("rounds/<int:round_id>/", round_detail_page, name="round-detail"),
    path("rounds/<int:round_id>/results/", round_results_page, name="round-results"),
]
