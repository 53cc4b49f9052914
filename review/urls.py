from django.urls import path

from . import views

urlpatterns = [
    path("", views.review, name="audit-review"),
    path("export.csv", views.export, name="audit-export"),
    path("signoff/", views.signoff, name="audit-signoff"),
]
