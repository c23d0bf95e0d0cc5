"""URL routes: pages, the REST API, the admin and health."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from .web import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("flows/", views.flow_list, name="flow-list"),
    path("flows/<str:name>/", views.flow_detail, name="flow-detail"),
    path("executions/", views.execution_list, name="execution-list"),
    path("executions/<uuid:execution_id>/", views.execution_detail, name="execution-detail"),
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", include("workflows.api.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
