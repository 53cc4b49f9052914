from django.urls import path

from . import views

urlpatterns = [
    path("families/<int:family_id>/randomise/", views.randomise_page, name="family-randomise"),
    path(
        "families/<int:family_id>/allocations/<int:allocation_id>/",
        views.allocation_result,
        name="allocation-result",
    ),
    path("statistics/", views.statistics_page, name="statistics"),
    path("statistics/lists/<int:list_id>/export.csv", views.list_export, name="list-export"),
]
