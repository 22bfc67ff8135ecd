"""Admin for core (outbox, incidents), and the admin building blocks the domain apps share.

The admin is a superuser's tool. Ledgers, the outbox and anything a service owns are shown
read-only: the services are the only writers.
"""

from django.contrib import admin
from django.http import HttpRequest

from apps.core.models import Incident, IncidentEvent, OutboxDelivery, OutboxEvent


class SuperuserAdmin(admin.ModelAdmin):
    """Visible to superusers only, whatever model permissions a staff user holds."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser


class ReadOnlyAdmin(SuperuserAdmin):
    """Look, never touch: rows are written by services (or are append-only in the database)."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class OutboxDeliveryInline(ReadOnlyInline):
    model = OutboxDelivery
    fields = ("handler", "delivered_at")


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "aggregate_type", "aggregate_id", "status", "attempts", "created_at", "delivered_at")
    list_filter = ("status", "name")
    search_fields = ("=aggregate_id", "name")
    date_hierarchy = "created_at"
    inlines = [OutboxDeliveryInline]


@admin.register(OutboxDelivery)
class OutboxDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "event", "handler", "delivered_at")
    list_select_related = ("event",)
    search_fields = ("handler",)


class IncidentEventInline(ReadOnlyInline):
    model = IncidentEvent
    fields = ("at", "action", "from_status", "to_status", "actor", "note", "changes")
    ordering = ("at", "id")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    """Read-only: the exception queue is worked in the portal (Exceptions) or the API, through the services."""

    list_display = (
        "id",
        "kind",
        "severity",
        "status",
        "owner_team",
        "location",
        "assignee",
        "title",
        "occurrences",
        "created_at",
        "due_at",
    )
    list_filter = ("status", "severity", "owner_team", "kind")
    list_select_related = ("location", "assignee")
    search_fields = ("title", "dedupe_key")
    date_hierarchy = "created_at"
    inlines = [IncidentEventInline]
