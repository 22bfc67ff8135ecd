"""The staff portal: one viewflow Site; each domain app registers its Application from its own ui.py."""

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch
from django.urls.resolvers import RoutePattern
from django.utils.module_loading import autodiscover_modules
from viewflow.urls import Application, Site
from viewflow.urls.base import _URLResolver

View = Callable[..., HttpResponse]


def _portal_view(view: View) -> View:
    """login_required for every page of the site (viewflow's own index redirects included), then
    what viewflow's SiteMiddleware does: the site/app permission check, and site, app and viewset
    on request.resolver_match, where viewflow's templates look for them.

    viewflow's app config auto-registers SiteMiddleware (settings VIEWFLOW["AUTOREGISTER"]); doing
    it here as well keeps the portal correct if that is ever switched off.
    """

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        match = request.resolver_match
        extra = getattr(match.url_name, "extra", {}) if match else {}
        for key in ("site", "app"):
            scope = extra.get(key)
            if scope is not None and not scope.has_view_permission(request.user):
                raise PermissionDenied
        for name, value in extra.items():
            setattr(match, name, value)
        return view(request, *args, **kwargs)

    return wrapped


class PortalApplication(Application):
    """An Application that needs the model permission in `permission` (e.g. "orders.view_order").

    Anonymous users pass this check: SiteMiddleware runs it before any view, and a 403 there would
    pre-empt the login redirect that _portal_view gives them (every portal view is wrapped in it).
    """

    base_template_name = "portal/base_page.html"
    menu_position = 100

    def has_view_permission(self, user: Any, obj: Any = None) -> bool:
        return not user.is_authenticated or super().has_view_permission(user, obj=obj)


class _PortalResolver(_URLResolver):
    def resolve(self, *args: Any, **kwargs: Any) -> ResolverMatch:
        match = super().resolve(*args, **kwargs)
        match.func = _portal_view(match.func)
        return match


class PortalSite(Site):
    """A viewflow Site whose every view requires login and the site/app view permission."""

    def register(self, app_class: type) -> type:
        """Class decorator for an Application (viewflow's own `register` leaves it out of the menu)."""
        app = app_class()
        self.viewsets.append(app)
        self._children.append(app)
        self.viewsets.sort(key=lambda a: getattr(a, "menu_position", 100))
        self._children.sort(key=lambda a: getattr(a, "menu_position", 100))
        return app_class

    @property
    def urls(self):  # type: ignore[override]
        if self._urls_cache is None:
            self._urls_cache = self._get_urls()
        resolver = _PortalResolver(
            RoutePattern("", is_endpoint=False), self._urls_cache, extra=self._get_resolver_extra()
        )
        return [resolver], self.app_name, self.namespace or self.app_name


site = PortalSite(title="RetailOps", viewsets=[], primary_color="#1f4e79", secondary_color="#e07a1f")


def portal_urls() -> tuple[list, str | None, str | None]:
    """Import every installed app's `ui` module (each registers its Application), then build the URLs."""
    autodiscover_modules("ui")
    return site.urls


# core's own application (the exception queue); autodiscover imports only `<app>.ui` modules.
from apps.core import ui_exceptions  # noqa: E402, F401
