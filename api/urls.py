from django.urls import path

from crf.queries import query_close, query_reopen

from . import (
    accounts,
    audit,
    auth,
    consent_versions,
    crf,
    dataset,
    deviations,
    exports,
    families,
    me,
    memberships,
    randomisation,
    safety,
    screening,
    sites,
    worklist,
)
from .reports import balance as report_balance
from .reports import consort as report_consort
from .reports import dmc as report_dmc
from .reports import outcome as report_outcome
from .reports import quality as report_quality
from .reports import recruitment as report_recruitment
from .reports import safety as report_safety

urlpatterns = [
    path("forms/", crf.FormListView.as_view(), name="api-forms"),
    path("forms/<int:form_id>/", crf.FormDetailView.as_view(), name="api-form"),
    path(
        "families/<int:family_id>/responses/",
        crf.FamilyResponsesView.as_view(),
        name="api-responses",
    ),
    path(
        "families/<int:family_id>/responses/<int:response_id>/",
        crf.FamilyResponseView.as_view(),
        name="api-response",
    ),
    path(
        "families/<int:family_id>/responses/<int:response_id>/verify/",
        crf.ResponseVerifyView.as_view(),
        name="api-response-verify",
    ),
    path(
        "families/<int:family_id>/signatures/",
        crf.FamilySignaturesView.as_view(),
        name="api-signatures",
    ),
    path(
        "families/<int:family_id>/not-done/",
        crf.FamilyNotDoneView.as_view(),
        name="api-not-done",
    ),
    path("queries/", crf.QueryListView.as_view(), name="api-queries"),
    path("queries/<int:query_id>/", crf.QueryDetailView.as_view(), name="api-query"),
    path("queries/<int:query_id>/answer/", crf.QueryAnswerView.as_view(), name="api-query-answer"),
    path(
        "queries/<int:query_id>/close/",
        crf.QueryStepView.as_view(step=query_close),
        name="api-query-close",
    ),
    path(
        "queries/<int:query_id>/reopen/",
        crf.QueryStepView.as_view(step=query_reopen),
        name="api-query-reopen",
    ),
    path("auth/token/", auth.TokenObtainView.as_view(), name="api-token"),
    path("auth/token/revoke/", auth.TokenRevokeView.as_view(), name="api-token-revoke"),
    path("auth/password-reset/", auth.PasswordResetView.as_view(), name="api-password-reset"),
    path("auth/password-set/", auth.PasswordSetView.as_view(), name="api-password-set"),
    path("me/", me.MeView.as_view(), name="api-me"),
    path("me/password/", me.PasswordChangeView.as_view(), name="api-me-password"),
    path("accounts/", accounts.AccountListView.as_view(), name="api-accounts"),
    path("accounts/<int:user_id>/", accounts.AccountDetailView.as_view(), name="api-account"),
    path("accounts/invite/", accounts.AccountInviteView.as_view(), name="api-account-invite"),
    path(
        "accounts/<int:user_id>/unlock/",
        accounts.AccountUnlockView.as_view(),
        name="api-account-unlock",
    ),
    path(
        "accounts/<int:user_id>/two-factor/reset/",
        accounts.AccountSecondFactorResetView.as_view(),
        name="api-account-second-factor-reset",
    ),
    path(
        "accounts/<int:user_id>/active/",
        accounts.AccountActiveView.as_view(),
        name="api-account-active",
    ),
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
    path("screening/", screening.ScreeningListView.as_view(), name="api-screening"),
    path(
        "screening/<int:screening_id>/",
        screening.ScreeningDetailView.as_view(),
        name="api-screening-detail",
    ),
    path(
        "screening/<int:screening_id>/close/",
        screening.ScreeningCloseView.as_view(),
        name="api-screening-close",
    ),
    path("families/", families.FamilyListView.as_view(), name="api-families"),
    path("families/<int:family_id>/", families.FamilyDetailView.as_view(), name="api-family"),
    path(
        "families/<int:family_id>/identity/",
        families.FamilyIdentityView.as_view(),
        name="api-family-identity",
    ),
    path(
        "families/<int:family_id>/consents/",
        families.FamilyConsentsView.as_view(),
        name="api-family-consents",
    ),
    path(
        "families/<int:family_id>/consents/<int:consent_id>/correct/",
        families.ConsentCorrectView.as_view(),
        name="api-consent-correct",
    ),
    path(
        "families/<int:family_id>/withdrawals/",
        families.FamilyWithdrawalsView.as_view(),
        name="api-family-withdrawals",
    ),
    path(
        "consent-versions/",
        consent_versions.ConsentVersionListView.as_view(),
        name="api-consent-versions",
    ),
    path(
        "consent-versions/<int:version_id>/sites/",
        consent_versions.ConsentVersionActivateView.as_view(),
        name="api-consent-version-sites",
    ),
    path(
        "families/<int:family_id>/randomise/",
        randomisation.RandomiseView.as_view(),
        name="api-family-randomise",
    ),
    path("allocations/", randomisation.AllocationListView.as_view(), name="api-allocations"),
    path(
        "allocations/<int:allocation_id>/corrections/",
        randomisation.FactorCorrectionView.as_view(),
        name="api-factor-correction",
    ),
    path("randomisation/lists/", randomisation.ListsView.as_view(), name="api-lists"),
    path(
        "randomisation/lists/<int:list_id>/seal/",
        randomisation.ListSealView.as_view(),
        name="api-list-seal",
    ),
    path(
        "randomisation/lists/<int:list_id>/export/",
        randomisation.ListExportView.as_view(),
        name="api-list-export",
    ),
    path("randomisation/live/", randomisation.GoLiveView.as_view(), name="api-go-live"),
    path(
        "randomisation/report/", randomisation.DesignReportView.as_view(), name="api-design-report"
    ),
    path("audit/events/", audit.AuditEventListView.as_view(), name="api-audit-events"),
    path("audit/events/export/", audit.AuditExportView.as_view(), name="api-audit-export"),
    path("audit/signoffs/", audit.SignoffListView.as_view(), name="api-audit-signoffs"),
    path("lock/readiness/", dataset.ReadinessView.as_view(), name="api-lock-readiness"),
    path("locks/", dataset.LocksView.as_view(), name="api-locks"),
    path(
        "locks/<int:lock_id>/unlock-request/",
        dataset.UnlockRequestView.as_view(),
        name="api-unlock-request",
    ),
    path(
        "locks/<int:lock_id>/unlock-approve/",
        dataset.UnlockApproveView.as_view(),
        name="api-unlock-approve",
    ),
    path("freezes/", dataset.FreezesView.as_view(), name="api-freezes"),
    path("deviations/", deviations.DeviationListView.as_view(), name="api-deviations"),
    path("deviations.csv", deviations.DeviationCsvView.as_view(), name="api-deviations-csv"),
    path(
        "deviations/<int:deviation_id>/review/",
        deviations.DeviationReviewView.as_view(),
        name="api-deviation-review",
    ),
    path(
        "deviations/<int:deviation_id>/breach/",
        deviations.DeviationBreachFlagView.as_view(),
        name="api-deviation-breach",
    ),
    path(
        "deviations/<int:deviation_id>/breach-reported/",
        deviations.DeviationBreachReportedView.as_view(),
        name="api-deviation-breach-reported",
    ),
    path("worklist/", worklist.WorklistView.as_view(), name="api-worklist"),
    path(
        "worklist/<str:role>/<str:key>/",
        worklist.WorklistSectionView.as_view(),
        name="api-worklist-section",
    ),
    path("reports/dmc/", report_dmc.DmcReportsView.as_view(), name="api-dmc-reports"),
    path("reports/dmc/<int:report_id>/", report_dmc.DmcReportView.as_view(), name="api-dmc-report"),
    path(
        "reports/dmc/<int:report_id>/download/",
        report_dmc.DmcReportDownloadView.as_view(),
        name="api-dmc-report-download",
    ),
    path(
        "families/<int:family_id>/safety-events/",
        safety.FamilySafetyEventsView.as_view(),
        name="api-family-safety-events",
    ),
    path("safety/events/", safety.SafetyEventListView.as_view(), name="api-safety-events"),
    path("safety/events/csv/", safety.SafetyEventCsvView.as_view(), name="api-safety-events-csv"),
    path(
        "safety/events/<int:event_id>/",
        safety.SafetyEventDetailView.as_view(),
        name="api-safety-event",
    ),
    path(
        "safety/events/<int:event_id>/assess/",
        safety.SaeAssessView.as_view(),
        name="api-safety-event-assess",
    ),
    path(
        "safety/events/<int:event_id>/review/",
        safety.SaeReviewView.as_view(),
        name="api-safety-event-review",
    ),
    path(
        "safety/events/<int:event_id>/follow-up/",
        safety.SaeFollowUpView.as_view(),
        name="api-safety-event-follow-up",
    ),
    path(
        "safety/events/<int:event_id>/rec-report/",
        safety.SaeRecReportView.as_view(),
        name="api-safety-event-rec-report",
    ),
    path("safety/unblinding/", safety.UnblindingListView.as_view(), name="api-unblindings"),
    path(
        "safety/unblinding/<int:item_id>/decide/",
        safety.UnblindingDecideView.as_view(),
        name="api-unblinding-decide",
    ),
    path(
        "safety/unblinding/<int:item_id>/show/",
        safety.UnblindingShowView.as_view(),
        name="api-unblinding-show",
    ),
    path("exports/", exports.ExportsView.as_view(), name="api-exports"),
    path("exports/<int:export_id>/", exports.ExportView.as_view(), name="api-export"),
    path(
        "exports/<int:export_id>/download/",
        exports.ExportDownloadView.as_view(),
        name="api-export-download",
    ),
    path("analysis-plans/", dataset.AnalysisPlansView.as_view(), name="api-analysis-plans"),
    path(
        "freezes/<int:freeze_id>/release/",
        dataset.FreezeReleaseView.as_view(),
        name="api-freeze-release",
    ),
    path("reports/consort/", report_consort.ConsortView.as_view(), name="api-report-consort"),
    path(
        "reports/consort.csv",
        report_consort.ConsortCsvView.as_view(),
        name="api-report-consort-csv",
    ),
    path(
        "reports/consort/<str:node>/",
        report_consort.ConsortListingView.as_view(),
        name="api-report-consort-listing",
    ),
    path(
        "reports/recruitment/",
        report_recruitment.RecruitmentView.as_view(),
        name="api-report-recruitment",
    ),
    path(
        "reports/recruitment.csv",
        report_recruitment.RecruitmentCsvView.as_view(),
        name="api-report-recruitment-csv",
    ),
    path("reports/balance/", report_balance.BalanceView.as_view(), name="api-report-balance"),
    path(
        "reports/balance.csv",
        report_balance.BalanceCsvView.as_view(),
        name="api-report-balance-csv",
    ),
    path("reports/safety/", report_safety.SafetyView.as_view(), name="api-report-safety"),
    path("reports/safety.csv", report_safety.SafetyCsvView.as_view(), name="api-report-safety-csv"),
    path("reports/outcome/", report_outcome.OutcomeView.as_view(), name="api-report-outcome"),
    path(
        "reports/outcome.csv",
        report_outcome.OutcomeCsvView.as_view(),
        name="api-report-outcome-csv",
    ),
    path(
        "delegations/<int:delegation_id>/end/",
        memberships.DelegationEndView.as_view(),
        name="api-delegation-end",
    ),
    path("reports/quality/", report_quality.QualityView.as_view(), name="api-report-quality"),
    path(
        "reports/quality.csv",
        report_quality.QualityCsvView.as_view(),
        name="api-report-quality-csv",
    ),
]
