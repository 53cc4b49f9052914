from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from sites import account_views, second_factor_views

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", account_views.password_change_page, name="password_change"),
    path("accounts/two-factor/", second_factor_views.second_factor_page, name="second-factor"),
    path(
        "accounts/two-factor/code/",
        second_factor_views.second_factor_verify_page,
        name="second-factor-verify",
    ),
    path(
        "accounts/two-factor/enrol/",
        second_factor_views.second_factor_enrol_page,
        name="second-factor-enrol",
    ),
    path(
        "accounts/two-factor/enrol/qr.svg",
        second_factor_views.second_factor_qr,
        name="second-factor-qr",
    ),
    path(
        "accounts/two-factor/recovery-codes/",
        second_factor_views.recovery_codes_page,
        name="recovery-codes-generate",
    ),
    path("accounts/password/reset/", account_views.password_reset_page, name="password-reset"),
    path(
        "accounts/password/set/<str:uidb64>/<str:token>/",
        account_views.password_set_page,
        name="password-set",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The API's documentation under the Content Security Policy. Swagger UI's start-up script
    # is fetched from its own view (?script), not inline; its stylesheet draws its icons from
    # data: images, allowed on this page alone. ReDoc would need inline styles (it writes
    # <style> elements as it runs), a worker made from a blob and an image from its maker's
    # site: its address leads to Swagger UI instead.
    path(
        "api/docs/",
        csp_update({"img-src": ["data:"]})(
            SpectacularSwaggerSplitView.as_view(
                url_name="api-schema", template_name="api_docs/swagger_ui.html"
            )
        ),
        name="api-docs",
    ),
    path("api/redoc/", RedirectView.as_view(pattern_name="api-docs"), name="api-redoc"),
    path("api/v1/", include("api.urls")),
    path("audit/", include("review.urls")),
    path("reports/", include("reports.urls")),
    path("safety/", include("safety.urls")),
    path("", include("worklist.urls")),
    path("", include("trial.urls")),
    path("", include("randomisation.urls")),
    path("", include("crf.urls")),
    path("", include("dataset.urls")),
    path("", include("sites.urls")),
]

handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
