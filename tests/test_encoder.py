"""The optional pretrained sentence encoder of the clue grouping (grouping.encoder, nlp/encoder.py)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from nlp.encoder import EncoderError, TransformerEncoder, load_encoder
from pipeline.clues import build_clues, load_clue_config, use_encoder

# Two problems of one area (A9, 政务服务), five wordings each that share no content word: what a
# lexicon and one month's word statistics cannot tell belong together.
LINE_BUSY = ["12345热线一直占线，打了十几次都打不进去", "政务服务电话总是忙音，根本没人接",
             "拨打办事大厅咨询号码，响了很久无人接听", "想问个手续，座机永远是嘟嘟嘟的通话中",
             "联系窗口的号码始终接不通，急死人"]
LONG_QUEUE = ["大厅取号后排了三个小时才轮到", "人太多了，等候时间实在太长", "一早去排队，中午还没办上",
              "叫号特别慢，大家都在干等", "办个业务要耗一整天，队伍排到门外"]
ONE_OFFS = ["网上申报系统的验证码收不到", "营业执照副本遗失补办要登报吗", "不动产登记预约网站打不开",
            "社保卡挂失后新卡迟迟没寄到", "公积金提取审核被退回三次", "发票领用限额太低不够用",
            "办事指南写的材料和窗口要的不一样", "自助终端打印的证明没有盖章"]
TOPICS = {"busy": ("占线", "忙音", "无人接听", "通话中", "接不通"),
          "queue": ("排了", "等候", "排队", "干等", "队伍")}


class TopicEncoder:
    """A stand-in for a pretrained encoder: texts of one topic get one direction, every other text a
    direction of its own (what a good encoder does with paraphrases and with unrelated texts)."""

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        out = []
        for t in texts:
            topic = next((name for name, cues in TOPICS.items() if any(c in t for c in cues)), None)
            seed = int(hashlib.sha1((topic or t).encode()).hexdigest()[:8], 16)
            v = np.random.default_rng(seed).normal(size=64)
            out.append(v / np.linalg.norm(v))
        return np.vstack(out)


def _month(order_seed: int = 0) -> pd.DataFrame:
    from test_clues import tokenize

    texts = [("busy", t) for t in LINE_BUSY] + [("queue", t) for t in LONG_QUEUE] + [("one", t) for t in ONE_OFFS]
    rows = [{"feedback_id": f"hotline:{kind}{i:02d}", "source": "hotline", "source_record_id": f"GD{kind}{i:02d}",
             "received_at": pd.Timestamp(2026, 10, 1 + i), "area": "A9", "sentiment": "neg", "sentiment_score": 0.9,
             "request_type": "投诉", "entity_hash": f"e{i}", "street": "城关街道", "text": t, "tokens": tokenize(t)}
            for i, (kind, t) in enumerate(texts)]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=order_seed).reset_index(drop=True)


def _cfg(encoder=None, **settings):
    cfg = load_clue_config()
    if encoder is not None:
        cfg.encoder = encoder
        cfg.grouping["encoder"].update(settings)
        use_encoder(cfg.grouping, "stand-in")
    return cfg


def _clue_of(members: pd.DataFrame, prefix: str) -> list[set[str]]:
    ids = members[members["feedback_id"].str.startswith(f"hotline:{prefix}")]["clue_id"]
    return [set(members.loc[members["clue_id"] == c, "feedback_id"]) for c in ids.unique()]


def test_an_encoder_groups_paraphrases_that_share_no_words():
    _, without = build_clues(_month(), "2026-10", None, _cfg())
    # Without an encoder the five wordings of the busy line do not make one clue (else the test proves nothing).
    assert not any(len(c) == 5 and all(f.startswith("hotline:busy") for f in c) for c in _clue_of(without, "busy"))

    encoder = TopicEncoder()
    _, members = build_clues(_month(), "2026-10", None, _cfg(encoder))
    assert encoder.calls >= 1
    for kind in ("busy", "queue"):
        clues = _clue_of(members, kind)
        assert len(clues) == 1, f"{kind}: members in {len(clues)} clues"
        assert clues[0] == {f for f in clues[0] if f.startswith(f"hotline:{kind}")}, f"{kind}: other texts joined"
        assert len(clues[0]) == 5


def test_with_an_encoder_a_rebuild_gives_the_same_clues_whatever_the_row_order():
    cfg = _cfg(TopicEncoder())
    c1, m1 = build_clues(_month(0), "2026-10", None, cfg)
    c2, m2 = build_clues(_month(1), "2026-10", None, cfg)
    assert list(c1["clue_id"]) == list(c2["clue_id"])
    key = ["clue_id", "feedback_id"]
    assert m1[key].sort_values(key).values.tolist() == m2[key].sort_values(key).values.tolist()


def test_encoder_settings_apply_only_when_a_path_is_set(tmp_path):
    shipped = load_clue_config()
    assert shipped.g("encoder")["path"] is None, "no encoder ships: the default must stay off"
    assert shipped.sentence_encoder() is None
    raw = yaml.safe_load((Path(__file__).parents[1] / "config" / "clues.yaml").read_text(encoding="utf-8"))
    raw["grouping"]["encoder"]["path"] = "models/encoder"  # relative: read from the config folder
    (tmp_path / "clues.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    cfg = load_clue_config(tmp_path / "clues.yaml", Path(__file__).parents[1] / "config" / "areas.yaml")
    assert cfg.g("encoder")["path"] == str((tmp_path / "models" / "encoder").resolve())
    assert cfg.g("semantic_weight") == raw["grouping"]["encoder"]["semantic_weight"]
    assert shipped.g("semantic_weight") == raw["grouping"]["semantic_weight"]
    # The lexical threshold stays (areas without the semantic block use it; tested through clue_real).
    assert cfg.g("similarity_threshold") == raw["grouping"]["similarity_threshold"]
    # The folder does not exist: the monthly job stops with a reason naming it, before grouping anything.
    with pytest.raises(EncoderError, match="models/encoder: no such folder"):
        build_clues(_month(), "2026-10", None, cfg)

    raw["grouping"]["encoder"]["mix"] = 1.5
    (tmp_path / "clues.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="encoder.mix"):
        load_clue_config(tmp_path / "clues.yaml", Path(__file__).parents[1] / "config" / "areas.yaml")


def test_a_configured_encoder_without_torch_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "torch", None)  # as on a machine without torch
    with pytest.raises(EncoderError, match="requirements-encoder.txt"):
        TransformerEncoder(tmp_path)
    with pytest.raises(EncoderError, match="not a Hugging Face model folder"):
        TransformerEncoder(tmp_path / "..")
    assert load_encoder(None) is None and load_encoder("") is None


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tiny randomly initialised BERT saved as a model folder (only where torch is installed)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("tiny-bert")
    chars = sorted(set("".join(LINE_BUSY + LONG_QUEUE + ONE_OFFS)))
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]), encoding="utf-8")
    transformers.BertTokenizer(str(folder / "vocab.txt")).save_pretrained(str(folder))
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=len(chars) + 5, hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    transformers.BertModel(config).save_pretrained(str(folder))
    return folder


def test_a_model_folder_encodes_each_text_the_same_whatever_its_batch(tiny_model):
    enc = TransformerEncoder(tiny_model, batch_size=3)
    texts = LINE_BUSY + LONG_QUEUE
    v = enc.encode(texts)
    assert v.shape == (len(texts), 32)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    again = enc.encode(list(reversed(texts)) + [texts[0]])
    assert np.array_equal(again[::-1][1:], v)
    assert np.array_equal(again[-1], v[0])
    # CLS pooling when sentence-transformers' pooling config asks for it.
    (tiny_model / "1_Pooling").mkdir(exist_ok=True)
    (tiny_model / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}', encoding="utf-8")
    try:
        cls = TransformerEncoder(tiny_model).encode(texts)
        assert not np.allclose(cls, v)
    finally:
        (tiny_model / "1_Pooling" / "config.json").unlink()


def test_an_encoder_changes_nothing_where_the_semantic_block_is_off():
    """Z (其他) is grouped by words and characters alone (semantic_skip_areas): an encoder, its weight
    and its threshold must leave it exactly as it was (on real letters, which are mostly Z, the
    encoder's threshold there split problems: benchmarks/clue_real.py 0.626 -> 0.573)."""
    from test_clues import tokenize

    close = ["热线电话一直占线打不进去", "电话总是占线没人接", "大厅排队时间太长", "排队三个小时才办上业务",
             "窗口排队的人太多了", "验证码一直收不到", "执照补办要登报", "公积金提取被退回"]
    month = pd.concat([_month(), pd.DataFrame([
        {"feedback_id": f"hotline:close{i:02d}", "source": "hotline", "source_record_id": f"GDclose{i:02d}",
         "received_at": pd.Timestamp(2026, 10, 20 + i), "sentiment": "neg", "sentiment_score": 0.9,
         "request_type": "投诉", "entity_hash": f"c{i}", "street": "城关街道", "text": t, "tokens": tokenize(t)}
        for i, t in enumerate(close)])], ignore_index=True).assign(area="Z")
    _, without = build_clues(month, "2026-10", None, _cfg())
    # A threshold no pair of different texts reaches: were it applied in Z, every clue there would fall apart.
    _, with_encoder = build_clues(month, "2026-10", None, _cfg(TopicEncoder(), similarity_threshold=0.99))
    key = ["clue_id", "feedback_id"]
    assert len(without) >= 4
    assert with_encoder[key].sort_values(key).values.tolist() == without[key].sort_values(key).values.tolist()


def test_a_folder_that_is_no_model_is_refused_in_one_line_naming_it(tmp_path, tiny_model):
    """A folder with config.json but no tokenizer or weights (transformers raises ImportError or OSError
    for it): one line naming the folder, not transformers' cut-off message."""
    (tmp_path / "config.json").write_text((tiny_model / "config.json").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(EncoderError) as err:
        TransformerEncoder(tmp_path)
    assert str(tmp_path) in str(err.value) and "cannot be loaded" in str(err.value)
    assert "\n" not in str(err.value)


def test_the_monthly_job_stops_on_a_missing_encoder_before_touching_the_warehouse(tmp_path, monkeypatch):
    import shutil

    from pipeline.monthly import build_month_clues

    cfg_dir = tmp_path / "config"
    shutil.copytree(Path(__file__).parents[1] / "config", cfg_dir)
    raw = yaml.safe_load((cfg_dir / "clues.yaml").read_text(encoding="utf-8"))
    raw["grouping"]["encoder"]["path"] = "no-such-encoder"
    (cfg_dir / "clues.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("YINGSHANG_CONFIG_DIR", str(cfg_dir))
    db = tmp_path / "w.db"
    with pytest.raises(EncoderError, match="no-such-encoder: no such folder"):
        build_month_clues("2026-10", tmp_path / "x.xlsx", f"sqlite:///{db}")
    assert not db.exists() and not (tmp_path / "x.xlsx").exists()
