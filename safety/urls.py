from django.urls import path

from . import views

urlpatterns = [
    path("", views.safety_list_page, name="safety-list"),
    path("<int:event_id>/", views.safety_event_page, name="safety-event"),
    path("report/<int:family_id>/", views.safety_report_page, name="safety-report"),
    path("unblinding/", views.unblinding_page, name="safety-unblinding"),
]
