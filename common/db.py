"""Database routing: public pages and exports may read from a replica."""

from typing import Any

from django.conf import settings


def replica_alias() -> str:
    """The alias for lag-tolerant reads (public pages, exports): the replica when configured."""
    return "replica" if "replica" in settings.DATABASES else "default"


class ReplicaRouter:
    """Writes and ordinary reads use the primary; lag-tolerant reads opt in with
    `.using(replica_alias())`, so a request never misses its own write."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db == "default"
