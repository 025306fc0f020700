"""docs/data_dictionary.md and the migrated schema must agree (tables, views, columns, types).

The dictionary's format: one ``### name`` heading per table or view, followed by a markdown table
``| column | type | meaning | example |``. The test upgrades an empty database (SQLite, and
PostgreSQL when YINGSHANG_TEST_PG_URL is set), inspects it, and fails listing every difference.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from pg import drop_pg_database, pg_url_or_skip
from sqlalchemy import inspect

import warehouse.marts  # noqa: F401 - puts the mart tables on Base.metadata
from warehouse.db import get_engine, upgrade
from warehouse.models import Base

DICTIONARY = Path(__file__).resolve().parents[1] / "docs" / "data_dictionary.md"


def parse_dictionary(path: Path = DICTIONARY) -> dict[str, list[dict[str, str]]]:
    """{table_or_view: [{"column", "type", "meaning", "example"}, …]} in document order."""
    out: dict[str, list[dict[str, str]]] = {}
    current: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^###\s+(\S+)\s*$", line)
        if m:
            current = m.group(1)
            assert current not in out, f"{current} documented twice"
            out[current] = []
            continue
        if current is None or not line.startswith("|"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if cells[:2] == ["column", "type"] or set("".join(cells)) <= set("-: "):
            continue
        assert len(cells) == 4, f"{current}: row {line!r} does not have 4 cells"
        out[current].append(dict(zip(["column", "type", "meaning", "example"], cells, strict=True)))
    return out


def portable_type(t: sa.types.TypeEngine) -> str:
    """The dictionary's spelling of a model column type."""
    if isinstance(t, sa.JSON):
        return "json"
    if isinstance(t, sa.Text):
        return "text"
    if isinstance(t, sa.String):
        return f"varchar({t.length})"
    if isinstance(t, sa.DateTime):
        return "timestamp"
    if isinstance(t, sa.Date):
        return "date"
    if isinstance(t, sa.Boolean):
        return "boolean"
    if isinstance(t, sa.Integer):
        return "integer"
    if isinstance(t, sa.Float):
        return "float"
    raise TypeError(f"no dictionary spelling for {t!r}")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def url(request, tmp_path_factory):
    u = (f"sqlite:///{tmp_path_factory.mktemp('dict') / 'warehouse.db'}" if request.param == "sqlite"
         else pg_url_or_skip())
    upgrade(u)
    yield u
    if request.param == "postgresql":
        drop_pg_database(u)


def test_dictionary_matches_the_schema(url):
    doc = parse_dictionary()
    insp = inspect(get_engine(url))
    actual = {t: [c["name"] for c in insp.get_columns(t)] for t in insp.get_table_names()}
    actual |= {v: [c["name"] for c in insp.get_columns(v)] for v in insp.get_view_names()}
    problems = []
    for name in sorted(set(actual) - set(doc)):
        problems.append(f"{name}: in the database, not documented")
    for name in sorted(set(doc) - set(actual)):
        problems.append(f"{name}: documented, not in the database")
    for name in sorted(set(doc) & set(actual)):
        documented = [r["column"] for r in doc[name]]
        for col in actual[name]:
            if col not in documented:
                problems.append(f"{name}.{col}: in the database, not documented")
        for col in documented:
            if col not in actual[name]:
                problems.append(f"{name}.{col}: documented, not in the database")
        if len(set(documented)) != len(documented):
            problems.append(f"{name}: a column is documented twice")
        model = Base.metadata.tables.get(name)
        for r in doc[name]:
            if not r["meaning"] or not r["example"] or not r["type"]:
                problems.append(f"{name}.{r['column']}: meaning, type and example must all be filled")
            if model is not None and r["column"] in model.c:
                want = portable_type(model.c[r["column"]].type)
                if r["type"] != want:
                    problems.append(f"{name}.{r['column']}: documented as {r['type']}, the model says {want}")
    assert not problems, "data dictionary and schema disagree:\n" + "\n".join(problems)


def test_migrations_create_exactly_the_models(url):
    # The hand-written migrations and the SQLAlchemy models must describe the same tables.
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with get_engine(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert not diff, f"migrations and models differ: {diff}"


def test_every_view_is_documented_with_a_description():
    from warehouse.views import VIEW_NAMES

    text = DICTIONARY.read_text(encoding="utf-8")
    for v in VIEW_NAMES:
        m = re.search(rf"^### {v}\n\n(.+)\n", text, flags=re.M)
        assert m and not m.group(1).startswith("|"), f"{v} has no description line"
