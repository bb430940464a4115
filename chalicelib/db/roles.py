"""PostgreSQL roles: the application role's login, set by the admin `migrate` command."""

from __future__ import annotations

from chalicelib.db.base import Database
from chalicelib.errors import DomainError


def set_login(db: Database, role: str, password: str) -> None:
    """Let `role` (which must exist: the owner may not create roles) log in with `password`."""
    if not db.query("SELECT 1 AS found FROM pg_roles WHERE rolname = :r", r=role):
        raise DomainError(f"no role {role}: the owner may not create roles (CREATEROLE)")
    import pg8000.native

    db.execute(f"ALTER ROLE {role} WITH LOGIN PASSWORD {pg8000.native.literal(password)}")
