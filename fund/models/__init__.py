"""Models of the common fund, one module per part: governance (polls) and funding rounds.

The money side has its own modules: savings, donations, matching and investments.
"""

from .donations import Donation, DonationReceipt, DonationTaxStatus, ReceiptSequence
from .governance import Poll, PollBallot, PollElector, PollEvent, PollOption
from .investments import Investment, InvestmentEvent, LoanInstallment, LoanRepayment
from .matching import MatchCommitment, MatchingRule, QFMatch, QFRound
from .rounds import Round, RoundBallot, RoundElector, RoundEvent, RoundProject
from .savings import FundLock, FundYear, Redemption, RedemptionEvent, Remuneration, SavingsAccount

__all__ = [
    "Donation",
    "DonationReceipt",
    "DonationTaxStatus",
    "FundLock",
    "FundYear",
    "Investment",
    "InvestmentEvent",
    "LoanInstallment",
    "LoanRepayment",
    "MatchCommitment",
    "MatchingRule",
    "Poll",
    "PollBallot",
    "PollElector",
    "PollEvent",
    "PollOption",
    "QFMatch",
    "QFRound",
    "ReceiptSequence",
    "Redemption",
    "RedemptionEvent",
    "Remuneration",
    "Round",
    "RoundBallot",
    "RoundElector",
    "RoundEvent",
    "RoundProject",
    "SavingsAccount",
]
