from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("work/<str:role>/<str:key>/", views.section_page, name="work-section"),
]
