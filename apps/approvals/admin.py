"""Admin for approvals: policies and their levels are data that superusers edit here; requests, tasks,
delegations and the audit trail are written by apps.approvals.services and shown read-only."""

from django.contrib import admin

from apps.approvals.models import (
    ApprovalEvent,
    ApprovalPolicy,
    ApprovalPolicyLevel,
    ApprovalRequest,
    ApprovalTask,
    Delegation,
)
from apps.core.admin import ReadOnlyAdmin, ReadOnlyInline, SuperuserAdmin


class ApprovalPolicyLevelInline(admin.TabularInline):
    model = ApprovalPolicyLevel
    extra = 0
    fields = ("level", "threshold", "permission", "group", "sla_hours")
    ordering = ("level",)


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(SuperuserAdmin):
    list_display = ("name", "subject_type", "metric", "active", "level_summary", "updated_at")
    list_filter = ("active", "subject_type", "metric")
    search_fields = ("name", "subject_type")
    inlines = [ApprovalPolicyLevelInline]

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        # Requests keep a reference to the policy that applied: deactivate instead of deleting.
        return request.user.is_active and request.user.is_superuser and (obj is None or not obj.requests.exists())

    @admin.display(description="Levels")
    def level_summary(self, policy: ApprovalPolicy) -> str:
        return "; ".join(f"> {lv.threshold}: {lv.permission} ({lv.sla_hours} h)" for lv in policy.levels.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("levels")


class ApprovalTaskInline(ReadOnlyInline):
    model = ApprovalTask
    fk_name = "process"
    fields = ("level", "status", "owner", "claimed_on_behalf_of", "due_at", "escalated_at", "decision", "decided_by")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(flow_task_type="HUMAN")


class ApprovalEventInline(ReadOnlyInline):
    model = ApprovalEvent
    fk_name = "request"
    fields = ("at", "action", "level", "actor", "on_behalf_of", "comment")


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "subject_type", "subject_id", "summary", "value", "levels", "current_level", "outcome")
    list_filter = ("outcome", "subject_type")
    search_fields = ("=subject_id", "summary")
    exclude = ("data", "seed_content_type", "seed_object_id", "artifact_content_type", "artifact_object_id")
    inlines = [ApprovalEventInline]


@admin.register(ApprovalTask)
class ApprovalTaskAdmin(ReadOnlyAdmin):
    list_display = ("id", "process", "level", "status", "owner", "due_at", "escalated_at", "decision", "decided_by")
    list_filter = ("status", "decision")
    list_select_related = ("owner", "decided_by")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(flow_task_type="HUMAN")


@admin.register(Delegation)
class DelegationAdmin(ReadOnlyAdmin):
    list_display = ("id", "delegator", "delegate", "valid_from", "valid_until", "revoked_at", "created_by")
    list_select_related = ("delegator", "delegate", "created_by")


@admin.register(ApprovalEvent)
class ApprovalEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "at", "action", "request", "level", "actor", "on_behalf_of", "comment")
    list_filter = ("action",)
    list_select_related = ("actor", "on_behalf_of")
    date_hierarchy = "at"
