"""The state machines of payments, refunds, card setups, the webhook inbox and disbursements."""

from common.fsm import StateMachine

from .enums import (
    DisbursementStatus as D,
)
from .enums import (
    PaymentStatus as P,
)
from .enums import (
    RefundStatus as R,
)
from .enums import (
    SetupStatus as S,
)
from .enums import (
    WebhookEventStatus as W,
)

# A failed attempt can still be completed on the same PaymentIntent (another card, a new
# authentication), so `failed` is not terminal; `canceled` and `refunded` are.
payment_machine = StateMachine(
    "payment",
    {
        P.CREATED: [P.REQUIRES_ACTION, P.PROCESSING, P.SUCCEEDED, P.FAILED, P.CANCELED],
        P.REQUIRES_ACTION: [P.PROCESSING, P.SUCCEEDED, P.FAILED, P.CANCELED],
        P.PROCESSING: [P.SUCCEEDED, P.FAILED, P.CANCELED],
        P.FAILED: [P.REQUIRES_ACTION, P.PROCESSING, P.SUCCEEDED, P.CANCELED],
        P.SUCCEEDED: [P.PARTIALLY_REFUNDED, P.REFUNDED],
        P.PARTIALLY_REFUNDED: [P.PARTIALLY_REFUNDED, P.REFUNDED],
    },
)

refund_machine = StateMachine(
    "refund",
    {R.PENDING: [R.SUCCEEDED, R.FAILED]},
)

setup_machine = StateMachine(
    "card setup",
    {
        S.CREATED: [S.REQUIRES_ACTION, S.SUCCEEDED, S.FAILED],
        S.REQUIRES_ACTION: [S.SUCCEEDED, S.FAILED],
        S.FAILED: [S.REQUIRES_ACTION, S.SUCCEEDED],
    },
)

webhook_machine = StateMachine(
    "webhook event",
    {
        W.RECEIVED: [W.PROCESSING],
        # A worker that died mid-way leaves `processing`; its lease lets another take over.
        W.PROCESSING: [W.PROCESSED, W.FAILED, W.PROCESSING],
        W.FAILED: [W.PROCESSING],
        # Replaying a processed event (the replay command) runs it again; processing is idempotent.
        W.PROCESSED: [W.PROCESSING],
    },
)

disbursement_machine = StateMachine(
    "disbursement",
    {
        D.REQUESTED: [D.APPROVED, D.REJECTED],
        # Approved but refused before anything was sent (the source cannot cover it).
        D.APPROVED: [D.SUBMITTED, D.FAILED],
        D.SUBMITTED: [D.PAID, D.FAILED],
    },
)
