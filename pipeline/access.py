"""Read-only access for analysts (分析人员只读权限), PostgreSQL only.

``yingshang db grant-analyst ROLE`` makes ROLE able to read the analyst views (v_*) and nothing else:
no base table, no mart table, no writes. PostgreSQL views run with their owner's rights, so
SELECT on a view works without any right on the tables under it; that is what keeps unmasked or
internal columns (phone hashes, tokens, raw payloads) out of reach.
"""

from __future__ import annotations

import re

from sqlalchemy import text

from warehouse.db import get_engine
from warehouse.views import VIEW_NAMES

ROLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class AccessError(Exception):
    """The analyst role cannot be set up (one-line reason)."""


def grant_analyst(role: str, db_url: str | None = None, login: bool = False) -> str:
    """Create ``role`` if missing (NOLOGIN unless ``login``), revoke all it holds, grant SELECT on the views.

    Steps, all in one transaction: revoke every privilege of the role on the tables, sequences and
    schema of the warehouse; revoke CREATE on the schema from PUBLIC (PostgreSQL < 15 grants it, and
    it would let the role create tables); grant CONNECT on the database, USAGE on the schema, SELECT
    on each v_* view; make the role's sessions in this database read-only by default.
    Returns a one-line summary; raises :class:`AccessError` with a one-line reason.
    """
    engine = get_engine(db_url)
    if engine.dialect.name != "postgresql":
        raise AccessError(f"grant-analyst needs PostgreSQL; this warehouse is {engine.dialect.name}, which has "
                          "no roles (give analysts a read-only copy of the file instead)")
    if not ROLE_RE.match(role or ""):
        raise AccessError(f"{role!r} is not a plain role name (letters, digits and _, at most 63, not starting "
                          "with a digit)")
    with engine.begin() as conn:
        q = conn.dialect.identifier_preparer.quote
        schema, database = conn.execute(text("SELECT current_schema(), current_database()")).one()
        views = [v for (v,) in conn.execute(
            text("SELECT table_name FROM information_schema.views WHERE table_schema = :s"), {"s": schema})
            if v in VIEW_NAMES]
        if not views:
            raise AccessError(f"no analyst views in {database}.{schema}: run `yingshang db upgrade` first")
        existing = conn.execute(text("SELECT rolcanlogin, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"),
                                {"r": role}).first()
        r, s = q(role), q(schema)
        notes = []
        if existing is None:
            conn.execute(text(f"CREATE ROLE {r} {'LOGIN' if login else 'NOLOGIN'}"))
            notes.append("created " + ("LOGIN (set its password with ALTER ROLE … PASSWORD)" if login else
                                       "NOLOGIN (GRANT it to login roles, or ALTER ROLE … LOGIN PASSWORD …)"))
        else:
            can_login, is_super, bypass = existing
            if is_super:
                raise AccessError(f"role {role} is a superuser: it can read everything whatever is granted; "
                                  "use another role")
            if login and not can_login:
                conn.execute(text(f"ALTER ROLE {r} LOGIN"))
            notes.append("existing role, " + ("can log in" if (can_login or login) else "NOLOGIN"))
        conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}"))
        conn.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}"))
        conn.execute(text(f"REVOKE ALL ON SCHEMA {s} FROM {r}"))
        conn.execute(text(f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC"))
        conn.execute(text(f"GRANT CONNECT ON DATABASE {q(database)} TO {r}"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA {s} TO {r}"))
        for v in views:
            conn.execute(text(f"GRANT SELECT ON {s}.{q(v)} TO {r}"))
        conn.execute(text(f"ALTER ROLE {r} IN DATABASE {q(database)} SET default_transaction_read_only = on"))
        public = conn.execute(text(
            "SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = 'PUBLIC' "
            "AND table_schema = :s AND table_name NOT LIKE 'v\\_%'"), {"s": schema}).scalar_one()
        if public:
            notes.append(f"WARNING: PUBLIC holds {public} privilege(s) on tables of {schema}, which every role "
                         "inherits")
        member_of = [m for (m,) in conn.execute(text(
            "SELECT b.rolname FROM pg_auth_members am JOIN pg_roles a ON a.oid = am.member "
            "JOIN pg_roles b ON b.oid = am.roleid WHERE a.rolname = :r"), {"r": role})]
        if member_of:
            notes.append(f"WARNING: {role} is a member of {', '.join(sorted(member_of))} and inherits its rights")
    return (f"role {role}: SELECT on {len(views)} views in {database}.{schema} and nothing else; "
            + "; ".join(notes))
