"""Journal API routes."""

urlpatterns: list = []
