from django.urls import path

from . import export_views, views

urlpatterns = [
    path("lock/", views.lock_page, name="lock"),
    path("exports/", export_views.exports_page, name="exports"),
    path("exports/<int:export_id>/", export_views.export_page, name="export"),
    path("exports/<int:export_id>/download/", export_views.export_file, name="export-download"),
]
