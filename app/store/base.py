"""The one SQLAlchemy MetaData every store table belongs to (Alembic compares migrations against it)."""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
