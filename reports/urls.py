from django.urls import path

from .views import balance, consort, dmc, index, outcome, quality, recruitment, safety

urlpatterns = [
    path("", index.reports_page, name="reports"),
    path("balance/", balance.balance_page, name="report-balance"),
    path("safety/", safety.safety_page, name="report-safety"),
    path("outcome/", outcome.outcome_page, name="report-outcome"),
    path("quality/", quality.quality_page, name="report-quality"),
    path("consort/", consort.consort_page, name="report-consort"),
    path("consort.svg", consort.consort_svg, name="report-consort-svg"),
    path("consort.pdf", consort.consort_pdf, name="report-consort-pdf"),
    path("consort/<str:node>/", consort.consort_listing, name="report-consort-listing"),
    path("recruitment/", recruitment.recruitment_page, name="report-recruitment"),
    path("recruitment.svg", recruitment.recruitment_svg, name="report-recruitment-svg"),
    path("dmc/", dmc.dmc_reports_page, name="dmc-reports"),
    path("dmc/new/", dmc.dmc_report_create, name="dmc-report-create"),
    path("dmc/<int:report_id>/", dmc.dmc_report_page, name="dmc-report"),
    path("dmc/<int:report_id>/download/", dmc.dmc_report_file, name="dmc-report-download"),
]
