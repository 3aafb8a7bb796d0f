from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.serializers import (
    StrictCharField,
    StrictEmailField,
    StrictInputSerializer,
    StrictIntegerField,
)
from payments.apis import DisbursementOutputSerializer, PaymentForPayerOutputSerializer

from .enums import PublicIdentity, Scope
from .exceptions import InvalidCredentialsError
from .exports import user_data_export
from .models import ApiToken, Membership, User
from .payment_handlers import membership_end_with_payback, membership_shares_purchase
from .permissions import IsStaffReader
from .selectors import api_token_list, membership_active_get, user_from_request, user_roles
from .services import (
    api_token_create,
    api_token_revoke,
    password_reset_confirm,
    password_reset_request,
    user_create,
    user_delete,
    user_update,
)


class UserOutputSerializer(serializers.ModelSerializer[User]):
    roles = serializers.SerializerMethodField()
    public_name = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "display_name",
            "public_identity",
            "public_name",
            "language",
            "date_joined",
            "roles",
        ]

    def get_roles(self, user: User) -> list[str]:
        return sorted(user_roles(user=user))


class MembershipOutputSerializer(serializers.ModelSerializer[Membership]):
    votes = serializers.IntegerField(read_only=True)
    capital = serializers.IntegerField(read_only=True)

    class Meta:
        model = Membership
        fields = [
            "shares",
            "share_price",
            "capital",
            "currency",
            "status",
            "votes",
            "joined_at",
            "ended_at",
        ]


class SignupApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_scope = "auth"

    class InputSerializer(StrictInputSerializer):
        email = StrictEmailField(max_length=254)
        password = StrictCharField(max_length=128, trim_whitespace=False)
        display_name = StrictCharField(max_length=120, required=False, allow_blank=True, default="")
        language = serializers.ChoiceField(choices=["fr", "en"], required=False, default="fr")
        public_identity = serializers.ChoiceField(
            choices=PublicIdentity.choices, required=False, default=PublicIdentity.PSEUDONYM
        )

    @extend_schema(request=InputSerializer, responses={201: UserOutputSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_create(**data.validated_data)
        login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_scope = "auth"

    class InputSerializer(StrictInputSerializer):
        email = StrictEmailField(max_length=254)
        password = StrictCharField(max_length=128, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses={200: UserOutputSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=data.validated_data["email"],
            password=data.validated_data["password"],
        )
        if user is None:
            raise InvalidCredentialsError()
        login(request._request, user)
        return Response(UserOutputSerializer(user).data)


class LogoutApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_scope = "auth"

    class InputSerializer(StrictInputSerializer):
        email = StrictEmailField(max_length=254)

    @extend_schema(request=InputSerializer, responses={202: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset_request(email=data.validated_data["email"])
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_scope = "auth"

    class InputSerializer(StrictInputSerializer):
        uid = StrictCharField(max_length=64)
        token = StrictCharField(max_length=128)
        password = StrictCharField(max_length=128, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset_confirm(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    read_scope = Scope.READ_PROFILE
    write_scope = Scope.WRITE_PROFILE

    class UpdateSerializer(StrictInputSerializer):
        display_name = StrictCharField(max_length=120, required=False, allow_blank=True)
        language = serializers.ChoiceField(choices=["fr", "en"], required=False)
        public_identity = serializers.ChoiceField(choices=PublicIdentity.choices, required=False)

    class DeleteSerializer(StrictInputSerializer):
        password = StrictCharField(max_length=128, trim_whitespace=False)

    @extend_schema(responses={200: UserOutputSerializer}, tags=["profile"])
    def get(self, request: Request) -> Response:
        return Response(UserOutputSerializer(user_from_request(request)).data)

    @extend_schema(
        request=UpdateSerializer, responses={200: UserOutputSerializer}, tags=["profile"]
    )
    def patch(self, request: Request) -> Response:
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_update(user=user_from_request(request), data=data.validated_data)
        return Response(UserOutputSerializer(user).data)

    @extend_schema(
        request=DeleteSerializer,
        responses={204: None},
        tags=["profile"],
        summary="Delete my account (GDPR)",
    )
    def delete(self, request: Request) -> Response:
        data = self.DeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not user_from_request(request).check_password(data.validated_data["password"]):
            raise InvalidCredentialsError(
                "The password is wrong.", fields={"password": ["The password is wrong."]}
            )
        user_delete(user=user_from_request(request))
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeExportApi(APIView):
    read_scope = Scope.READ_PROFILE

    @extend_schema(
        responses={
            200: inline_serializer(
                "DataExport",
                fields={
                    "generated_at": serializers.DateTimeField(),
                    "format": serializers.CharField(),
                },
            )
        },
        tags=["profile"],
        summary="Export all my data (GDPR)",
    )
    def get(self, request: Request) -> Response:
        response = Response(user_data_export(user=user_from_request(request)))
        response["Content-Disposition"] = 'attachment; filename="bien-commun-export.json"'
        return response


class MeMembershipApi(APIView):
    read_scope = Scope.READ_PROFILE

    @extend_schema(responses={200: MembershipOutputSerializer}, tags=["profile"])
    def get(self, request: Request) -> Response:
        membership = membership_active_get(user=user_from_request(request))
        if membership is None:
            return Response(
                {
                    "error": {
                        "code": "not_a_member",
                        "message": "You do not hold a cooperative share.",
                        "fields": {},
                    }
                },
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(MembershipOutputSerializer(membership).data)


class ApiTokenOutputSerializer(serializers.ModelSerializer[ApiToken]):
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "scopes",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "is_active",
        ]


class ApiTokenListCreateApi(APIView):
    """Token management needs a session: a token cannot mint tokens."""

    class InputSerializer(StrictInputSerializer):
        name = StrictCharField(max_length=80)
        scopes = serializers.ListField(
            child=serializers.ChoiceField(choices=Scope.choices),
            allow_empty=False,
            max_length=len(Scope),
        )
        expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    class CreatedSerializer(ApiTokenOutputSerializer):
        token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

        class Meta(ApiTokenOutputSerializer.Meta):
            fields = [*ApiTokenOutputSerializer.Meta.fields, "token"]

    @extend_schema(responses={200: ApiTokenOutputSerializer(many=True)}, tags=["tokens"])
    def get(self, request: Request) -> Response:
        tokens = api_token_list(user=user_from_request(request))
        return Response(ApiTokenOutputSerializer(tokens, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: CreatedSerializer}, tags=["tokens"])
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = api_token_create(user=user_from_request(request), **data.validated_data)
        body = dict(ApiTokenOutputSerializer(token).data)
        body["token"] = raw
        return Response(body, status=status.HTTP_201_CREATED)


class ApiTokenRevokeApi(APIView):
    @extend_schema(request=None, responses={200: ApiTokenOutputSerializer}, tags=["tokens"])
    def delete(self, request: Request, token_id: int) -> Response:
        token = get_object_or_404(ApiToken, pk=token_id, user=user_from_request(request))
        with transaction.atomic():
            token = api_token_revoke(token=token)
        return Response(ApiTokenOutputSerializer(token).data)


class MemberListApi(generics.ListAPIView[User]):
    """People, their roles and shares, for the treasurer, moderators and auditors."""

    permission_classes = [IsStaffReader]
    read_scope = Scope.ADMIN
    queryset = User.objects.prefetch_related("role_grants", "memberships")

    class OutputSerializer(serializers.ModelSerializer[User]):
        roles = serializers.SerializerMethodField()
        shares = serializers.SerializerMethodField()

        class Meta:
            model = User
            fields = [
                "id",
                "email",
                "display_name",
                "public_name",
                "date_joined",
                "is_active",
                "roles",
                "shares",
            ]

        def get_roles(self, user: User) -> list[str]:
            roles = {"supporter", *(g.role for g in user.role_grants.all())}
            if any(m.status == "active" for m in user.memberships.all()):
                roles.add("member")
            return sorted(roles)

        def get_shares(self, user: User) -> int:
            return sum(m.shares for m in user.memberships.all() if m.status == "active")

    serializer_class = OutputSerializer

    @extend_schema(tags=["back office"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class MembershipSharesBuyApi(APIView):
    """Buy cooperative shares: a payment of shares × the share price, then confirmed by the
    browser (Stripe.js, or the sandbox form). The shares count once the payment succeeds."""

    write_scope = Scope.WRITE_SAVINGS

    class InputSerializer(StrictInputSerializer):
        shares = StrictIntegerField(
            min_value=1, max_value=settings.MEMBERSHIP_MAX_SHARES_PER_PURCHASE
        )
        idempotency_key = StrictCharField(
            max_length=80,
            required=False,
            default="",
            help_text="Your key for this purchase: sending it again gives the same payment.",
        )

    @extend_schema(
        request=InputSerializer, responses={201: PaymentForPayerOutputSerializer}, tags=["profile"]
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = membership_shares_purchase(
            user=user_from_request(request),
            shares=data.validated_data["shares"],
            idempotency_key=data.validated_data["idempotency_key"] or None,
        )
        return Response(
            PaymentForPayerOutputSerializer(payment).data, status=status.HTTP_201_CREATED
        )


class MembershipEndApi(APIView):
    """End my membership. The vote ends now; the shares are paid back to my payout account
    once the treasurer approves the disbursement."""

    write_scope = Scope.WRITE_PROFILE

    class OutputSerializer(serializers.Serializer[Any]):
        membership = MembershipOutputSerializer()
        disbursement = DisbursementOutputSerializer(allow_null=True)

    @extend_schema(request=None, responses={200: OutputSerializer}, tags=["profile"])
    def post(self, request: Request) -> Response:
        membership, disbursement = membership_end_with_payback(user=user_from_request(request))
        body = {"membership": membership, "disbursement": disbursement}
        return Response(self.OutputSerializer(body).data)
