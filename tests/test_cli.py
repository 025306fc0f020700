"""The command contract of cli.md: every command has accurate help, and wrong arguments give one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import run_cli

COMMANDS = [
    ["db", "upgrade"], ["db", "grant-analyst"], ["sample"], ["ingest"], ["run"], ["clues"],
    ["ledger", "export"], ["ledger", "import"], ["report"], ["train"], ["evaluate"], ["predict"],
    ["quarantine", "list"], ["quarantine", "show"], ["quarantine", "retry"], ["quarantine", "dismiss"], ["labels", "export"],
    ["labels", "import"], ["audit", "pii"], ["summary"], ["marts", "refresh"],
]

CONTRACT_FLAGS = {
    "sample": ["--out", "--month", "--seed", "--scale"],
    "ingest": ["--source", "--json"],
    "run": ["--landing", "--json"],
    "clues": ["--month", "--out"],
    "report": ["--month", "--out"],
    "train": ["--task", "--data", "--text-col", "--label-col", "--model-out"],
    "evaluate": ["--task", "--data", "--text-col", "--label-col", "--model", "--cv", "--json"],
    "predict": ["--task", "--data", "--text-col", "--model", "--out"],
}


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_has_help(cmd, capsys):
    assert run_cli(*cmd, "--help") == 0
    out = capsys.readouterr().out
    assert "Usage: yingshang " + " ".join(cmd) in out
    for flag in CONTRACT_FLAGS.get(cmd[0], []):
        assert flag in out, f"{' '.join(cmd)} --help does not mention {flag}"


def test_top_level_help_lists_contract(capsys):
    assert run_cli("--help") == 0
    out = capsys.readouterr().out
    for name in ("db", "sample", "ingest", "run", "clues", "ledger", "report", "train", "evaluate", "predict"):
        assert f"  {name} " in out
    assert "--db" in out


@pytest.mark.parametrize("args", [
    ["nosuch"],
    ["sample", "--month", "2026-13", "--out", "x"],
    ["ingest", "--source", "fax", "a.csv"],
    ["clues", "--month", "November", "--out", "x.xlsx"],
    ["evaluate", "--task", "topic", "--data", "x.csv"],
    ["run"],
])
def test_wrong_argument_is_one_line_and_exit_2(args, capsys):
    assert run_cli(*args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("yingshang: error:")
    assert "\n" not in err and "Traceback" not in err


def test_failure_is_one_line_not_traceback(tmp_path):
    # A missing landing folder is a failure (exit 1), reported in one line by the real entry point.
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "--db", f"sqlite:///{tmp_path}/w.db", "run",
                           "--landing", str(tmp_path / "missing")], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "does not exist" in proc.stderr


def test_predict_csv_is_formula_safe(tmp_path, capsys):
    import csv

    src = tmp_path / "in.csv"
    src.write_text("text\n=HYPERLINK(\"http://x\")营业执照办不下来\n@SUM(1)\n正常的文本：税务局退税慢\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert run_cli("predict", "--task", "area", "--data", str(src), "--out", str(out)) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert [r["text"][:2] for r in rows] == ["'=", "'@", "正常"]
    assert all(r["label"] for r in rows)


def test_marts_refresh_says_what_it_did(tmp_path, capsys):
    """One line for the operator (nothing pending, or months and rows); the full summary with --json."""
    import json

    url = f"sqlite:///{tmp_path / 'w.db'}"
    assert run_cli("--db", url, "marts", "refresh") == 0
    assert capsys.readouterr().out.strip() == "marts up to date: nothing loaded since the last refresh"
    assert run_cli("--db", url, "marts", "refresh", "--full") == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("marts refreshed in full: ") and "\n" not in out
    assert run_cli("--db", url, "marts", "refresh", "--full", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["full"] is True and "rows" in summary


def test_json_failures_also_say_why_on_stderr(tmp_path, capsys):
    """cli.md: non-zero exit with a one-line reason; with --json the reason is on stderr too and
    stdout stays one JSON document."""
    import json

    ok = tmp_path / "hotline.csv"
    ok.write_text("工单编号,来电时间,诉求内容\nGD1,2026-10-08 09:30,营业执照办了一个月还没下来\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    url = f"sqlite:///{tmp_path / 'w.db'}"
    assert run_cli("--db", url, "ingest", "--source", "hotline", "--json", str(ok), str(empty)) == 1
    cap = capsys.readouterr()
    assert json.loads(cap.out)["totals"]["rejected"] == 1
    err = cap.err.strip()
    assert err.startswith("yingshang: error: 1 of 2 file(s) rejected:") and "empty" in err and "\n" not in err


def test_ingest_refreshes_marts_and_a_failed_clue_write_changes_nothing(tmp_path, capsys, sample_month):
    """After `ingest` the report has its data (as after `run`); `clues --out FOLDER` fails before it
    touches the ledger."""
    from sqlalchemy import create_engine, func, select

    from warehouse.models import LedgerItem

    url = f"sqlite:///{tmp_path / 'w.db'}"
    landing, month = sample_month
    hotline = sorted((landing / "hotline").iterdir())
    assert run_cli("--db", url, "ingest", "--source", "hotline", *map(str, hotline)) == 0
    assert run_cli("--db", url, "report", "--month", month, "--out", str(tmp_path / "rep")) == 0
    folder = tmp_path / "out"
    folder.mkdir()
    capsys.readouterr()
    assert run_cli("--db", url, "clues", "--month", month, "--out", str(folder)) == 1
    assert "is a folder" in capsys.readouterr().err
    eng = create_engine(url)
    with eng.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(LedgerItem)) == 0
    eng.dispose()


def test_a_model_of_the_other_task_is_refused(tmp_path, capsys):
    from nlp.sentiment import DEFAULT_SENTIMENT_MODEL

    src = tmp_path / "in.csv"
    src.write_text("text\n营业执照办不下来\n", encoding="utf-8")
    code = run_cli("predict", "--task", "area", "--data", str(src), "--model", str(DEFAULT_SENTIMENT_MODEL),
                   "--out", str(tmp_path / "o.csv"))
    assert code == 1 and "is a sentiment model" in capsys.readouterr().err


def test_a_warehouse_without_schema_and_an_empty_month_are_explained(tmp_path, capsys):
    """`summary` on a database that was never set up says to run `db upgrade` (it said "OperationalError:
    no such table: feedback"); `clues` for a month without feedback says so instead of quietly writing an
    empty list."""
    # A mistyped path: one line, and no empty warehouse file (or folder) left behind by the read-only command.
    missing = tmp_path / "typo" / "w.db"
    for command in (["summary", "--month", "2026-10"], ["ledger", "export", "--out", str(tmp_path / "l.xlsx")],
                    ["quarantine", "list"], ["audit", "pii"]):
        assert run_cli("--db", f"sqlite:///{missing}", *command) == 1
        err = capsys.readouterr().err.strip()
        assert f"no warehouse at {missing}" in err and "yingshang db upgrade" in err and "\n" not in err
    assert not missing.parent.exists()
    url = f"sqlite:///{tmp_path / 'w.db'}"
    (tmp_path / "w.db").touch()  # a database that was never set up
    assert run_cli("--db", url, "summary", "--month", "2026-10") == 1
    err = capsys.readouterr().err.strip()
    assert "no table feedback" in err and "yingshang db upgrade" in err and "\n" not in err
    assert run_cli("--db", url, "db", "upgrade") == 0
    capsys.readouterr()
    assert run_cli("--db", url, "clues", "--month", "2026-10", "--out", str(tmp_path / "c.xlsx")) == 0
    assert "holds no feedback received in 2026-10" in capsys.readouterr().err
    assert run_cli("--db", url, "summary", "--month", "2026-10") == 0
    assert "files: none;" in capsys.readouterr().out  # words, not a Python dict ({})


def test_a_postgresql_warehouse_without_schema_is_explained(capsys):
    from pg import pg_url_or_skip

    url = pg_url_or_skip()
    assert run_cli("--db", url, "summary", "--month", "2026-10") == 1
    err = capsys.readouterr().err.strip()
    assert "no table feedback" in err and "yingshang db upgrade" in err


@pytest.mark.parametrize("args", [[], ["db"], ["ledger"]])
def test_a_command_without_subcommand_shows_its_help_as_written(args, capsys):
    """`yingshang` alone printed its help squashed into one 'error:' line; it shows the help, line by line."""
    assert run_cli(*args) == 2
    err = capsys.readouterr().err
    assert err.startswith("Usage: yingshang") and "error:" not in err and err.count("\n") > 5


def test_evaluate_says_when_the_labels_are_not_the_models(tmp_path, capsys):
    """A file labelled 1/0 evaluated with the shipped neg/neu/pos model scored 0 without a word."""
    src = tmp_path / "s.csv"
    src.write_text("text,label\n等了两个小时太慢了,0\n服务很好很热情,1\n", encoding="utf-8")
    assert run_cli("evaluate", "--task", "sentiment", "--data", str(src), "--json") == 0
    err = capsys.readouterr().err
    assert "never predicted" in err and "0, 1" in err


def test_a_missing_file_is_said_to_be_missing(tmp_path, capsys) -> None:
    """Without --source a mistyped path was 'cannot tell the source of …: put it under a hotline/ folder'
    (operator audit, session 10)."""
    from tests.conftest import run_cli

    assert run_cli("--db", f"sqlite:///{tmp_path}/w.db", "ingest", str(tmp_path / "工单_typo.csv")) == 1
    err = capsys.readouterr().err
    assert "no such file" in err and "cannot tell the source" not in err
