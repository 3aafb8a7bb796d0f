"""The production URLs plus the floor endpoints the pledge surge compares against.

Only `config.settings.bench` routes here: the floors are never in the production URLs.
"""

from django.db import transaction
from django.db.models import F
from django.urls import path
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import handler400, handler403, handler404, handler500
from config.urls import urlpatterns as app_urlpatterns

from .models import FloorCounter, FloorWrite

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


class FloorReadApi(APIView):
    """The read floor: DRF's request and response cycle, no database, no cache."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class FloorWriteApi(APIView):
    """The write floor: one ORM write per request (an atomic create plus an F() update)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def post(self, request: Request) -> Response:
        slot = int(request.data.get("slot", 0)) % 64 + 1
        with transaction.atomic():
            row = FloorWrite.objects.create(counter_id=slot, amount=int(request.data["amount"]))
            FloorCounter.objects.filter(pk=slot).update(hits=F("hits") + 1)
        return Response({"id": row.pk}, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("bench/floor/read", FloorReadApi.as_view()),
    path("bench/floor/write", FloorWriteApi.as_view()),
    *app_urlpatterns,
]
