"""The allowed moves of every state machine in campaigns (see docs/campaigns.md)."""

from common.fsm import StateMachine

from .enums import CampaignStatus as C
from .enums import CriterionStatus as K
from .enums import MilestoneStatus as M
from .enums import PledgeStatus as P
from .enums import WebhookDeliveryStatus as W

campaign_machine = StateMachine(
    "campaign",
    {
        C.DRAFT: [C.IN_REVIEW, C.CANCELLED],
        C.IN_REVIEW: [C.APPROVED, C.CHANGES_REQUESTED, C.CANCELLED],
        C.CHANGES_REQUESTED: [C.IN_REVIEW, C.CANCELLED],
        C.APPROVED: [C.LIVE, C.CANCELLED],
        C.LIVE: [C.SUCCEEDED, C.FAILED, C.CANCELLED],
        C.SUCCEEDED: [C.DISBURSING, C.CANCELLED],
        C.DISBURSING: [C.COMPLETED],
    },
)

pledge_machine = StateMachine(
    "pledge",
    {
        P.PENDING: [P.COMMITTED, P.COLLECTING, P.CANCELLED, P.EXPIRED, P.RELEASED],
        P.COMMITTED: [P.COLLECTING, P.CANCELLED, P.RELEASED],
        P.COLLECTING: [P.COLLECTED, P.CHARGE_FAILED],
        P.CHARGE_FAILED: [P.COLLECTING, P.LAPSED, P.COLLECTED],
        P.COLLECTED: [P.PARTIALLY_REFUNDED, P.REFUNDED],
        P.PARTIALLY_REFUNDED: [P.REFUNDED],
    },
)

milestone_machine = StateMachine(
    "milestone",
    {
        M.PLANNED: [M.REQUESTED],
        M.REQUESTED: [M.APPROVED, M.PAID, M.FAILED],
        M.APPROVED: [M.PAID, M.FAILED],
        M.FAILED: [M.REQUESTED],
    },
)

criterion_machine = StateMachine(
    "criterion",
    {
        K.DECLARED: [K.VERIFIED, K.REJECTED],
        K.VERIFIED: [K.DECLARED],
        K.REJECTED: [K.DECLARED],
    },
)

delivery_machine = StateMachine("webhook delivery", {W.PENDING: [W.DELIVERED, W.FAILED]})
