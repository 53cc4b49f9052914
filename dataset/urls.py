from django.urls import path

from . import views

urlpatterns = [
    path("lock/", views.lock_page, name="lock"),
]
