"""URLs of the staff portal, included last from the root URLconf."""

from django.urls import path

from apps.core.ui import portal_urls

urlpatterns = [path("", portal_urls())]
