"""Tables of the write floor: one row written per request, plus an F() update of a counter."""

from django.db import models


class FloorCounter(models.Model):
    hits = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"counter {self.pk}: {self.hits}"


class FloorWrite(models.Model):
    counter = models.ForeignKey(FloorCounter, on_delete=models.CASCADE)
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"write {self.pk}"
