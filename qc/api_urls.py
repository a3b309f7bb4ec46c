"""API routes of this area, under /api/v1/."""

urlpatterns: list = []
