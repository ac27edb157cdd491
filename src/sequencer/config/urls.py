from django.urls import include, path

from sequencer.api.app import api
from sequencer.web.metrics_endpoint import metrics

urlpatterns = [
    path("api/v1/", api.urls),
    path("metrics", metrics),
    path("", include("sequencer.web.urls")),
]
