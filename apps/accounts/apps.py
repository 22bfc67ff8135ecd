"""Accounts: roles (Django groups with permissions) and the locations a user is scoped to."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        from apps.accounts.roles import sync_roles_after_migrate

        # Permissions are created after migrations run (per app, in INSTALLED_APPS order), so the
        # roles are re-synced once the last app has created its own: a permission added by any
        # app's migration reaches its roles on the same migrate.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="accounts.sync_roles")
