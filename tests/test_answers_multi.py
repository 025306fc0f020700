"""Every option of a multi-choice answer is stored (hostile-files red team, session 10: 设立或变更登记┋不动产登记┋
其他 kept one row, 其他, since the answers were de-duplicated per question)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from pipeline.nightly import run_nightly
from warehouse.db import get_engine

HEADER = "序号,提交答卷时间,1、企业名称,5、所在街道,7、您近一年办理过哪些业务,8、您对以下方面的满意度—开办企业\n"


def test_each_option_of_a_multi_choice_answer_is_a_row(tmp_path: Path, sqlite_url: str) -> None:
    folder = tmp_path / "landing" / "questionnaire"
    folder.mkdir(parents=True)
    (folder / "q_1-2.csv").write_text(
        HEADER + "1,2026/10/11 10:00:00,郑州某机械有限公司,博学路街道,设立或变更登记┋不动产登记┋纳税申报,满意\n"
        "2,2026/10/12 10:00:00,郑州某商贸有限公司,博学路街道,纳税申报,不满意\n", encoding="utf-8")
    run_nightly(tmp_path / "landing", sqlite_url)
    with get_engine(sqlite_url).connect() as conn:
        rows = conn.execute(text("select response_no, answer_text from survey_answer where question like '%办理过%' "
                                 "order by response_no, answer_text")).all()
    assert [tuple(r) for r in rows] == [("1", "不动产登记"), ("1", "纳税申报"), ("1", "设立或变更登记"), ("2", "纳税申报")]
    # loading the same file again changes nothing
    before = rows
    (folder / "q_1-2_again.csv").write_text((folder / "q_1-2.csv").read_text(encoding="utf-8"), encoding="utf-8")
    run_nightly(tmp_path / "landing", sqlite_url)
    with get_engine(sqlite_url).connect() as conn:
        again = conn.execute(text("select response_no, answer_text from survey_answer where question like '%办理过%' "
                                  "order by response_no, answer_text")).all()
    assert again == before
