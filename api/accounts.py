from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channels import Channel
from sites.accounts import account_create, account_set_active
from sites.invitations import account_invite, account_unlock
from sites.second_factor import second_factor_reset
from sites.selectors import users_visible_to
from trial.selectors import trial_named

from .permissions import ManagerWrites


class AccountOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.EmailField()
    is_active = serializers.BooleanField()


class AccountCreateIn(serializers.Serializer):
    trial = serializers.CharField(required=False)
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField()
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)


class AccountListView(generics.ListAPIView):
    """Accounts: a trial manager sees their trial's accounts; anyone else, only their own."""

    serializer_class = AccountOut
    permission_classes = [ManagerWrites]

    def get_queryset(self):
        return users_visible_to(self.request.user).order_by("username")

    @extend_schema(
        request=AccountCreateIn,
        responses={201: AccountOut},
        summary="Create an account (trial manager); grant roles separately",
    )
    def post(self, request):
        data = AccountCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        trial = trial_named(request.user, fields.pop("trial", None))
        user = account_create(actor=request.user, channel=Channel.API, trial=trial, **fields)
        return Response(AccountOut(user).data, status=status.HTTP_201_CREATED)


class AccountDetailView(generics.RetrieveAPIView):
    serializer_class = AccountOut
    permission_classes = [ManagerWrites]
    lookup_url_kwarg = "user_id"

    def get_queryset(self):
        return users_visible_to(self.request.user)


class AccountActiveIn(serializers.Serializer):
    trial = serializers.CharField(required=False, max_length=20)
    active = serializers.BooleanField(help_text="false disables the account; true enables it")
    reason = serializers.CharField(max_length=2000, help_text="why (kept in the audit trail)")


def _account_act(request, user_id: int, serializer, service) -> Response:
    """A trial manager's act on one account: the body checked by `serializer`, the trial it
    names (or the only one), then `service` with the actor, channel, trial and account."""
    account = get_object_or_404(users_visible_to(request.user), pk=user_id)
    data = serializer(data=request.data)
    data.is_valid(raise_exception=True)
    fields = dict(data.validated_data)
    trial = trial_named(request.user, fields.pop("trial", None))
    done = service(actor=request.user, channel=Channel.API, trial=trial, user=account, **fields)
    return Response(AccountOut(done).data)


class AccountActiveView(APIView):
    permission_classes = [ManagerWrites]

    @extend_schema(
        request=AccountActiveIn,
        responses=AccountOut,
        summary="Disable an account (its tokens are revoked at once) or enable it again",
    )
    def post(self, request, user_id: int):
        return _account_act(request, user_id, AccountActiveIn, account_set_active)


class AccountInviteIn(serializers.Serializer):
    trial = serializers.CharField(required=False, max_length=20)
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField()
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class AccountInviteView(APIView):
    permission_classes = [ManagerWrites]

    @extend_schema(
        request=AccountInviteIn,
        responses={201: AccountOut},
        summary="Invite a user: an account with no password, and an email with a one-time "
        "link to set one (trial manager)",
    )
    def post(self, request):
        data = AccountInviteIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        trial = trial_named(request.user, fields.pop("trial", None))
        user = account_invite(
            actor=request.user,
            channel=Channel.API,
            trial=trial,
            base_url=request.build_absolute_uri("/"),
            **fields,
        )
        return Response(AccountOut(user).data, status=status.HTTP_201_CREATED)


class AccountUnlockIn(serializers.Serializer):
    trial = serializers.CharField(required=False, max_length=20)
    reason = serializers.CharField(max_length=2000, help_text="why (kept in the audit trail)")


class AccountUnlockView(APIView):
    permission_classes = [ManagerWrites]

    @extend_schema(
        request=AccountUnlockIn,
        responses=AccountOut,
        summary="Lift a lockout after failed sign-ins, with a reason (trial manager)",
    )
    def post(self, request, user_id: int):
        return _account_act(request, user_id, AccountUnlockIn, account_unlock)


class AccountSecondFactorResetView(APIView):
    permission_classes = [ManagerWrites]

    @extend_schema(
        request=AccountUnlockIn,
        responses=AccountOut,
        summary="Reset an account's second factor (a lost phone), with a reason (trial "
        "manager): they set it up again at their next sign-in; their API tokens are revoked",
    )
    def post(self, request, user_id: int):
        return _account_act(request, user_id, AccountUnlockIn, second_factor_reset)
