from django.urls import path

from . import account_views, views

urlpatterns = [
    path("sites/", views.site_list, name="site-list"),
    path("sites/new/", views.site_register_page, name="site-register"),
    path("sites/<int:site_id>/", views.site_detail, name="site-detail"),
    path("sites/<int:site_id>/edit/", views.site_edit_page, name="site-edit"),
    path("sites/<int:site_id>/status/", views.site_status_page, name="site-status"),
    path("people/", views.people_page, name="people"),
    path("people/accounts/new/", views.account_create_page, name="account-create"),
    path("people/accounts/<int:user_id>/", account_views.account_page, name="account"),
    path(
        "people/accounts/<int:user_id>/active/",
        account_views.account_active_page,
        name="account-active",
    ),
    path(
        "people/accounts/<int:user_id>/unlock/",
        account_views.account_unlock_page,
        name="account-unlock",
    ),
    path(
        "people/accounts/<int:user_id>/two-factor/reset/",
        account_views.second_factor_reset_page,
        name="account-second-factor-reset",
    ),
    path("people/accounts/invite/", account_views.account_invite_page, name="account-invite"),
    path("people/roles/<int:membership_id>/", views.membership_page, name="membership"),
    path(
        "people/duties/<int:delegation_id>/end/", views.delegation_end_page, name="delegation-end"
    ),
]
