"""Remove each safety protection once, in a scratch copy, and check that its tests fail (docs/reliability.md §5).

    .venv/bin/python tests/hostile/mutations.py            # all mutations
    .venv/bin/python tests/hostile/mutations.py M8 M10     # some

The repository (without .git, .venv, var) is copied to a temporary folder; the shipped models are
built there when nlp/models is absent. For each mutation the named file is patched, the named tests
run with --runxfail (SQLite only), and the file restored. The working tree is never touched.
Prints one JSON line per mutation; exit status 1 if any mutation left its tests passing.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MAIN = str(Path(__file__).resolve().parents[2])
ROOT = ""  # the scratch copy, set by main()
PY = sys.executable

M = [
 ("M1 clue/ledger workbook: no quote prefix on = + - @ tab CR", "pipeline/clue_workbook.py",
  [('    return isinstance(value, str) and value.startswith(_DANGEROUS)', '    return False')],
  ["tests/test_hostile_input.py::test_clue_workbook_keeps_hostile_texts_as_text",
   "tests/test_hostile_input.py::test_ledger_workbook_keeps_department_text_as_text"]),
 ("M2 clue workbook: cells written with write() and strings_to_formulas on", "pipeline/clue_workbook.py",
  [('{"strings_to_formulas": False,', '{"strings_to_formulas": True,'),
   ('        ws.write_string(r, c, text, fmt)', '        ws.write(r, c, text, fmt)')],
  ["tests/test_hostile_input.py::test_clue_workbook_keeps_hostile_texts_as_text"]),
 ("M3 label export: write_cell uses write() and strings_to_formulas on", ["pipeline/excel.py", "pipeline/labels.py"],
  [('        ws.write_string(row, col, str(value), fmt)', '        ws.write(row, col, str(value), fmt)'),
   ('{"strings_to_formulas": False,', '{"strings_to_formulas": True,')],
  ["tests/test_hostile_input.py::test_hostile_texts_load_verbatim_and_export_as_text[sqlite-csv]"]),
 ("M4 csv_safe: no apostrophe", ["pipeline/excel.py", "pipeline/clue_workbook.py"],
  [('        return "\'" + value', '        return value')],
  ["tests/test_hostile_input.py::test_csv_safe_neutralises_every_trigger",
   "tests/test_hostile_input.py::test_write_csv_safe_neutralises_formulas"]),
 ("M5 report: no HTML escaping", "pipeline/report.py",
  [("APPEND", '\n\ndef e(v):\n    return "" if v is None else str(v)\n')],
  ["tests/test_hostile_input.py::test_report_escapes_html_in_clue_titles_and_units"]),
 ("M6 normaliser: zero-width and bidi controls kept", "nlp/text.py",
  [('    for cp in [*range(0x200B, 0x2010), 0x2060, 0xFEFF, 0x00AD, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]:',
    '    for cp in [0x00AD]:')],
  ["tests/test_properties.py::test_normalize_leaves_no_invisible_controls_or_full_width_ascii",
   "tests/test_properties.py::test_normalize_exposes_phone_hidden_by_zero_width_or_full_width_digits",
   "tests/test_hostile_input.py::test_hostile_texts_load_verbatim_and_export_as_text[sqlite-csv]"]),
 ("M7 PII masker: mask_pii/mask_many return the text", "nlp/pii.py",
  [("APPEND", '\n\ndef mask_pii(text=None):\n    return text or ""\n\n\ndef mask_many(texts):\n    return [t or "" for t in texts]\n')],
  ["tests/test_properties.py::test_mask_pii_leaves_no_valid_phone_id_or_credit_code",
   "tests/test_properties.py::test_mask_pii_after_normalize_catches_disguised_pii",
   "tests/test_audit.py::test_pipeline_outputs_pass_the_audit"]),
 ("M8 ingest: commit after every chunk (no file transaction)", "pipeline/ingest.py",
  [('        with engine.begin() as conn:\n            file_id = wl.register_file(',
    '        with engine.connect() as conn:\n            file_id = wl.register_file('),
   ('                loader.load_chunk(parsed)\n', '                loader.load_chunk(parsed)\n                conn.commit()\n'),
   ('                                 finished_at=_utcnow()))\n    except RejectedFile',
    '                                 finished_at=_utcnow()))\n            conn.commit()\n    except RejectedFile')],
  ["tests/test_hostile_input.py::test_rejected_mid_file_leaves_no_partial_load[sqlite]",
   "tests/test_faults.py::test_fault_leaves_only_whole_files[load_exception_mid_run-sqlite]",
   "tests/test_faults.py::test_fault_leaves_only_whole_files[killed_mid_load-sqlite]"]),
 ("M9 ingest: no file size limit", "pipeline/ingest.py",
  [('        if size > max_bytes:\n', '        if False:\n')],
  ["tests/test_hostile_input.py::test_unreadable_files_are_rejected_whole_with_one_line[sqlite]"]),
 ("M10 marts: refresh commits part-way", "warehouse/marts.py",
  [('    for month in p.months:\n', '    conn.commit()\n    for month in p.months:\n')],
  ["tests/test_faults.py::test_failed_mart_refresh_leaves_marts_as_they_were"]),
 ("M11 ledger import: items and event trail stored in two transactions", "pipeline/monthly.py",
  [('    wl.upsert(conn, LedgerItem.__table__, _ledger_records(ledger), ["item_id"])\n',
    '    wl.upsert(conn, LedgerItem.__table__, _ledger_records(ledger), ["item_id"])\n    conn.commit()\n')],
  ["tests/test_faults.py::test_interrupted_ledger_import_changes_nothing_then_applies_once[sqlite]"]),
 ("M12 ledger import: department text not masked", "pipeline/monthly.py",
  [('    edits = _mask_typed_text(edits)\n', '')],
  ["tests/test_audit.py::test_department_edits_are_masked_on_ledger_import"]),
 ("M13 label import: analyst note not masked", "pipeline/labels.py",
  [('"note": mask_pii(get("备注")) or None', '"note": get("备注")')],
  ["tests/test_audit.py::test_analyst_notes_are_masked_on_label_import"]),
 ("M14 audit: hash columns skipped by name again", "pipeline/audit.py",
  [('            cols = [c for c in insp.get_columns(name)\n                    if isinstance',
    '            cols = [c for c in insp.get_columns(name) if "hash" not in c["name"]\n                    and isinstance')],
  ["tests/test_audit.py::test_planted_pii_is_found_in_tables_json_and_views[sqlite]"]),
 ("M15 audit: views not scanned", "pipeline/audit.py",
  [('    names += [(n, "view") for n in insp.get_view_names()]\n', '')],
  ["tests/test_audit.py::test_planted_pii_is_found_in_tables_json_and_views[sqlite]"]),
 ("M16 ingest: files loaded before are not skipped", "pipeline/ingest.py",
  [('        if wl.find_loaded_file(conn, sha) is not None:', '        if False:')],
  ["tests/test_faults.py::test_rerun_base_tables_equal_uninterrupted_run[killed_in_mart_refresh-sqlite]"]),
]

def prepare() -> None:
    shutil.copytree(MAIN, ROOT, ignore=shutil.ignore_patterns(".git", ".venv", "var", ".hypothesis", "__pycache__"))
    if not Path(ROOT, "nlp", "models", "sentiment.joblib").exists():
        shared = Path(MAIN).parent / "shared" / "data"
        subprocess.run([PY, "scripts/build_models.py", "--cv", "0", "--shared", str(shared)], cwd=ROOT, check=True,
                       capture_output=True)


def run(tests):
    env = {**os.environ}
    env.pop("YINGSHANG_TEST_PG_URL", None)
    p = subprocess.run([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--runxfail", *tests], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=900)
    tail = [ln for ln in p.stdout.splitlines()
            if ln.startswith(("FAILED", "ERROR")) or " passed" in ln or " failed" in ln]
    return p.returncode, tail


def main() -> int:
    global ROOT
    ROOT = tempfile.mkdtemp(prefix="yingshang_mut_") + "/repo"
    only = sys.argv[1:]
    prepare()
    results = []
    for name, files, patches, tests in M:
        if only and name.split()[0] not in only:
            continue
        files = [files] if isinstance(files, str) else files
        applied = 0
        for f in files:
            shutil.copy(f"{MAIN}/{f}", f"{ROOT}/{f}")
            s = open(f"{ROOT}/{f}", encoding="utf-8").read()
            for old, new in patches:
                if old == "APPEND":
                    s += new
                    applied += 1
                elif old in s:
                    s = s.replace(old, new)
                    applied += 1
            open(f"{ROOT}/{f}", "w", encoding="utf-8").write(s)
        try:
            code, tail = run(tests)
        finally:
            for f in files:
                shutil.copy(f"{MAIN}/{f}", f"{ROOT}/{f}")
        results.append({"mutation": name, "patches_applied": applied, "exit": code, "tests": tests, "summary": tail})
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    shutil.rmtree(Path(ROOT).parent, ignore_errors=True)
    return 1 if any(r["exit"] == 0 or r["patches_applied"] == 0 for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
