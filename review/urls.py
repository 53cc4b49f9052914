from django.urls import path

from . import validation_views, views

urlpatterns = [
    path("", views.review, name="audit-review"),
    path("export.csv", views.export, name="audit-export"),
    path("signoff/", views.signoff, name="audit-signoff"),
    path("validation/", validation_views.validation, name="validation"),
]
