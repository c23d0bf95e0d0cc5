"""URL routes: pages, the REST API, the admin and health."""

from __future__ import annotations

from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .api import errors as api_errors
from .web import accounts, views

# Under /api/ even an unrouted URL (a malformed execution id, say) answers with the
# API's JSON error body, as the OpenAPI schema documents.
handler404 = api_errors.not_found
handler500 = api_errors.server_error

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("flows/", views.flow_list, name="flow-list"),
    path("flows/<str:name>/", views.flow_detail, name="flow-detail"),
    path("executions/", views.execution_list, name="execution-list"),
    path("executions/<uuid:execution_id>/", views.execution_detail, name="execution-detail"),
    path("healthz", views.healthz, name="healthz"),
    path("account/token/", views.api_token, name="api-token"),
    path("audit/", views.audit_trail, name="audit"),
    path("api/v1/", include("workflows.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script from a URL instead of inline, so
    # the docs page needs no inline script. Its stylesheet draws icons as data: SVG images
    # (an <img>-like use: no script runs in them), hence img-src data: on this page alone.
    path(
        "api/docs/",
        csp_update({"img-src": ["data:"]})(
            SpectacularSwaggerSplitView.as_view(
                url_name="api-schema", template_name="legato/swagger_ui.html"
            )
        ),
        name="api-docs",
    ),
    # Sign-in, sign-out and password change; no password reset by e-mail (docs/security.md).
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", accounts.PasswordChange.as_view(), name="password_change"),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # Ahead of the admin's own route, so its password page counts wrong old passwords too.
    path("admin/password_change/", admin.site.admin_view(accounts.admin_password_change)),
    path("admin/", admin.site.urls),
]
