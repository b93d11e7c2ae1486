"""The embedded database (DuckDB): schema, migrations, transactional batched writes."""

from hashlens.store.db import Store

__all__ = ["Store"]
