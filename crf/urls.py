from django.urls import path

from . import views

urlpatterns = [
    path("forms/", views.dashboard, name="crf-dashboard"),
    path("families/<int:family_id>/casebook/", views.casebook_page, name="crf-casebook"),
    path(
        "families/<int:family_id>/enter/<slug:visit>/<slug:form>/",
        views.entry_page,
        name="crf-entry",
    ),
    path(
        "families/<int:family_id>/forms/<int:definition_id>/preview/",
        views.preview_fields,
        name="crf-preview",
    ),
    path(
        "families/<int:family_id>/responses/<int:response_id>/",
        views.response_page,
        name="crf-response",
    ),
    path("families/<int:family_id>/sign/", views.sign_page, name="crf-sign"),
]
