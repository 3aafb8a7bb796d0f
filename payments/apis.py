"""The payments API: the payer's payments and cards, payees' payout accounts, the treasurer's and
auditors' views of the money tables, the sandbox's confirmation endpoints, and the webhook."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import NotFoundError
from common.pagination import CursorPagination
from common.serializers import (
    AmountField,
    CurrencyField,
    StrictBooleanField,
    StrictCharField,
    StrictInputSerializer,
    StrictIntegerField,
)
from members.enums import Scope
from members.permissions import IsTreasurer
from members.selectors import user_from_request

from .enums import PaymentStatus, RefundReason
from .exceptions import ProviderInvalidRequestError
from .models import (
    Disbursement,
    PayeeAccount,
    Payment,
    PaymentMethodSetup,
    ReconciliationReport,
    Refund,
    SavedPaymentMethod,
    WebhookEvent,
)
from .permissions import IsFinanceReader
from .providers import provider_for, provider_name
from .selectors import (
    disbursement_get,
    disbursement_list,
    disbursement_list_for_user,
    payee_account_list_for_user,
    payment_get,
    payment_get_for_payer,
    payment_list,
    platform_cash_balances,
    reconciliation_report_list,
    refund_list,
    saved_payment_method_get,
    saved_payment_method_list,
    webhook_event_list,
)
from .services import (
    disbursement_approve,
    disbursement_mark_failed_manually,
    disbursement_mark_paid_manually,
    disbursement_reject,
    payee_account_bank_set,
    payee_account_connect_start,
    payment_method_detach,
    payment_method_setup_complete,
    payment_method_setup_start,
    payment_refund,
    payment_sync,
    webhook_receive,
)
from .services.cash import DIRECTIONS, cash_transfer_get, cash_transfer_record
from .services.sandbox import (
    sandbox_onboarding_complete,
    sandbox_payment_authenticate,
    sandbox_payment_confirm,
    sandbox_setup_authenticate,
    sandbox_setup_confirm,
)

CARD_DECLINED = OpenApiResponse(description="The card was declined, or needs authentication.")


# --- output serializers ---------------------------------------------------------------------------


class PaymentOutputSerializer(serializers.ModelSerializer[Payment]):
    next_action = serializers.SerializerMethodField(
        help_text="What the payer does next: `confirm` (enter a card), `authenticate`, or null."
    )

    class Meta:
        model = Payment
        fields = [
            "id",
            "purpose",
            "amount",
            "currency",
            "status",
            "provider",
            "amount_refunded",
            "fee_amount",
            "reference_type",
            "reference_id",
            "description",
            "off_session",
            "failure_code",
            "failure_message",
            "next_action",
            "created_at",
            "settled_at",
        ]

    def get_next_action(self, payment: Payment) -> str | None:
        if (
            payment.status in (PaymentStatus.CREATED, PaymentStatus.FAILED)
            and not payment.off_session
        ):
            return "confirm"
        if payment.status == PaymentStatus.REQUIRES_ACTION:
            return "authenticate"
        return None


class PaymentForPayerOutputSerializer(PaymentOutputSerializer):
    """With what the browser needs to confirm the payment."""

    client_secret = serializers.CharField(read_only=True)
    publishable_key = serializers.SerializerMethodField()

    class Meta(PaymentOutputSerializer.Meta):
        fields = [*PaymentOutputSerializer.Meta.fields, "client_secret", "publishable_key"]

    def get_publishable_key(self, payment: Payment) -> str:
        return provider_for(payment.provider).publishable_key()


class PaymentForStaffOutputSerializer(PaymentOutputSerializer):
    class Meta(PaymentOutputSerializer.Meta):
        fields = [
            *PaymentOutputSerializer.Meta.fields,
            "payer",
            "provider_payment_intent_id",
            "provider_charge_id",
            "idempotency_key",
            "charge_entry",
            "fee_entry",
        ]


class SavedPaymentMethodOutputSerializer(serializers.ModelSerializer[SavedPaymentMethod]):
    class Meta:
        model = SavedPaymentMethod
        fields = ["id", "provider", "brand", "last4", "exp_month", "exp_year", "created_at"]


class PaymentMethodSetupOutputSerializer(serializers.ModelSerializer[PaymentMethodSetup]):
    setup_intent_id = serializers.CharField(source="provider_setup_intent_id", read_only=True)
    saved_method = SavedPaymentMethodOutputSerializer(read_only=True, allow_null=True)

    class Meta:
        model = PaymentMethodSetup
        fields = ["setup_intent_id", "status", "failure_code", "failure_message", "saved_method"]


class RefundOutputSerializer(serializers.ModelSerializer[Refund]):
    class Meta:
        model = Refund
        fields = [
            "id",
            "payment",
            "amount",
            "currency",
            "status",
            "reason",
            "memo",
            "provider_refund_id",
            "is_external",
            "failure_code",
            "failure_message",
            "entry",
            "created_at",
            "succeeded_at",
        ]


class PayeeAccountOutputSerializer(serializers.ModelSerializer[PayeeAccount]):
    class Meta:
        model = PayeeAccount
        fields = [
            "id",
            "owner_type",
            "owner_id",
            "method",
            "provider",
            "connect_account_id",
            "onboarding_status",
            "payouts_enabled",
            "bank_holder_name",
            "bank_iban_masked",
        ]


class DisbursementOutputSerializer(serializers.ModelSerializer[Disbursement]):
    source_account = serializers.CharField(source="source_account.code", read_only=True)

    class Meta:
        model = Disbursement
        fields = [
            "id",
            "payee",
            "method",
            "amount",
            "currency",
            "source_account",
            "purpose",
            "reference_type",
            "reference_id",
            "memo",
            "status",
            "requested_by",
            "approved_by",
            "provider_transfer_id",
            "bank_reference",
            "failure_reason",
            "submitted_entry",
            "reversal_entry",
            "created_at",
            "approved_at",
            "submitted_at",
            "paid_at",
            "failed_at",
        ]


class WebhookEventOutputSerializer(serializers.ModelSerializer[WebhookEvent]):
    class Meta:
        model = WebhookEvent
        fields = [
            "id",
            "provider",
            "provider_event_id",
            "type",
            "status",
            "attempts",
            "outcome",
            "last_error",
            "received_at",
            "processed_at",
        ]


class ReconciliationReportOutputSerializer(serializers.ModelSerializer[ReconciliationReport]):
    class Meta:
        model = ReconciliationReport
        fields = [
            "id",
            "provider",
            "started_at",
            "finished_at",
            "period_start",
            "payments_checked",
            "refunds_checked",
            "transfers_checked",
            "ledger_cash",
            "provider_cash",
            "differences",
            "is_clean",
            "error",
        ]


# --- the payer ----------------------------------------------------------------------------------


class PaymentMineListApi(generics.ListAPIView[Payment]):
    """My payments, newest first."""

    pagination_class = CursorPagination
    read_scope = Scope.READ_FUNDS
    serializer_class = PaymentOutputSerializer
    filterset_fields = ["purpose", "status"]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema, read with no user
            return Payment.objects.none()
        return payment_list(payer=user_from_request(self.request))

    @extend_schema(tags=["payments"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class PaymentMineDetailApi(APIView):
    read_scope = Scope.READ_FUNDS

    @extend_schema(responses={200: PaymentForPayerOutputSerializer}, tags=["payments"])
    def get(self, request: Request, payment_id: int) -> Response:
        payment = payment_get_for_payer(payer=user_from_request(request), payment_id=payment_id)
        return Response(PaymentForPayerOutputSerializer(payment).data)


class PaymentMineSyncApi(APIView):
    """After the browser confirmed a payment: read its state back from the provider now."""

    write_scope = Scope.READ_FUNDS

    @extend_schema(
        request=None, responses={200: PaymentForPayerOutputSerializer}, tags=["payments"]
    )
    def post(self, request: Request, payment_id: int) -> Response:
        payment = payment_get_for_payer(payer=user_from_request(request), payment_id=payment_id)
        payment = payment_sync(payment=payment)
        return Response(PaymentForPayerOutputSerializer(payment).data)


class SavedPaymentMethodListApi(generics.ListAPIView[SavedPaymentMethod]):
    pagination_class = CursorPagination
    read_scope = Scope.READ_FUNDS
    serializer_class = SavedPaymentMethodOutputSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema, read with no user
            return SavedPaymentMethod.objects.none()
        return saved_payment_method_list(user=user_from_request(self.request))

    @extend_schema(tags=["payments"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class SavedPaymentMethodDetachApi(APIView):
    write_scope = Scope.WRITE_PLEDGES

    @extend_schema(request=None, responses={204: None}, tags=["payments"])
    def delete(self, request: Request, method_id: int) -> Response:
        user = user_from_request(request)
        method = saved_payment_method_get(user=user, method_id=method_id)
        payment_method_detach(user=user, method=method)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PaymentMethodSetupStartApi(APIView):
    """Start saving a card; the browser confirms it with Stripe.js (or the sandbox form)."""

    write_scope = Scope.WRITE_PLEDGES

    class OutputSerializer(serializers.Serializer[Any]):
        provider = serializers.CharField()
        setup_intent_id = serializers.CharField()
        client_secret = serializers.CharField()
        publishable_key = serializers.CharField()
        js_url = serializers.CharField(help_text="Stripe.js to load; empty for the sandbox.")
        status = serializers.CharField()

    @extend_schema(request=None, responses={201: OutputSerializer}, tags=["payments"])
    def post(self, request: Request) -> Response:
        start = payment_method_setup_start(user=user_from_request(request))
        return Response(self.OutputSerializer(start).data, status=status.HTTP_201_CREATED)


class PaymentMethodSetupCompleteApi(APIView):
    """After the browser confirmed the SetupIntent: record the saved card."""

    write_scope = Scope.WRITE_PLEDGES

    @extend_schema(
        request=None, responses={200: PaymentMethodSetupOutputSerializer}, tags=["payments"]
    )
    def post(self, request: Request, setup_intent_id: str) -> Response:
        setup = payment_method_setup_complete(
            user=user_from_request(request), setup_intent_id=setup_intent_id
        )
        return Response(PaymentMethodSetupOutputSerializer(setup).data)


# --- the sandbox's stand-in for Stripe.js -----------------------------------------------------------


class _CardSerializer(StrictInputSerializer):
    number = StrictCharField(
        max_length=23, help_text="A test card number, e.g. 4242 4242 4242 4242."
    )
    exp_month = StrictIntegerField(min_value=1, max_value=12, required=False, default=12)
    exp_year = StrictIntegerField(min_value=2000, max_value=2099, required=False, default=2034)
    cvc = StrictCharField(max_length=4, required=False, default="123")


class _AuthenticationSerializer(StrictInputSerializer):
    success = StrictBooleanField(help_text="Whether the cardholder completes authentication.")


class SandboxSetupConfirmApi(APIView):
    """Sandbox only: confirm a card setup with a test card (Stripe.js does this with Stripe)."""

    write_scope = Scope.WRITE_PLEDGES

    class InputSerializer(_CardSerializer):
        pass

    @extend_schema(
        request=InputSerializer,
        responses={200: PaymentMethodSetupOutputSerializer, 402: CARD_DECLINED},
        tags=["sandbox"],
    )
    def post(self, request: Request, setup_intent_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        setup = sandbox_setup_confirm(
            user=user_from_request(request),
            setup_intent_id=setup_intent_id,
            number=data.validated_data["number"],
            exp_month=data.validated_data["exp_month"],
            exp_year=data.validated_data["exp_year"],
        )
        return Response(PaymentMethodSetupOutputSerializer(setup).data)


class SandboxSetupAuthenticateApi(APIView):
    """Sandbox only: answer a card setup's authentication challenge."""

    write_scope = Scope.WRITE_PLEDGES

    class InputSerializer(_AuthenticationSerializer):
        pass

    @extend_schema(
        request=InputSerializer,
        responses={200: PaymentMethodSetupOutputSerializer},
        tags=["sandbox"],
    )
    def post(self, request: Request, setup_intent_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        setup = sandbox_setup_authenticate(
            user=user_from_request(request),
            setup_intent_id=setup_intent_id,
            is_successful=data.validated_data["success"],
        )
        return Response(PaymentMethodSetupOutputSerializer(setup).data)


class SandboxPaymentConfirmApi(APIView):
    """Sandbox only: pay with a test card, or with a saved card."""

    write_scope = Scope.WRITE_PLEDGES

    class InputSerializer(StrictInputSerializer):
        number = StrictCharField(max_length=23, required=False, default="")
        exp_month = StrictIntegerField(min_value=1, max_value=12, required=False, default=12)
        exp_year = StrictIntegerField(min_value=2000, max_value=2099, required=False, default=2034)
        cvc = StrictCharField(max_length=4, required=False, default="123")
        payment_method_id = StrictIntegerField(
            min_value=1, required=False, allow_null=True, default=None, help_text="A saved card."
        )

    @extend_schema(
        request=InputSerializer, responses={200: PaymentForPayerOutputSerializer}, tags=["sandbox"]
    )
    def post(self, request: Request, payment_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_from_request(request)
        payment = payment_get_for_payer(payer=user, payment_id=payment_id)
        method_id = data.validated_data["payment_method_id"]
        payment = sandbox_payment_confirm(
            payment=payment,
            number=data.validated_data["number"],
            exp_month=data.validated_data["exp_month"],
            exp_year=data.validated_data["exp_year"],
            payment_method=saved_payment_method_get(user=user, method_id=method_id)
            if method_id
            else None,
        )
        return Response(PaymentForPayerOutputSerializer(payment).data)


class SandboxPaymentAuthenticateApi(APIView):
    """Sandbox only: answer a payment's 3D Secure challenge."""

    write_scope = Scope.WRITE_PLEDGES

    class InputSerializer(_AuthenticationSerializer):
        pass

    @extend_schema(
        request=InputSerializer, responses={200: PaymentForPayerOutputSerializer}, tags=["sandbox"]
    )
    def post(self, request: Request, payment_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = payment_get_for_payer(payer=user_from_request(request), payment_id=payment_id)
        payment = sandbox_payment_authenticate(
            payment=payment, is_successful=data.validated_data["success"]
        )
        return Response(PaymentForPayerOutputSerializer(payment).data)


class SandboxOnboardingApi(APIView):
    """Sandbox only: the Connect onboarding link. Following it completes onboarding once."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        responses={302: OpenApiResponse(description="On to the return (or refresh) address.")},
        tags=["sandbox"],
    )
    def get(self, request: Request, token: str) -> HttpResponseRedirect:
        try:
            target = sandbox_onboarding_complete(token=token)
        except ProviderInvalidRequestError as error:
            raise NotFoundError("This onboarding link does not exist.") from error
        return HttpResponseRedirect(target)


# --- payout accounts and my disbursements -------------------------------------------------------------


def _site_url(value: str, field: str) -> str:
    """Return and refresh addresses stay on this site: the onboarding link redirects to them."""
    site = urlsplit(str(settings.SITE_URL))
    if not value:
        return f"{site.scheme}://{site.netloc}/"
    target = urlsplit(value)
    if (target.scheme, target.netloc) != (site.scheme, site.netloc):
        raise serializers.ValidationError({field: ["Must be an address on this site."]})
    return value


class PayeeAccountMineListApi(generics.ListAPIView[PayeeAccount]):
    """My payout accounts."""

    pagination_class = CursorPagination
    read_scope = Scope.READ_FUNDS
    serializer_class = PayeeAccountOutputSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema, read with no user
            return PayeeAccount.objects.none()
        return payee_account_list_for_user(user=user_from_request(self.request))

    @extend_schema(tags=["payouts"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class PayeeAccountConnectApi(APIView):
    """Open my Stripe Connect Express account and get an onboarding link."""

    write_scope = Scope.WRITE_CAMPAIGNS

    class InputSerializer(StrictInputSerializer):
        return_url = StrictCharField(max_length=500, required=False, default="")
        refresh_url = StrictCharField(max_length=500, required=False, default="")

    class OutputSerializer(serializers.Serializer[Any]):
        payee = PayeeAccountOutputSerializer()
        onboarding_url = serializers.CharField()
        expires_at = serializers.IntegerField(help_text="Unix time; the link works once.")

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, tags=["payouts"])
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_from_request(request)
        payee, link = payee_account_connect_start(
            owner_type="person",
            owner_id=user.pk,
            user=user,
            return_url=_site_url(data.validated_data["return_url"], "return_url"),
            refresh_url=_site_url(data.validated_data["refresh_url"], "refresh_url"),
        )
        body = {"payee": payee, "onboarding_url": link.url, "expires_at": link.expires_at}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


class PayeeAccountBankApi(APIView):
    """Receive my payouts by bank transfer (the offline path). Only a masked IBAN is kept."""

    write_scope = Scope.WRITE_CAMPAIGNS

    class InputSerializer(StrictInputSerializer):
        holder_name = StrictCharField(max_length=120)
        iban = StrictCharField(max_length=42)

    @extend_schema(
        request=InputSerializer, responses={200: PayeeAccountOutputSerializer}, tags=["payouts"]
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_from_request(request)
        payee = payee_account_bank_set(
            owner_type="person", owner_id=user.pk, user=user, **data.validated_data
        )
        return Response(PayeeAccountOutputSerializer(payee).data)


class DisbursementMineListApi(generics.ListAPIView[Disbursement]):
    """Payouts I asked for, or that are paid to me."""

    pagination_class = CursorPagination
    read_scope = Scope.READ_FUNDS
    serializer_class = DisbursementOutputSerializer
    filterset_fields = ["status", "purpose"]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema, read with no user
            return Disbursement.objects.none()
        return disbursement_list_for_user(user=user_from_request(self.request))

    @extend_schema(tags=["payouts"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# --- the treasurer and auditors ----------------------------------------------------------------------


class PaymentListApi(generics.ListAPIView[Payment]):
    """Every payment (treasurer, auditors)."""

    pagination_class = CursorPagination
    permission_classes = [IsFinanceReader]
    read_scope = Scope.ADMIN
    serializer_class = PaymentForStaffOutputSerializer
    filterset_fields = ["purpose", "status", "provider", "reference_type", "reference_id"]

    def get_queryset(self) -> Any:
        return payment_list()

    @extend_schema(tags=["back office"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class RefundListApi(generics.ListAPIView[Refund]):
    pagination_class = CursorPagination
    permission_classes = [IsFinanceReader]
    read_scope = Scope.ADMIN
    serializer_class = RefundOutputSerializer
    filterset_fields = ["status", "payment"]

    def get_queryset(self) -> Any:
        return refund_list()

    @extend_schema(tags=["back office"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class PaymentRefundApi(APIView):
    """Refund a payment, fully (no amount) or in part. The treasurer only."""

    permission_classes = [IsTreasurer]
    write_scope = Scope.ADMIN

    class InputSerializer(StrictInputSerializer):
        amount = AmountField(required=False, allow_null=True, default=None)
        reason = serializers.ChoiceField(
            choices=RefundReason.choices, required=False, default=RefundReason.REQUESTED_BY_CUSTOMER
        )
        memo = StrictCharField(max_length=300, required=False, default="", allow_blank=True)
        idempotency_key = StrictCharField(
            max_length=120, help_text="Your key for this refund: sending it again refunds once."
        )

    @extend_schema(
        request=InputSerializer, responses={201: RefundOutputSerializer}, tags=["back office"]
    )
    def post(self, request: Request, payment_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = payment_get(payment_id=payment_id)
        refund = payment_refund(
            payment=payment,
            amount=data.validated_data["amount"],
            reason=data.validated_data["reason"],
            memo=data.validated_data["memo"],
            idempotency_key=f"api:{data.validated_data['idempotency_key']}",
            actor=user_from_request(request),
        )
        return Response(RefundOutputSerializer(refund).data, status=status.HTTP_201_CREATED)


class DisbursementListApi(generics.ListAPIView[Disbursement]):
    """Every disbursement (treasurer, auditors)."""

    pagination_class = CursorPagination
    permission_classes = [IsFinanceReader]
    read_scope = Scope.ADMIN
    serializer_class = DisbursementOutputSerializer
    filterset_fields = ["status", "purpose", "method", "payee", "reference_type", "reference_id"]

    def get_queryset(self) -> Any:
        return disbursement_list()

    @extend_schema(tags=["back office"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class DisbursementApproveApi(APIView):
    """Approve a payout (four eyes: not one you asked for). It is sent at once."""

    permission_classes = [IsTreasurer]
    write_scope = Scope.ADMIN

    @extend_schema(
        request=None, responses={200: DisbursementOutputSerializer}, tags=["back office"]
    )
    def post(self, request: Request, disbursement_id: int) -> Response:
        disbursement = disbursement_approve(
            disbursement=disbursement_get(disbursement_id=disbursement_id),
            actor=user_from_request(request),
        )
        return Response(DisbursementOutputSerializer(disbursement).data)


class _ReasonSerializer(StrictInputSerializer):
    reason = StrictCharField(max_length=300)


class DisbursementRejectApi(APIView):
    permission_classes = [IsTreasurer]
    write_scope = Scope.ADMIN

    class InputSerializer(_ReasonSerializer):
        pass

    @extend_schema(
        request=InputSerializer, responses={200: DisbursementOutputSerializer}, tags=["back office"]
    )
    def post(self, request: Request, disbursement_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        disbursement = disbursement_reject(
            disbursement=disbursement_get(disbursement_id=disbursement_id),
            actor=user_from_request(request),
            reason=data.validated_data["reason"],
        )
        return Response(DisbursementOutputSerializer(disbursement).data)


class DisbursementMarkPaidApi(APIView):
    """A manual bank transfer was made."""

    permission_classes = [IsTreasurer]
    write_scope = Scope.ADMIN

    class InputSerializer(StrictInputSerializer):
        bank_reference = StrictCharField(max_length=120)

    @extend_schema(
        request=InputSerializer, responses={200: DisbursementOutputSerializer}, tags=["back office"]
    )
    def post(self, request: Request, disbursement_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        disbursement = disbursement_mark_paid_manually(
            disbursement=disbursement_get(disbursement_id=disbursement_id),
            actor=user_from_request(request),
            bank_reference=data.validated_data["bank_reference"],
        )
        return Response(DisbursementOutputSerializer(disbursement).data)


class DisbursementMarkFailedApi(APIView):
    """A manual bank transfer bounced: the entry is reversed."""

    permission_classes = [IsTreasurer]
    write_scope = Scope.ADMIN

    class InputSerializer(_ReasonSerializer):
        pass

    @extend_schema(
        request=InputSerializer, responses={200: DisbursementOutputSerializer}, tags=["back office"]
    )
    def post(self, request: Request, disbursement_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        disbursement = disbursement_mark_failed_manually(
            disbursement=disbursement_get(disbursement_id=disbursement_id),
            actor=user_from_request(request),
            reason=data.validated_data["reason"],
        )
        return Response(DisbursementOutputSerializer(disbursement).data)


class CashTransferApi(APIView):
    """The platform's cash moved between its Stripe balance and its bank account: a Stripe
    payout to the bank (`to_bank`, also booked from Stripe's `payout.paid` webhook) or a top-up
    (`to_stripe`). The reference is the idempotency key: sending it again books nothing more."""

    permission_classes = [IsTreasurer]
    write_scope = Scope.ADMIN

    class InputSerializer(StrictInputSerializer):
        direction = serializers.ChoiceField(choices=DIRECTIONS)
        amount = AmountField()
        currency = CurrencyField(required=False)
        reference = StrictCharField(max_length=120, help_text="The bank's or Stripe's id.")

    class OutputSerializer(serializers.Serializer[Any]):
        entry = serializers.IntegerField()
        direction = serializers.ChoiceField(choices=DIRECTIONS)
        amount = serializers.IntegerField()
        currency = serializers.CharField()
        reference = serializers.CharField()
        stripe_cash = serializers.IntegerField(help_text="The ledger's cash at Stripe, after.")
        bank_cash = serializers.IntegerField(help_text="The ledger's cash in the bank, after.")

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer, 200: OutputSerializer},
        tags=["back office"],
        summary="Record a move of the platform's cash between Stripe and the bank",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        currency = values.get("currency") or settings.PLATFORM_CURRENCY
        replay = cash_transfer_get(reference=values["reference"]) is not None
        entry = cash_transfer_record(
            direction=values["direction"],
            amount=values["amount"],
            currency=currency,
            reference=values["reference"],
            actor=user_from_request(request),
        )
        balances = platform_cash_balances(currency=currency)
        body = {
            "entry": entry.pk,
            "direction": values["direction"],
            "amount": values["amount"],
            "currency": currency,
            "reference": values["reference"].strip(),
            **balances,
        }
        return Response(
            self.OutputSerializer(body).data, status=200 if replay else status.HTTP_201_CREATED
        )


class WebhookEventListApi(generics.ListAPIView[WebhookEvent]):
    pagination_class = CursorPagination
    permission_classes = [IsFinanceReader]
    read_scope = Scope.ADMIN
    serializer_class = WebhookEventOutputSerializer
    filterset_fields = ["status", "type", "provider"]

    def get_queryset(self) -> Any:
        return webhook_event_list()

    @extend_schema(tags=["back office"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ReconciliationReportListApi(generics.ListAPIView[ReconciliationReport]):
    pagination_class = CursorPagination
    permission_classes = [IsFinanceReader]
    read_scope = Scope.ADMIN
    serializer_class = ReconciliationReportOutputSerializer
    filterset_fields = ["is_clean", "provider"]

    def get_queryset(self) -> Any:
        return reconciliation_report_list()

    @extend_schema(tags=["back office"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# --- webhooks in ------------------------------------------------------------------------------------


class StripeWebhookApi(APIView):
    """Provider events (Stripe's, or the sandbox's own), verified by their signature.

    A verified event is stored once, keyed by its id, and processed in a task; a duplicate
    answers 200 and does nothing. A bad signature or body gets a 400 and writes nothing.
    """

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes: list[Any] = []

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[],
        responses={
            200: inline_serializer(
                "WebhookReceived",
                fields={
                    "received": serializers.BooleanField(),
                    "duplicate": serializers.BooleanField(),
                },
            )
        },
        tags=["webhooks"],
        summary="Provider webhook (Stripe-Signature header required)",
    )
    def post(self, request: Request) -> Response:
        _event, created = webhook_receive(
            provider=provider_name(),
            payload=request.body,
            signature=request.META.get("HTTP_STRIPE_SIGNATURE"),
        )
        return Response({"received": True, "duplicate": not created})
