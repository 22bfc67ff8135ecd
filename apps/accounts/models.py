"""Which locations a user works for. Users with `accounts.view_all_locations` are not scoped."""

from django.conf import settings
from django.db import models


class LocationAssignment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="location_assignments")
    location = models.ForeignKey("catalog.Location", on_delete=models.CASCADE, related_name="assignments")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "location"], name="location_assignment_once")]
        permissions = [("view_all_locations", "Sees and acts on every location (not scoped to assigned stores)")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.location_id}"
