from django.urls import include, path

from sequencer.api.app import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("sequencer.web.urls")),
]
