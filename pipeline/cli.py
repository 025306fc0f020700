"""The ``yingshang`` command (命令行): the stable contract of ../shared/design/cli.md.

Every command does real work through the library; errors end in one line on stderr and a non-zero
exit (2 for a wrong argument, 1 for a failure). Set ``YINGSHANG_DEBUG=1`` to see tracebacks.
"""

from __future__ import annotations

import json
import os
import re
import sys
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="yingshang",
    help="营商 Yingshang — business-environment feedback pipeline: ingest, label, warehouse, clues, ledger, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Warehouse schema and access.", no_args_is_help=True, rich_markup_mode=None)
ledger_app = typer.Typer(help="Round-trip the rectification ledger (问题台账) with departments.",
                         no_args_is_help=True, rich_markup_mode=None)
quarantine_app = typer.Typer(help="See and re-process quarantined rows (隔离区).", no_args_is_help=True,
                             rich_markup_mode=None)
labels_app = typer.Typer(help="Analyst label corrections (人工标注).", no_args_is_help=True, rich_markup_mode=None)
marts_app = typer.Typer(help="Analyst marts (汇总表).", no_args_is_help=True, rich_markup_mode=None)
audit_app = typer.Typer(help="Audits of what the warehouse and exports hold.", no_args_is_help=True,
                        rich_markup_mode=None)
app.add_typer(db_app, name="db")
app.add_typer(ledger_app, name="ledger")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(labels_app, name="labels")
app.add_typer(audit_app, name="audit")
app.add_typer(marts_app, name="marts")

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class UserError(Exception):
    """A failure the user can fix; printed as one line."""


class Source(StrEnum):
    hotline = "hotline"
    questionnaire = "questionnaire"
    survey = "survey"
    supervisor = "supervisor"


class QuarantineStatus(StrEnum):
    open = "open"
    resolved = "resolved"
    superseded = "superseded"
    dismissed = "dismissed"
    all = "all"


class Task(StrEnum):
    area = "area"
    sentiment = "sentiment"


def _state(ctx: typer.Context) -> dict:
    ctx.ensure_object(dict)
    return ctx.obj


def _db(ctx: typer.Context) -> str | None:
    return _state(ctx).get("db")


def _existing_db(ctx: typer.Context) -> str | None:
    """The warehouse URL of a command that only reads it: a SQLite file that does not exist is an error
    (connecting would create an empty file, and its folders, wherever a mistyped --db pointed)."""
    from sqlalchemy.engine import make_url

    from warehouse.db import resolve_url

    url = make_url(resolve_url(_db(ctx)))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:") and not Path(url.database).exists():
        raise UserError(f"no warehouse at {url.database}: check --db / YINGSHANG_DB_URL, or create one with "
                        "'yingshang db upgrade' (or 'yingshang run')")
    return _db(ctx)


def _month(value: str) -> str:
    if not MONTH_RE.match(value or ""):
        raise typer.BadParameter(f"{value!r} is not a month like 2026-11")
    return value


def _interactive() -> bool:
    return sys.stderr.isatty()


def _echo_json(obj) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


@app.callback()
def main_callback(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option("--db", help="Warehouse URL (else YINGSHANG_DB_URL, else "
                                           "sqlite:///var/warehouse.db).")] = None,
) -> None:
    """营商 Yingshang: business-environment feedback pipeline."""
    _state(ctx)["db"] = db


# --------------------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the warehouse schema (Alembic) and sync areas and sources from config."""
    from pipeline.ingest import ensure_schema
    from warehouse.db import current_revision, resolve_url

    ensure_schema(_db(ctx))
    typer.echo(f"warehouse at {_safe_url(resolve_url(_db(ctx)))} is at revision {current_revision(_db(ctx))}")


@db_app.command("grant-analyst")
def db_grant_analyst(
    ctx: typer.Context,
    role: Annotated[str, typer.Argument(help="PostgreSQL role to create or update")],
    login: Annotated[bool, typer.Option("--login", help="Let the role log in (else NOLOGIN: grant it to users).")]
    = False,
) -> None:
    """PostgreSQL: make ROLE a read-only role that can read the analyst views and nothing else."""
    from pipeline.access import grant_analyst

    typer.echo(grant_analyst(role, _db(ctx), login=login))


def _safe_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


@marts_app.command("refresh")
def marts_refresh(
    ctx: typer.Context,
    full: Annotated[bool, typer.Option("--full", help="Rebuild every mart row, not only what is pending.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full summary (every month refreshed) as JSON.")] = False,
) -> None:
    """Refresh the marts: what loads since the last refresh touched, or everything with --full."""
    from pipeline.ingest import ensure_schema
    from pipeline.marts import refresh_marts
    from pipeline.nightly import refresh_marts_for

    ensure_schema(_db(ctx))
    summary = refresh_marts(_db(ctx), dates=None, months=None) if full else refresh_marts_for(_db(ctx))
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, default=str))
        return
    months = summary.get("months") or []
    if not full and not months and not summary.get("days"):
        typer.echo("marts up to date: nothing loaded since the last refresh")
        return
    span = f" ({months[0]} … {months[-1]})" if len(months) > 1 else (f" ({months[0]})" if months else "")
    rows = ", ".join(f"{k} {v:,}" for k, v in (summary.get("rows") or {}).items())
    typer.echo(f"marts refreshed{' in full' if summary.get('full') else ''}: {len(months)} month(s){span}, "
               f"{summary.get('days', 0)} day(s); rows: {rows or 'none'}")


# --------------------------------------------------------------------------- sample


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the landing files into.")],
    month: Annotated[str, typer.Option("--month", help="Month to generate, YYYY-MM.", callback=_month)],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same files.")] = 0,
    scale: Annotated[float, typer.Option("--scale", min=0.01, help="Volume multiplier (1 = a district's month).")] = 1.0,
    history: Annotated[int, typer.Option("--history", min=0, max=36, help="Also write this many earlier months "
                                         "under OUT/history/YYYY-MM/ (for trends, 环比 and 同比).")] = 0,
    history_scale: Annotated[float | None, typer.Option("--history-scale", min=0.01,
                                                        help="Volume multiplier of the earlier months "
                                                        "(default: the same as --scale).")] = None,
) -> None:
    """Write a realistic month of exports for all four sources, in their real formats."""
    from pipeline.report import shift_month
    from pipeline.sample import generate_sample

    summary = generate_sample(out, month, seed=seed, scale=scale)
    for src, info in summary.items():
        if isinstance(info, dict):
            typer.echo(f"{src:14s} {info.get('rows', 0):>8} rows in {len(info.get('files', []))} file(s)")
    for k in range(1, history + 1):
        earlier = shift_month(month, -k)
        generate_sample(out / "history" / earlier, earlier, seed=seed,
                        scale=scale if history_scale is None else history_scale)
    if history:
        typer.echo(f"and {history} earlier month(s) under {out / 'history'}")
    typer.echo(f"written under {out}")


# --------------------------------------------------------------------------- ingest / run


def _print_results(results, as_json: bool) -> int:
    from pipeline.ingest import totals

    if as_json:
        _echo_json({"files": [r.as_json() for r in results], "totals": totals(results)})
        rejected = [r for r in results if r.status == "rejected"]
        if rejected:  # the contract's one-line reason, on stderr beside the JSON on stdout
            first = rejected[0]
            more = f" (and {len(rejected) - 1} more; see the JSON)" if len(rejected) > 1 else ""
            typer.echo(f"yingshang: error: {len(rejected)} of {len(results)} file(s) rejected: "
                       f"{first.path}: {first.error}{more}", err=True)
    else:
        from rich import box
        from rich.console import Console
        from rich.table import Table

        t = Table(title="ingest", box=box.SIMPLE_HEAD, pad_edge=False,
                  caption="rows = new (inserted) + upd. (updated) + same (unchanged) + quar. (quarantined)")
        # The file name wraps rather than being cut to '郑东新…' at 80 columns: which file was rejected or
        # quarantined is the point of the table.
        t.add_column("file", overflow="fold", min_width=16)
        for col in ("source", "status"):
            t.add_column(col, no_wrap=True)
        for col in ("rows", "new", "upd.", "same", "quar."):  # short: the whole row fits 80 columns
            t.add_column(col, justify="right", no_wrap=True)
        for r in results:
            t.add_row(Path(r.path).name, r.source or "?", r.status, *(str(getattr(r, c)) for c in
                      ("rows_in", "inserted", "updated", "unchanged", "quarantined")))
        Console().print(t)
        for r in results:
            if r.error:
                typer.echo(f"{r.path}: {r.status}: {r.error}", err=True)
    return 1 if any(r.status == "rejected" for r in results) else 0


@contextmanager
def _busy(label: str):
    """A progress bar (indeterminate, with elapsed time) on stderr while long work runs, when stderr
    is a terminal; nothing otherwise."""
    if not _interactive():
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn(label), BarColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        progress.add_task(label, total=None)
        yield


def _with_progress(paths, fn):
    if not _interactive() or len(paths) < 2:
        return fn(None)
    from rich.console import Console
    from rich.progress import Progress

    # On stderr: stdout may be a pipe or a file of JSON. Redrawn by the ticks, not by rich's refresh
    # thread: with a second thread running, the ingest's process pool must start its workers under
    # forkserver, which reloads the models in every worker for every file (a terminal run of the demo
    # took minutes longer than a piped one).
    with Progress(console=Console(stderr=True), transient=True, auto_refresh=False) as progress:
        task = progress.add_task("ingesting", total=len(paths))
        progress.refresh()

        def tick(_p):
            progress.advance(task)
            progress.refresh()

        return fn(tick)


@app.command()
def ingest(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Landing files to load.", exists=False)],
    source: Annotated[Source | None, typer.Option("--source", help="Source of the files (else taken from "
                                                  "the folder or file name).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the per-file counters as JSON.")] = False,
) -> None:
    """Parse, validate, enrich and load files. Exit 1 if any file was rejected."""
    from pipeline.ingest import ingest_files
    from pipeline.nightly import refresh_after

    src = source.value if source else None
    from pipeline.ingest import natural_key

    # in the order of their names, numbers read as numbers (a shell glob puts 10月10日 before 10月9日)
    files = sorted(files, key=lambda p: natural_key(str(p)))
    results = _with_progress(files, lambda tick: ingest_files(files, src, _db(ctx), progress=tick))
    with _busy("refreshing the marts"):
        refresh_after(results, _db(ctx))  # as `run` does: the report and the analysts' marts see the files
    raise typer.Exit(_print_results(results, as_json))


@app.command()
def run(
    ctx: typer.Context,
    landing: Annotated[Path, typer.Option("--landing", help="Landing folder: source from sub-folder or file name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the per-file counters as JSON.")] = False,
) -> None:
    """The nightly job: ingest everything new under the landing folder, then refresh the marts."""
    if not landing.is_dir():
        raise UserError(f"landing folder {landing} does not exist")
    from pipeline.nightly import run_nightly

    results = run_nightly(landing, _db(ctx), progress_factory=_with_progress)
    code = _print_results(results, as_json)
    raise typer.Exit(code)


# --------------------------------------------------------------------------- clues / ledger / report


@app.command()
def clues(
    ctx: typer.Context,
    month: Annotated[str, typer.Option("--month", help="Month, YYYY-MM.", callback=_month)],
    out: Annotated[Path, typer.Option("--out", help="Workbook to write (.xlsx).")],
) -> None:
    """Build the month's problem-clue list (问题线索清单), merge it into the ledger, write the workbook."""
    from pipeline.monthly import build_month_clues

    with _busy(f"building the clues of {month}"):
        summary = build_month_clues(month, out, _db(ctx))
    typer.echo(f"{summary['clues']} clues ({summary['new_ledger_items']} new ledger items) for {month} "
               f"written to {out}")
    if not summary.get("feedback"):
        # An empty list is a legitimate answer only if the month really had no feedback; usually the month
        # is mistyped or the nightly load has not run, and the operator should hear it.
        typer.echo(f"note: the warehouse holds no feedback received in {month}; the list is empty (wrong month, "
                   f"or the month's files not loaded yet?)", err=True)
    if summary.get("orphaned"):
        n = len(summary["orphaned"])
        typer.echo(f"note: {n} ledger item(s) of {month} no longer have a clue of their own (their complaints now "
                   f"belong to other clues, or are no clue candidates any more); they are kept as they are, check them in the ledger: "
                   f"{', '.join(summary['orphaned'][:50])}{f' … ({n - 50} more)' if n > 50 else ''}; "
                   "those being worked on stay in the workbook, marked 重建后其投诉已归入其他线索", err=True)


@ledger_app.command("export")
def ledger_export(ctx: typer.Context,
                  out: Annotated[Path, typer.Option("--out", help="Workbook to write (.xlsx).")]) -> None:
    """Write the whole ledger as a workbook departments can edit."""
    from pipeline.monthly import export_ledger

    n = export_ledger(out, _existing_db(ctx))
    typer.echo(f"{n} ledger items written to {out}")


@ledger_app.command("import")
def ledger_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The edited ledger workbook.")],
    who: Annotated[str, typer.Option("--who", help="Who is importing (recorded in the event trail).")] = "import",
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts and the refused rows (row, sheet, clue id, message) as JSON.")] = False,
) -> None:
    """Apply departments' edits; illegal transitions and conflicts are refused by row, nothing is dropped."""
    from pipeline.monthly import import_ledger

    report = import_ledger(file, _db(ctx), who=who)
    if as_json:
        _echo_json(report)
    else:
        typer.echo(f"{report['accepted']} change(s) accepted on {report['items_changed']} item(s), "
                   f"{len(report['errors'])} row(s) refused, {len(report['warnings'])} note(s)")
        for err in report["errors"]:
            # (the message names its row and sheet; a sheet-level one has no row)
            typer.echo(err["message"] if err["row"] is None else f"row {err['row']}: {err['message']}", err=True)
        for note in report["warnings"]:
            typer.echo(f"note: {note['message']}", err=True)
    raise typer.Exit(1 if report["errors"] else 0)


@app.command()
def report(
    ctx: typer.Context,
    month: Annotated[str, typer.Option("--month", help="Month, YYYY-MM.", callback=_month)],
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html and its chart images.")],
) -> None:
    """Write the monthly HTML report with charts."""
    from pipeline.ingest import ensure_schema
    from pipeline.report import write_report

    with _busy(f"writing the report of {month}"):
        ensure_schema(_db(ctx))
        path = write_report(month, out, _db(ctx))
    typer.echo(f"report written to {path}")


@app.command()
def summary(
    ctx: typer.Context,
    month: Annotated[str, typer.Option("--month", help="Month, YYYY-MM.", callback=_month)],
    landing: Annotated[Path | None, typer.Option("--landing", help="Landing folder to mention.")] = None,
    outputs: Annotated[Path | None, typer.Option("--outputs", help="Folder of outputs to list.")] = None,
) -> None:
    """Print a short summary of the month: feedback by area and source, clues, ledger, quarantine."""
    from pipeline.summary import print_summary

    print_summary(month, _existing_db(ctx), landing, outputs)


# --------------------------------------------------------------------------- models


@app.command()
def train(
    task: Annotated[Task, typer.Option("--task", help="area or sentiment")],
    data: Annotated[Path, typer.Option("--data", help="Labelled CSV/XLSX.")],
    model_out: Annotated[Path, typer.Option("--model-out", help="Where to write the trained model.")],
    text_col: Annotated[str, typer.Option("--text-col", help="Text column (A+B joins columns).")] = "text",
    label_col: Annotated[str, typer.Option("--label-col", help="Label column.")] = "label",
) -> None:
    """Train a model from any labelled file."""
    from nlp import modeling

    _need_file(data)
    with _busy(f"training the {task.value} model"):
        summary = modeling.train(task.value, data, text_col, label_col, model_out, keywords=_keywords(task),
                                 taxonomy=_taxonomy(task))
    typer.echo(f"model written to {model_out} ({summary.get('n', '?')} examples)")


@app.command()
def evaluate(
    task: Annotated[Task, typer.Option("--task", help="area or sentiment")],
    data: Annotated[Path, typer.Option("--data", help="Labelled CSV/XLSX.")],
    text_col: Annotated[str, typer.Option("--text-col", help="Text column (A+B joins columns).")] = "text",
    label_col: Annotated[str, typer.Option("--label-col", help="Label column.")] = "label",
    model: Annotated[Path | None, typer.Option("--model", help="Model to evaluate (else the shipped one).")] = None,
    cv: Annotated[int | None, typer.Option("--cv", min=2, help="K-fold cross-validation of training on DATA.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print metrics as JSON.")] = False,
) -> None:
    """Metrics on labelled data: of a model, or K-fold cross-validation of training on the file."""
    from nlp import modeling

    _need_file(data)
    if model is not None:
        _need_file(model)
        if cv:
            raise typer.BadParameter("--model and --cv exclude each other: --model evaluates that model on "
                                     "DATA, --cv trains and tests on DATA's folds")
    with _busy(f"evaluating the {task.value} model" + (f" ({cv}-fold)" if cv else "")):
        metrics = modeling.evaluate(task.value, data, text_col, label_col, model_path=model, cv=cv,
                                    keywords=_keywords(task), taxonomy=_taxonomy(task))
    conf = metrics.get("confusion") or {}
    labels, matrix = conf.get("labels") or [], conf.get("matrix") or []
    truth_only = [lab for i, lab in enumerate(labels) if sum(matrix[i]) and not sum(row[i] for row in matrix)]
    predicted_only = [lab for i, lab in enumerate(labels) if not sum(matrix[i]) and sum(row[i] for row in matrix)]
    if truth_only and predicted_only:
        # (a model that cannot produce the file's labels scores 0 without a word: 0/1 against neg/pos)
        typer.echo(f"note: the data's labels {', '.join(truth_only)} were never predicted and the predictions "
                   f"{', '.join(predicted_only)} never occur in the data: are these the model's labels?", err=True)
    if as_json:
        _echo_json(metrics)
    else:
        typer.echo(f"n={metrics['n']} accuracy={metrics['accuracy']:.4f} macro_f1={metrics['macro_f1']:.4f}")
        for label, m in metrics["per_class"].items():
            typer.echo(f"  {label:>8s}  P={m['precision']:.3f} R={m['recall']:.3f} F1={m['f1']:.3f} n={m['support']}")


@app.command()
def predict(
    task: Annotated[Task, typer.Option("--task", help="area or sentiment")],
    data: Annotated[Path, typer.Option("--data", help="CSV/XLSX with a text column.")],
    out: Annotated[Path, typer.Option("--out", help="CSV to write (or .xlsx for a workbook): input columns plus label, confidence.")],
    text_col: Annotated[str, typer.Option("--text-col", help="Text column.")] = "text",
    model: Annotated[Path | None, typer.Option("--model", help="Model to use (else the shipped one).")] = None,
) -> None:
    """Label a file: input columns plus label, confidence (area also label2)."""
    from nlp import modeling

    _need_file(data)
    n = modeling.predict(task.value, data, text_col, model, out, keywords=_keywords(task))
    typer.echo(f"{n} rows labelled, written to {out}")


def _taxonomy(task: Task) -> list[str] | None:
    """The area codes of config/areas.yaml (A1…A9, Z): what area labels may be (cli.md)."""
    if task != Task.area:
        return None
    from pipeline.config import load_areas

    return [a.code for a in load_areas()]


def _keywords(task: Task) -> dict[str, list[str]] | None:
    """The configured keyword lexicon: weak supervision and features of the area model."""
    if task != Task.area:
        return None
    from pipeline.config import area_keywords

    return area_keywords()


def _need_file(path: Path) -> None:
    if not path.is_file():
        raise UserError(f"{path}: no such file")


# --------------------------------------------------------------------------- quarantine


@quarantine_app.command("list")
def quarantine_list(
    ctx: typer.Context,
    status: Annotated[QuarantineStatus, typer.Option("--status", help="open, resolved, superseded, dismissed or all")]
    = QuarantineStatus.open,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List quarantined rows with their file, row number and reason."""
    from pipeline.quarantine import list_quarantine

    rows = list_quarantine(_existing_db(ctx), status.value)
    if as_json:
        _echo_json(rows)
        return
    for r in rows:
        where = f"{r['file_name']} row {r['row_number']}"  # (the reason names the sheet: [第二周] …)
        state = f"({r['status']}) " if status is QuarantineStatus.all else ""
        typer.echo(f"#{r['quarantine_id']:<6} {state}{where}: {r['reason']}")
    typer.echo(f"{len(rows)} row(s)")


@quarantine_app.command("show")
def quarantine_show(ctx: typer.Context, quarantine_id: Annotated[int, typer.Argument(help="Quarantine id")]) -> None:
    """Show one quarantined row: its (masked) raw cells and the reason."""
    from pipeline.quarantine import get_quarantined

    _echo_json(get_quarantined(_existing_db(ctx), quarantine_id))


@quarantine_app.command("retry")
def quarantine_retry(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(help="Quarantine ids (default: all open).")] = None,
    from_masked: Annotated[bool, typer.Option(
        "--from-masked", help="Parse the masked copy of rows whose original file is gone or changed (hashes of "
                              "masked phone numbers and names are not the real ones).")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Re-process quarantined rows with the current configuration (from the original file)."""
    from pipeline.quarantine import RetryError, retry_quarantine

    try:
        summary = retry_quarantine(_db(ctx), ids or None, from_masked=from_masked)
    except RetryError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        _echo_json(summary)
    else:
        typer.echo(f"{summary['loaded']} row(s) loaded, {summary['still_quarantined']} still quarantined"
                   + (f", {summary['superseded']} superseded by a later file" if summary["superseded"] else ""))


@quarantine_app.command("dismiss")
def quarantine_dismiss(
    ctx: typer.Context,
    ids: Annotated[list[int], typer.Argument(help="Quarantine ids.")],
    note: Annotated[str, typer.Option("--note", help="Why (kept with the row's reason).")],
) -> None:
    """Close open quarantined rows by hand: their record came in a corrected file, or they are no data."""
    from pipeline.quarantine import RetryError, dismiss_quarantine

    try:
        n = dismiss_quarantine(_db(ctx), ids, note)
    except RetryError as exc:
        raise UserError(str(exc)) from None
    typer.echo(f"{n} row(s) dismissed")


# --------------------------------------------------------------------------- labels / audit


@labels_app.command("export")
def labels_export(
    ctx: typer.Context,
    month: Annotated[str, typer.Option("--month", callback=_month, help="Month, YYYY-MM.")],
    out: Annotated[Path, typer.Option("--out", help="Workbook to write.")],
) -> None:
    """Export a month's labels for review, lowest confidence first."""
    from pipeline.labels import export_labels

    n = export_labels(month, out, _existing_db(ctx))
    typer.echo(f"{n} rows written to {out}")


@labels_app.command("import")
def labels_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The reviewed workbook.")],
    who: Annotated[str, typer.Option("--who")] = "analyst",
) -> None:
    """Import corrected labels; they override predictions at once and feed the next training."""
    from pipeline.labels import import_labels

    _need_file(file)
    summary = import_labels(file, _db(ctx), who=who)
    typer.echo(f"{summary['corrections']} correction(s) applied, {len(summary['errors'])} row(s) refused")
    for err in summary["errors"]:
        typer.echo(f"row {err['row']}: {err['message']}", err=True)
    raise typer.Exit(1 if summary["errors"] else 0)


@audit_app.command("pii")
def audit_pii(
    ctx: typer.Context,
    exports: Annotated[list[Path] | None, typer.Option("--exports", help="Export files or folders to scan too.")] = None,
    more: Annotated[list[Path] | None, typer.Argument(
        help="More export files or folders (`--exports A B` scans both).", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Scan every table, view and export for personal data; exit 1 on any hit."""
    from pipeline.audit import audit_pii as run_audit

    hits = run_audit(_existing_db(ctx), [*(exports or []), *(more or [])])
    if as_json:
        _echo_json({"hits": hits, "count": len(hits)})
    else:
        for h in hits[:50]:
            typer.echo(f"{h['where']}: {h['kind']} {h['sample']}")
        typer.echo(f"{len(hits)} hit(s)")
    raise typer.Exit(1 if hits else 0)


# --------------------------------------------------------------------------- entry point


_MISSING_TABLE = (re.compile(r"no such table: (\S+)"),                 # SQLite
                  re.compile(r'relation "([^"]+)" does not exist'))      # PostgreSQL (UndefinedTable)


def _missing_table(exc: BaseException) -> str | None:
    """The table a database error says is missing (a warehouse without schema), else None."""
    text = str(getattr(exc, "orig", None) or exc)
    for pattern in _MISSING_TABLE:
        m = pattern.search(text)
        if m:
            return m.group(1)
    return None


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one-line errors, non-zero exits, no tracebacks unless YINGSHANG_DEBUG."""
    debug = bool(os.environ.get("YINGSHANG_DEBUG"))
    try:
        rv = app(args=argv, prog_name="yingshang", standalone_mode=False)
        sys.exit(rv if isinstance(rv, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("yingshang: aborted", err=True)
        sys.exit(130)
    except typer.TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            # `yingshang` or `yingshang db` alone: the help as written (it is not an error to squash
            # into one line), exit 2 as click does for a command that needs a subcommand.
            typer.echo(exc.format_message(), err=True)
            sys.exit(2)
        # click's UsageError/BadParameter (vendored by typer): a wrong argument, exit code 2.
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None and getattr(exc, "exit_code", 1) == 2 else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        typer.echo(f"yingshang: error: {message}{hint}".replace("\n", " "), err=True)
        sys.exit(getattr(exc, "exit_code", 1))
    except UserError as exc:
        typer.echo(f"yingshang: error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:
        if debug:
            raise
        table = _missing_table(exc)
        if table:
            typer.echo(f"yingshang: error: the warehouse has no table {table}: it was never set up, or --db / "
                       f"YINGSHANG_DB_URL points at another database; run 'yingshang db upgrade' (or 'yingshang "
                       f"run') first", err=True)
            sys.exit(1)
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        typer.echo(f"yingshang: error: {type(exc).__name__}: {msg}".rstrip(": "), err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
