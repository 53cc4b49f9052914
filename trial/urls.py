from django.urls import path

from . import deviation_views, views

urlpatterns = [
    path("screening/", views.screening_list, name="screening-list"),
    path("screening/new/", views.screening_new, name="screening-new"),
    path("screening/<int:screening_id>/", views.screening_detail, name="screening-detail"),
    path("screening/<int:screening_id>/enrol/", views.screening_enrol, name="screening-enrol"),
    path("families/", views.family_list, name="family-list"),
    path("families/<int:family_id>/", views.family_detail, name="family-detail"),
    path("families/<int:family_id>/identity/", views.family_identity, name="family-identity"),
    path("consent-versions/", views.consent_versions, name="consent-versions"),
    path("deviations/", deviation_views.deviation_log, name="deviations"),
    path(
        "deviations/<int:deviation_id>/",
        deviation_views.deviation_detail,
        name="deviation-detail",
    ),
    path(
        "deviations/<int:deviation_id>/review/",
        deviation_views.deviation_review_page,
        name="deviation-review",
    ),
    path(
        "deviations/<int:deviation_id>/breach/",
        deviation_views.deviation_breach_page,
        name="deviation-breach",
    ),
    path(
        "deviations/<int:deviation_id>/breach-reported/",
        deviation_views.deviation_breach_reported_page,
        name="deviation-breach-reported",
    ),
    path(
        "families/<int:family_id>/deviations/new/",
        deviation_views.deviation_new,
        name="deviation-new",
    ),
]
