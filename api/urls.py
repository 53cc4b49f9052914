from django.urls import path

from . import accounts, audit, auth, me, memberships, sites

urlpatterns = [
    path("auth/token/", auth.TokenObtainView.as_view(), name="api-token"),
    path("auth/token/revoke/", auth.TokenRevokeView.as_view(), name="api-token-revoke"),
    path("me/", me.MeView.as_view(), name="api-me"),
    path("accounts/", accounts.AccountListView.as_view(), name="api-accounts"),
    path("sites/", sites.SiteListView.as_view(), name="api-sites"),
    path("sites/<int:site_id>/", sites.SiteDetailView.as_view(), name="api-site"),
    path("sites/<int:site_id>/status/", sites.SiteStatusView.as_view(), name="api-site-status"),
    path("memberships/", memberships.MembershipListView.as_view(), name="api-memberships"),
    path(
        "memberships/<int:membership_id>/",
        memberships.MembershipDetailView.as_view(),
        name="api-membership",
    ),
    path(
        "memberships/<int:membership_id>/end/",
        memberships.MembershipEndView.as_view(),
        name="api-membership-end",
    ),
    path(
        "memberships/<int:membership_id>/delegations/",
        memberships.DelegationListView.as_view(),
        name="api-delegations",
    ),
    path("audit/events/", audit.AuditEventListView.as_view(), name="api-audit-events"),
    path("audit/events/export/", audit.AuditExportView.as_view(), name="api-audit-export"),
    path("audit/signoffs/", audit.SignoffListView.as_view(), name="api-audit-signoffs"),
    path(
        "delegations/<int:delegation_id>/end/",
        memberships.DelegationEndView.as_view(),
        name="api-delegation-end",
    ),
]
