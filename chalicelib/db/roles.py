"""PostgreSQL roles: the application role's login, set by the admin `migrate` command."""

from __future__ import annotations

import base64

from chalicelib.db.base import Database
from chalicelib.errors import DomainError

SCRAM_ITERATIONS = 4096  # PostgreSQL's own default (scram_iterations)


def scram_verifier(password: str, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password`, computed here, as psql's
    \\password does: the server is sent this, never the password, so no log line (a failing
    or slow statement is logged with its text) can hold the password."""
    from scramp import ScramMechanism  # pg8000's own dependency

    mechanism = ScramMechanism("SCRAM-SHA-256")
    salt, stored, server, count = mechanism.make_auth_info(password, iteration_count=iterations)

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${count}:{b64(salt)}${b64(stored)}:{b64(server)}"


def set_login(db: Database, role: str, password: str) -> None:
    """Let `role` (which must exist: the owner may not create roles) log in with `password`."""
    if not db.query("SELECT 1 AS found FROM pg_roles WHERE rolname = :r", r=role):
        raise DomainError(f"no role {role}: the owner may not create roles (CREATEROLE)")
    import pg8000.native

    verifier = pg8000.native.literal(scram_verifier(password))
    db.execute(f"ALTER ROLE {role} WITH LOGIN PASSWORD {verifier}")
