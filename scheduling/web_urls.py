"""Web page routes of this area."""

urlpatterns: list = []
