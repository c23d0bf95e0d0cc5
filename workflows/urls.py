"""URL routes: pages, the REST API, the admin and health."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .web import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("flows/", views.flow_list, name="flow-list"),
    path("flows/<str:name>/", views.flow_detail, name="flow-detail"),
    path("executions/", views.execution_list, name="execution-list"),
    path("executions/<uuid:execution_id>/", views.execution_detail, name="execution-detail"),
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", include("workflows.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
