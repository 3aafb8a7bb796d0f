from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

from common.errors import ApplicationError


class FundError(ApplicationError):
    """Default messages are translated when raised, into the language of the request."""

    code = "fund_error"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message or gettext(self.default_message), **kwargs)


class GovernanceError(FundError):
    code = "governance_error"


class InvalidBallotError(GovernanceError):
    code = "invalid_ballot"
    default_message = _("This ballot is not valid.")


class VotingClosedError(GovernanceError):
    code = "voting_closed"
    status_code = 409
    default_message = _("Voting is not open.")


class NotInElectorateError(GovernanceError):
    code = "not_in_electorate"
    status_code = 403
    default_message = _(
        "You are not in the electorate of this vote: it was fixed when voting opened."
    )


class StillRunningError(GovernanceError):
    code = "still_running"
    status_code = 409
    default_message = _("Voting is still running: it closes at the end of its window.")


class WindowOverError(GovernanceError):
    code = "window_over"
    status_code = 409
    default_message = _("The voting window is already over.")


class EmptyElectorateError(GovernanceError):
    code = "empty_electorate"
    status_code = 409
    default_message = _("There is no member to vote.")


class ResultsNotPublishedError(GovernanceError):
    code = "results_not_published"
    status_code = 409
    default_message = _("The results are published when voting has closed and been counted.")


class RoundError(FundError):
    code = "round_error"


class RoundNotEditableError(RoundError):
    code = "round_not_editable"
    status_code = 409
    default_message = _("Projects can be changed only while the round is a draft.")


class WholeUnitsError(RoundError):
    code = "whole_units_required"
    default_message = _("Round budgets and project costs are whole currency units (no cents).")


class InvestmentAlreadyLinkedError(RoundError):
    code = "investment_already_linked"
    status_code = 409
    default_message = _("This project is already linked to an investment.")
