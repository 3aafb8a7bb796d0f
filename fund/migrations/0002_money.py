"""The fund's money: savings, redemptions, donations and receipts, matching, investments.

PostgreSQL also keeps the impartible reserve whole: a posting that debits it is refused unless
its entry absorbs a loss (a loan written off, or a year's loss). The posting service refuses it
too, which is what protects SQLite.
"""

import django.db.models.deletion
import django.db.models.expressions
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

FORWARD = r"""
CREATE OR REPLACE FUNCTION fund_impartible_reserve_kept() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entry_kind text;
BEGIN
    IF NEW.side = 'debit' AND EXISTS (
        SELECT 1 FROM ledger_account WHERE id = NEW.account_id AND purpose = 'impartible_reserve'
    ) THEN
        SELECT kind INTO entry_kind FROM ledger_journalentry WHERE id = NEW.entry_id;
        IF entry_kind NOT IN ('loan_write_off', 'reserve_allocation') THEN
            RAISE EXCEPTION 'the impartible reserve is never distributed: a % entry cannot debit it',
                entry_kind USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER fund_impartible_reserve_kept AFTER INSERT ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fund_impartible_reserve_kept();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS fund_impartible_reserve_kept ON ledger_posting;
DROP FUNCTION IF EXISTS fund_impartible_reserve_kept();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_terms_locked"),
        ("fund", "0001_governance_and_rounds"),
        ("ledger", "0003_balance_check_single_pass"),
        ("payments", "0001_money"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="FundLock",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=40, unique=True)),
            ],
        ),
        migrations.CreateModel(
            name="ReceiptSequence",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("year", models.PositiveSmallIntegerField(unique=True)),
                ("last", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="Investment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("grant", "Grant"), ("loan", "Solidarity loan")], max_length=6
                    ),
                ),
                ("title", models.CharField(max_length=300)),
                ("amount", models.BigIntegerField(help_text="Grant or principal, minor units")),
                ("currency", models.CharField(default="EUR", max_length=3)),
                ("rate", models.PositiveIntegerField(default=0)),
                ("term_months", models.PositiveSmallIntegerField(default=0)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("proposed", "Proposed"),
                            ("approved", "Approved: payout under way"),
                            ("disbursed", "Disbursed"),
                            ("repaying", "Repaying"),
                            ("repaid", "Repaid"),
                            ("late", "Late"),
                            ("defaulted", "Defaulted"),
                            ("written_off", "Written off"),
                            ("cancelled", "Cancelled"),
                        ],
                        default="proposed",
                        max_length=12,
                    ),
                ),
                ("disbursement_id", models.BigIntegerField(blank=True, db_index=True, null=True)),
                ("payout_attempts", models.PositiveSmallIntegerField(default=0)),
                ("principal_repaid", models.BigIntegerField(default=0)),
                ("interest_paid", models.BigIntegerField(default=0)),
                ("written_off", models.BigIntegerField(default=0)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("approved_at", models.DateTimeField(blank=True, null=True)),
                ("disbursed_at", models.DateTimeField(blank=True, null=True)),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "approved_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "commitment_entry",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.journalentry",
                    ),
                ),
                (
                    "payee",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="payments.payeeaccount",
                    ),
                ),
                (
                    "project",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="fund_investments",
                        to="campaigns.project",
                    ),
                ),
                (
                    "proposed_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "round_project",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="investment",
                        to="fund.roundproject",
                    ),
                ),
                (
                    "theme",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="campaigns.theme",
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="InvestmentEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("from_status", models.CharField(blank=True, max_length=12)),
                ("to_status", models.CharField(max_length=12)),
                ("note", models.CharField(blank=True, max_length=300)),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "investment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="fund.investment",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="LoanInstallment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveSmallIntegerField()),
                ("due_date", models.DateField()),
                ("principal", models.BigIntegerField()),
                ("interest", models.BigIntegerField()),
                ("principal_paid", models.BigIntegerField(default=0)),
                ("interest_paid", models.BigIntegerField(default=0)),
                (
                    "status",
                    models.CharField(
                        choices=[("due", "Due"), ("paid", "Paid"), ("late", "Late")],
                        default="due",
                        max_length=6,
                    ),
                ),
                (
                    "investment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="schedule",
                        to="fund.investment",
                    ),
                ),
            ],
            options={
                "ordering": ["investment", "number"],
            },
        ),
        migrations.CreateModel(
            name="LoanRepayment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount", models.BigIntegerField()),
                ("principal", models.BigIntegerField()),
                ("interest", models.BigIntegerField()),
                ("bank_reference", models.CharField(max_length=120)),
                ("received_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "entry",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.journalentry",
                    ),
                ),
                (
                    "investment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="repayments",
                        to="fund.investment",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["investment", "id"],
            },
        ),
        migrations.CreateModel(
            name="MatchingRule",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("title", models.CharField(max_length=200)),
                ("currency", models.CharField(default="EUR", max_length=3)),
                (
                    "factor",
                    models.PositiveIntegerField(help_text="Basis points: 10000 matches 1:1"),
                ),
                ("contribution_cap", models.BigIntegerField(blank=True, null=True)),
                ("member_campaign_cap", models.BigIntegerField(blank=True, null=True)),
                ("campaign_cap", models.BigIntegerField(blank=True, null=True)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("proposed", "Proposed to the members"),
                            ("active", "In force"),
                            ("rejected", "Not adopted"),
                            ("retired", "Replaced"),
                        ],
                        default="proposed",
                        max_length=10,
                    ),
                ),
                ("active_from", models.DateTimeField(blank=True, null=True)),
                ("active_until", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "poll",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="fund.poll",
                    ),
                ),
                (
                    "proposed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "themes",
                    models.ManyToManyField(blank=True, related_name="+", to="campaigns.theme"),
                ),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="MatchCommitment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("currency", models.CharField(max_length=3)),
                ("contribution", models.BigIntegerField()),
                ("amount", models.BigIntegerField(help_text="The match, minor units")),
                ("limited_by", models.CharField(max_length=20)),
                ("bounds", models.JSONField(default=dict)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Reserved in the matching pool"),
                            ("committed", "Moved to the campaign's escrow"),
                            ("released", "Released to the pool"),
                            ("reversed", "Reversed (refund)"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("reversed_amount", models.BigIntegerField(default=0)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("committed_at", models.DateTimeField(blank=True, null=True)),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "backer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="campaigns.campaign",
                    ),
                ),
                (
                    "entry",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.journalentry",
                    ),
                ),
                (
                    "pledge",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="match_commitment",
                        to="campaigns.pledge",
                    ),
                ),
                (
                    "rule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="commitments",
                        to="fund.matchingrule",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="QFRound",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("title", models.CharField(max_length=200)),
                ("currency", models.CharField(default="EUR", max_length=3)),
                (
                    "pool",
                    models.BigIntegerField(help_text="Minor units, reserved in the matching pool"),
                ),
                (
                    "coordination_bound",
                    models.BigIntegerField(
                        blank=True,
                        help_text="M′ in minor units; empty: no pairwise bound",
                        null=True,
                    ),
                ),
                ("project_cap", models.BigIntegerField(blank=True, null=True)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("open", "Open to contributions"),
                            ("closed", "Closed: matches paid"),
                            ("cancelled", "Cancelled"),
                        ],
                        default="draft",
                        max_length=10,
                    ),
                ),
                ("opens_at", models.DateTimeField()),
                ("closes_at", models.DateTimeField()),
                ("result", models.JSONField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("opened_at", models.DateTimeField(blank=True, null=True)),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                ("campaigns", models.ManyToManyField(related_name="+", to="campaigns.campaign")),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="QFMatch",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("contributors", models.PositiveIntegerField()),
                ("contributed", models.BigIntegerField()),
                ("raw_match", models.CharField(help_text="Exact fraction of cents", max_length=80)),
                ("amount", models.BigIntegerField()),
                ("capped", models.BooleanField(default=False)),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="campaigns.campaign",
                    ),
                ),
                (
                    "entry",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.journalentry",
                    ),
                ),
                (
                    "qf_round",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="matches",
                        to="fund.qfround",
                    ),
                ),
            ],
            options={
                "ordering": ["qf_round", "campaign_id"],
            },
        ),
        migrations.CreateModel(
            name="Donation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                (
                    "target",
                    models.CharField(
                        choices=[
                            ("grants_pool", "The fund's grants pool"),
                            ("campaign", "A campaign"),
                        ],
                        max_length=12,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting for the payment"),
                            ("succeeded", "Received"),
                            ("failed", "Payment failed"),
                            ("refunded", "Refunded"),
                        ],
                        default="pending",
                        max_length=12,
                    ),
                ),
                ("payment_id", models.BigIntegerField(blank=True, null=True, unique=True)),
                ("idempotency_key", models.CharField(max_length=120, unique=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("received_at", models.DateTimeField(blank=True, null=True)),
                (
                    "campaign",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="donations",
                        to="campaigns.campaign",
                    ),
                ),
                (
                    "donor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="donations",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "qf_round",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="contributions",
                        to="fund.qfround",
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="Redemption",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("currency", models.CharField(max_length=3)),
                ("amount", models.BigIntegerField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("requested", "Requested: notice period"),
                            ("queued", "Queued: waiting for liquidity"),
                            ("payable", "Payable: payout under way"),
                            ("paid", "Paid"),
                            ("cancelled", "Cancelled"),
                        ],
                        default="requested",
                        max_length=12,
                    ),
                ),
                (
                    "requested_at",
                    models.DateTimeField(db_index=True, default=django.utils.timezone.now),
                ),
                ("notice_ends_at", models.DateTimeField()),
                ("queued_at", models.DateTimeField(blank=True, null=True)),
                ("payable_at", models.DateTimeField(blank=True, null=True)),
                ("paid_at", models.DateTimeField(blank=True, null=True)),
                ("cancelled_at", models.DateTimeField(blank=True, null=True)),
                ("disbursement_id", models.BigIntegerField(blank=True, db_index=True, null=True)),
                ("payout_attempts", models.PositiveSmallIntegerField(default=0)),
                (
                    "entry",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.journalentry",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="redemptions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["requested_at", "id"],
            },
        ),
        migrations.CreateModel(
            name="RedemptionEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("from_status", models.CharField(blank=True, max_length=12)),
                ("to_status", models.CharField(max_length=12)),
                ("note", models.CharField(blank=True, max_length=300)),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "redemption",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="fund.redemption",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="Remuneration",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("year", models.PositiveSmallIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("balance_days", models.BigIntegerField()),
                ("days", models.PositiveSmallIntegerField()),
                ("rate", models.PositiveIntegerField(help_text="Basis points")),
                ("amount", models.BigIntegerField()),
                (
                    "interest_share",
                    models.PositiveIntegerField(
                        choices=[
                            (0, "Keep all my remuneration"),
                            (2500, "Share 25%"),
                            (5000, "Share 50%"),
                            (7500, "Share 75%"),
                            (10000, "Share 100%"),
                        ]
                    ),
                ),
                ("shared", models.BigIntegerField()),
                ("credited", models.BigIntegerField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "entry",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.journalentry",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-year", "user_id"],
            },
        ),
        migrations.CreateModel(
            name="DonationReceipt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.CharField(max_length=20, unique=True)),
                ("year", models.PositiveSmallIntegerField()),
                ("sequence", models.PositiveIntegerField()),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("donation", "Donation"),
                            ("shared_interest", "Shared interest (sharing savings)"),
                        ],
                        max_length=16,
                    ),
                ),
                ("amount", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                (
                    "tax_rate",
                    models.PositiveIntegerField(
                        choices=[
                            (6600, "66%: organisation of general interest"),
                            (7500, "75%: aid to people in difficulty"),
                        ]
                    ),
                ),
                ("beneficiary", models.CharField(max_length=300)),
                ("issued_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("voided_at", models.DateTimeField(blank=True, null=True)),
                (
                    "donation",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="receipt",
                        to="fund.donation",
                    ),
                ),
                (
                    "donor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="donation_receipts",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "remuneration",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="receipt",
                        to="fund.remuneration",
                    ),
                ),
            ],
            options={
                "ordering": ["-year", "-sequence"],
            },
        ),
        migrations.CreateModel(
            name="SavingsAccount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("currency", models.CharField(max_length=3)),
                (
                    "interest_share",
                    models.PositiveIntegerField(
                        choices=[
                            (0, "Keep all my remuneration"),
                            (2500, "Share 25%"),
                            (5000, "Share 50%"),
                            (7500, "Share 75%"),
                            (10000, "Share 100%"),
                        ],
                        default=0,
                    ),
                ),
                ("opened_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="savings_accounts",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="DonationTaxStatus",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "tax_rate",
                    models.PositiveIntegerField(
                        choices=[
                            (6600, "66%: organisation of general interest"),
                            (7500, "75%: aid to people in difficulty"),
                        ]
                    ),
                ),
                ("basis", models.CharField(max_length=500)),
                ("decided_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "project",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="donation_tax_status",
                        to="campaigns.project",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("tax_rate__in", [6600, 7500])),
                        name="fund_tax_status_rate_valid",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="FundYear",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("year", models.PositiveSmallIntegerField()),
                ("currency", models.CharField(max_length=3)),
                (
                    "rate",
                    models.PositiveIntegerField(
                        help_text="Remuneration rate applied, basis points"
                    ),
                ),
                (
                    "income",
                    models.BigIntegerField(help_text="The year's result before remuneration"),
                ),
                ("remuneration", models.BigIntegerField(default=0)),
                ("shared_interest", models.BigIntegerField(default=0)),
                ("loss_provision", models.BigIntegerField(default=0)),
                ("impartible_reserve", models.BigIntegerField(default=0)),
                ("loss_absorbed", models.BigIntegerField(default=0)),
                ("closed_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "closed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "closing_entry",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.journalentry",
                    ),
                ),
            ],
            options={
                "ordering": ["-year"],
                "constraints": [
                    models.UniqueConstraint(fields=("year", "currency"), name="fund_year_once"),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("remuneration__gte", 0),
                            ("shared_interest__gte", 0),
                            ("loss_provision__gte", 0),
                            ("impartible_reserve__gte", 0),
                            ("loss_absorbed__gte", 0),
                        ),
                        name="fund_year_amounts_not_negative",
                    ),
                ],
            },
        ),
        migrations.AddConstraint(
            model_name="investment",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["grant", "loan"])),
                name="fund_investment_kind_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="investment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "status__in",
                        [
                            "proposed",
                            "approved",
                            "disbursed",
                            "repaying",
                            "repaid",
                            "late",
                            "defaulted",
                            "written_off",
                            "cancelled",
                        ],
                    )
                ),
                name="fund_investment_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="investment",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="fund_investment_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="investment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "loan"), ("term_months__gt", 0)),
                    models.Q(("kind", "grant"), ("rate", 0), ("term_months", 0)),
                    _connector="OR",
                ),
                name="fund_investment_loan_terms",
            ),
        ),
        migrations.AddConstraint(
            model_name="investment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("kind", "loan"),
                    ("status__in", ["proposed", "approved", "disbursed", "cancelled"]),
                    _connector="OR",
                ),
                name="fund_investment_grant_statuses",
            ),
        ),
        migrations.AddConstraint(
            model_name="investment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("principal_repaid__gte", 0),
                    ("written_off__gte", 0),
                    ("interest_paid__gte", 0),
                    (
                        "principal_repaid__lte",
                        django.db.models.expressions.CombinedExpression(
                            models.F("amount"), "-", models.F("written_off")
                        ),
                    ),
                ),
                name="fund_investment_repaid_within_principal",
            ),
        ),
        migrations.AddConstraint(
            model_name="investment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("approved_by__isnull", True),
                    models.Q(("approved_by", models.F("proposed_by")), _negated=True),
                    _connector="OR",
                ),
                name="fund_investment_four_eyes",
            ),
        ),
        migrations.AddConstraint(
            model_name="loaninstallment",
            constraint=models.UniqueConstraint(
                fields=("investment", "number"), name="fund_installment_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="loaninstallment",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["due", "paid", "late"])),
                name="fund_installment_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="loaninstallment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("principal__gte", 0),
                    ("interest__gte", 0),
                    ("principal_paid__gte", 0),
                    ("principal_paid__lte", models.F("principal")),
                    ("interest_paid__gte", 0),
                    ("interest_paid__lte", models.F("interest")),
                ),
                name="fund_installment_paid_within_due",
            ),
        ),
        migrations.AddConstraint(
            model_name="loanrepayment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("amount__gt", 0),
                    ("principal__gte", 0),
                    ("interest__gte", 0),
                    (
                        "amount",
                        django.db.models.expressions.CombinedExpression(
                            models.F("principal"), "+", models.F("interest")
                        ),
                    ),
                ),
                name="fund_repayment_split",
            ),
        ),
        migrations.AddConstraint(
            model_name="loanrepayment",
            constraint=models.UniqueConstraint(
                fields=("investment", "bank_reference"), name="fund_repayment_reference_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="matchingrule",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["proposed", "active", "rejected", "retired"])),
                name="fund_matching_rule_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="matchingrule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("contribution_cap__isnull", True),
                        ("contribution_cap__gte", 0),
                        _connector="OR",
                    ),
                    models.Q(
                        ("member_campaign_cap__isnull", True),
                        ("member_campaign_cap__gte", 0),
                        _connector="OR",
                    ),
                    models.Q(
                        ("campaign_cap__isnull", True), ("campaign_cap__gte", 0), _connector="OR"
                    ),
                ),
                name="fund_matching_rule_caps_not_negative",
            ),
        ),
        migrations.AddConstraint(
            model_name="matchingrule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "active"), _negated=True),
                    ("active_from__isnull", False),
                    _connector="OR",
                ),
                name="fund_matching_rule_active_has_start",
            ),
        ),
        migrations.AddConstraint(
            model_name="matchingrule",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "active")),
                fields=("currency",),
                name="fund_matching_rule_one_active",
            ),
        ),
        migrations.AddIndex(
            model_name="matchcommitment",
            index=models.Index(
                fields=["campaign", "status"], name="fund_matchc_campaig_073fa0_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="matchcommitment",
            index=models.Index(
                fields=["currency", "status"], name="fund_matchc_currenc_f95e2b_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="matchcommitment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("status__in", ["pending", "committed", "released", "reversed"])
                ),
                name="fund_match_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="matchcommitment",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gte", 0), ("contribution__gt", 0)),
                name="fund_match_amounts",
            ),
        ),
        migrations.AddConstraint(
            model_name="matchcommitment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("reversed_amount__gte", 0), ("reversed_amount__lte", models.F("amount"))
                ),
                name="fund_match_reversal_within_amount",
            ),
        ),
        migrations.AddConstraint(
            model_name="matchcommitment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status__in", ["committed", "reversed"]), _negated=True),
                    ("entry__isnull", False),
                    ("amount", 0),
                    _connector="OR",
                ),
                name="fund_match_committed_is_posted",
            ),
        ),
        migrations.AddConstraint(
            model_name="qfround",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["draft", "open", "closed", "cancelled"])),
                name="fund_qf_round_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="qfround",
            constraint=models.CheckConstraint(
                condition=models.Q(("pool__gt", 0)), name="fund_qf_round_pool_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="qfround",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("coordination_bound__isnull", True),
                    ("coordination_bound__gt", 0),
                    _connector="OR",
                ),
                name="fund_qf_round_bound_positive",
            ),
        ),
        migrations.AddConstraint(
            model_name="qfround",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("project_cap__isnull", True), ("project_cap__gt", 0), _connector="OR"
                ),
                name="fund_qf_round_cap_positive",
            ),
        ),
        migrations.AddConstraint(
            model_name="qfround",
            constraint=models.CheckConstraint(
                condition=models.Q(("closes_at__gt", models.F("opens_at"))),
                name="fund_qf_round_window",
            ),
        ),
        migrations.AddConstraint(
            model_name="qfround",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("result__isnull", False), ("status", "closed")),
                    models.Q(
                        models.Q(("status", "closed"), _negated=True), ("result__isnull", True)
                    ),
                    _connector="OR",
                ),
                name="fund_qf_round_result_once_closed",
            ),
        ),
        migrations.AddConstraint(
            model_name="qfmatch",
            constraint=models.UniqueConstraint(
                fields=("qf_round", "campaign"), name="fund_qf_match_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="qfmatch",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gte", 0)), name="fund_qf_match_not_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="donation",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["pending", "succeeded", "failed", "refunded"])),
                name="fund_donation_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="donation",
            constraint=models.CheckConstraint(
                condition=models.Q(("target__in", ["grants_pool", "campaign"])),
                name="fund_donation_target_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="donation",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="fund_donation_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="donation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("campaign__isnull", False), ("target", "campaign")),
                    models.Q(("campaign__isnull", True), ("target", "grants_pool")),
                    _connector="OR",
                ),
                name="fund_donation_target_matches_campaign",
            ),
        ),
        migrations.AddConstraint(
            model_name="donation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("qf_round__isnull", True), ("target", "campaign"), _connector="OR"
                ),
                name="fund_donation_qf_goes_to_a_campaign",
            ),
        ),
        migrations.AddIndex(
            model_name="redemption",
            index=models.Index(
                fields=["currency", "status", "requested_at"], name="fund_redemp_currenc_7cc5ba_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="redemption",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("status__in", ["requested", "queued", "payable", "paid", "cancelled"])
                ),
                name="fund_redemption_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="redemption",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="fund_redemption_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="redemption",
            constraint=models.CheckConstraint(
                condition=models.Q(("notice_ends_at__gte", models.F("requested_at"))),
                name="fund_redemption_notice_after_request",
            ),
        ),
        migrations.AddConstraint(
            model_name="redemption",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status__in", ["payable", "paid"]), _negated=True),
                    ("entry__isnull", False),
                    _connector="OR",
                ),
                name="fund_redemption_payable_has_entry",
            ),
        ),
        migrations.AddConstraint(
            model_name="remuneration",
            constraint=models.UniqueConstraint(
                fields=("user", "year", "currency"), name="fund_remuneration_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="remuneration",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "amount",
                        django.db.models.expressions.CombinedExpression(
                            models.F("shared"), "+", models.F("credited")
                        ),
                    ),
                    ("shared__gte", 0),
                ),
                name="fund_remuneration_split",
            ),
        ),
        migrations.AddConstraint(
            model_name="remuneration",
            constraint=models.CheckConstraint(
                condition=models.Q(("credited__gte", 0)), name="fund_remuneration_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="donationreceipt",
            constraint=models.UniqueConstraint(
                fields=("year", "sequence"), name="fund_receipt_sequence"
            ),
        ),
        migrations.AddConstraint(
            model_name="donationreceipt",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="fund_receipt_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="donationreceipt",
            constraint=models.CheckConstraint(
                condition=models.Q(("tax_rate__in", [6600, 7500])),
                name="fund_receipt_tax_rate_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="donationreceipt",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["donation", "shared_interest"])),
                name="fund_receipt_kind_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="donationreceipt",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("donation__isnull", False), ("kind", "donation")),
                    models.Q(("kind", "shared_interest"), ("remuneration__isnull", False)),
                    _connector="OR",
                ),
                name="fund_receipt_has_its_source",
            ),
        ),
        migrations.AddConstraint(
            model_name="donationreceipt",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("voided_at__isnull", True),
                    ("voided_at__gte", models.F("issued_at")),
                    _connector="OR",
                ),
                name="fund_receipt_voided_after_issue",
            ),
        ),
        migrations.AddConstraint(
            model_name="savingsaccount",
            constraint=models.UniqueConstraint(
                fields=("user", "currency"), name="fund_savings_one_per_user"
            ),
        ),
        migrations.AddConstraint(
            model_name="savingsaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(("interest_share__in", [0, 2500, 5000, 7500, 10000])),
                name="fund_savings_interest_share_valid",
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
