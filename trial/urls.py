from django.urls import path

from . import views

urlpatterns = [
    path("screening/", views.screening_list, name="screening-list"),
    path("screening/new/", views.screening_new, name="screening-new"),
    path("screening/<int:screening_id>/", views.screening_detail, name="screening-detail"),
    path("screening/<int:screening_id>/enrol/", views.screening_enrol, name="screening-enrol"),
    path("families/", views.family_list, name="family-list"),
    path("families/<int:family_id>/", views.family_detail, name="family-detail"),
    path("families/<int:family_id>/identity/", views.family_identity, name="family-identity"),
    path("consent-versions/", views.consent_versions, name="consent-versions"),
]
