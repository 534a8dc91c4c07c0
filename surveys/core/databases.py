"""Which database the statistics and export readers use: the read replica when one is configured.

`DATABASE_REPLICA_URL` adds the `replica` alias (config/settings/base.py). Reads that may lag
the primary by a moment (published tables, dashboards, exports) go there; everything else, and
every write, stays on `default`. Inside a transaction on `default` reads stay there too: the
transaction's own writes (a rebuild, a test) are visible to its connection only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"


def read_database() -> str:
    """The alias for statistics and export reads: `replica` when configured, else `default`."""
    if REPLICA not in settings.DATABASES or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return REPLICA
