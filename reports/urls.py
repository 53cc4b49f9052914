from django.urls import path

from .views import consort, index

urlpatterns = [
    path("", index.reports_page, name="reports"),
    path("consort/", consort.consort_page, name="report-consort"),
    path("consort.svg", consort.consort_svg, name="report-consort-svg"),
    path("consort.pdf", consort.consort_pdf, name="report-consort-pdf"),
    path("consort/<str:node>/", consort.consort_listing, name="report-consort-listing"),
]
