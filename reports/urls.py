from django.urls import path

from .views import dmc, index

urlpatterns = [
    path("", index.reports_page, name="reports"),
    path("dmc/", dmc.dmc_reports_page, name="dmc-reports"),
    path("dmc/new/", dmc.dmc_report_create, name="dmc-report-create"),
    path("dmc/<int:report_id>/", dmc.dmc_report_page, name="dmc-report"),
    path("dmc/<int:report_id>/download/", dmc.dmc_report_file, name="dmc-report-download"),
]
