"""Review-polarity experiments behind docs/quality.md ("Review polarity"): can anything besides
the target corpus's own labels lift 5-fold CV accuracy on the hotel and delivery reviews?

    python benchmarks/review_polarity.py --shared ../shared/data --target waimai --experiment aux
    python benchmarks/review_polarity.py --shared ../shared/data --target hotel  --experiment embed

Targets: ``hotel`` (chnsenticorp_htl_all), ``waimai`` (waimai_10k). Experiments:

- ``aux``: the other review corpora as auxiliary labelled data, added to every training fold (test
  folds hold target texts only): plain, down-weighted (0.1 / 0.3 / 1), with "frustratingly easy"
  feature augmentation (a shared copy of every feature plus a target-only copy), and stacked (the
  margin of a model trained on the auxiliary data alone as one extra feature).
- ``embed``: PPMI-SVD word vectors (window 5, 1/d weights, context smoothing 0.75, 200 dims) learnt
  in every fold from the unlabelled text of the training part plus the auxiliary corpora (never the
  test fold), IDF-weighted mean per review, appended to the n-grams at scales 0.5 / 1 / 2; and the
  dense vectors alone.
- ``negation``: an extra block of ``N_<word>`` tokens for the (≤ 3) words after a negator up to the
  next punctuation, and/or ``A_<word>`` tokens after the last 但/但是/不过/就是/只是/可是/却.
- ``curve``: learning curve, training on 25 / 50 / 75 / 100 % of each training fold.
- ``neural`` (needs torch, which is not a project dependency: ``pip install torch`` (CPU) into any
  environment that has the project's requirements): a character BiGRU (128-d embeddings, 2×128
  hidden units, max+mean pooling, dropout 0.3, texts cut at 200 characters) pre-trained for 2 epochs
  on the auxiliary corpora, then fine-tuned for 3 epochs on each training fold; alone, without the
  pre-training (4 epochs on the fold; ``--plain-epochs 0`` skips this comparison), and averaged (P(pos)) with the default calibrated SVM, which is
  the pipeline ``yingshang evaluate`` trains (``calibrated SVM`` row). No setting was tuned on the
  test folds: the epochs and sizes were fixed before the first run.

Auxiliary data is made safe first (:func:`auxiliary_rows`): the shopping corpus's 酒店 category is
the same source as ChnSentiCorp hotel (most hotel reviews occur verbatim in it), so it is dropped
entirely when the target is hotel, and every auxiliary text whose whitespace-normalised form occurs
in the target corpus is dropped for every target.

Every row uses the default sentiment features (``build_sentiment_pipeline``'s word 1–2 + char 1–3
TF-IDF, fitted in each fold on that fold's training texts, auxiliary texts included) and an
uncalibrated ``LinearSVC(C=0.3)`` — cheaper than the calibrated default and within 0.001 of it; a
``base`` row in every run is the comparison. Folds: stratified 5-fold, shuffled, seed 0, as in
``yingshang evaluate --cv 5``. The data is read from ``--shared`` and never written anywhere.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC
from sklearn.utils.extmath import randomized_svd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nlp.features import as_token_lists, identity, token_list  # noqa: E402
from nlp.sentiment import build_sentiment_pipeline  # noqa: E402

CORPORA = {
    "hotel": ("chnsenticorp_htl_all/chnsenticorp_htl_all_dev.csv", None),
    "waimai": ("waimai_10k/waimai_10k_dev.csv", None),
    "shop": ("online_shopping_10_cats/online_shopping_10_cats_dev.csv.gz", "cat"),
}
# Auxiliary rows never used for a target: (corpus, category) pairs from the same source.
SAME_SOURCE = {"hotel": {("shop", "酒店")}}

NEGATORS = frozenset({"不", "没", "没有", "不是", "别", "无", "未", "不太", "不够", "不会", "不能", "不要",
                      "不怎么", "并不", "一点也不", "毫不", "不算"})
CONTRAST = frozenset({"但", "但是", "不过", "就是", "可是", "只是", "然而", "却"})
_PUNCT = frozenset("，,。.！!？?；;~～…、 ")
_WS = re.compile(r"\s+")


def text_key(text: str) -> str:
    """Whitespace and U+FEFF removed: the key the shared data used to de-duplicate its splits."""
    return _WS.sub("", str(text).replace("\ufeff", ""))


# ---------------------------------------------------------------------------------------- data


def load_corpus(shared: Path, name: str) -> pd.DataFrame:
    rel, cat_col = CORPORA[name]
    df = pd.read_csv(shared / rel, dtype=str)
    df = df[df["label"].notna()]
    return pd.DataFrame({
        "text": df["review"].fillna("").astype(str).to_numpy(),
        "label": df["label"].astype(str).str.strip().to_numpy(),
        "cat": df[cat_col].fillna("").to_numpy() if cat_col else "",
        "corpus": name,
    })


def auxiliary_rows(target: str, target_texts: Sequence[str], others: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows of the other corpora usable as auxiliary training data for ``target``.

    Drops the (corpus, category) pairs of :data:`SAME_SOURCE` (the shopping 酒店 reviews for hotel)
    and every row whose whitespace-normalised text occurs in ``target_texts``.
    """
    seen = {text_key(t) for t in target_texts}
    banned = SAME_SOURCE.get(target, set())
    parts = []
    for name, df in others.items():
        if name == target:
            continue
        keep = [(name, c) not in banned and text_key(t) not in seen for t, c in zip(df["text"], df["cat"], strict=True)]
        parts.append(df[np.asarray(keep, dtype=bool)])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["text", "label", "cat", "corpus"])


# ------------------------------------------------------------------------------------ features


def default_features() -> object:
    """The default sentiment model's feature union (word 1–2 + char 1–3 TF-IDF), unfitted."""
    return clone(build_sentiment_pipeline().named_steps["features"])


def negation_scope(tokens: Sequence[str], span: int = 3) -> list[str]:
    """``N_<word>`` for up to ``span`` words after a negator, stopping at punctuation."""
    out: list[str] = []
    left = 0
    for t in tokens:
        if all(ch in _PUNCT for ch in t):
            left = 0
        elif t in NEGATORS:
            left = span
        elif left > 0:
            out.append("N_" + t)
            left -= 1
    return out


def after_contrast(tokens: Sequence[str]) -> list[str]:
    """``A_<word>`` for the words after the last contrast marker (但是, 不过, 就是 …)."""
    out: list[str] = []
    on = False
    for t in tokens:
        if t in CONTRAST:
            on, out = True, []
        elif on:
            out.append("A_" + t)
    return out


def token_block() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="word", tokenizer=token_list, preprocessor=identity, lowercase=False,
                           token_pattern=None, sublinear_tf=True, dtype=np.float32)


def ppmi_svd_vectors(docs: Sequence[Sequence[str]], dim: int = 200, window: int = 5, min_count: int = 3,
                     cds: float = 0.75, seed: int = 0) -> tuple[dict[str, int], np.ndarray]:
    """Word vectors from unlabelled token lists: positive PMI of 1/d-weighted co-occurrences within
    ``window`` words (context counts smoothed by ``cds``), truncated SVD, U·√S, rows L2-normalised."""
    counts = Counter(t for d in docs for t in d)
    vocab = {w: i for i, (w, c) in enumerate(counts.most_common()) if c >= min_count}
    ids = np.fromiter((vocab.get(t, -1) for d in docs for t in d), dtype=np.int64)
    doc_of = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
    rows, cols, vals = [], [], []
    for k in range(1, window + 1):
        a, b = ids[:-k], ids[k:]
        ok = (doc_of[:-k] == doc_of[k:]) & (a >= 0) & (b >= 0)
        rows += [a[ok], b[ok]]
        cols += [b[ok], a[ok]]
        vals.append(np.full(2 * int(ok.sum()), 1.0 / k))
    n = len(vocab)
    m = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)).tocsr()
    m.sum_duplicates()
    m = m.tocoo()
    total = m.sum()
    row_p = np.asarray(m.tocsr().sum(axis=1)).ravel() / total
    ctx = np.asarray(m.tocsr().sum(axis=0)).ravel() ** cds
    ctx /= ctx.sum()
    pmi = np.log(m.data / total / row_p[m.row] / ctx[m.col])
    pos = pmi > 0
    ppmi = sp.csr_matrix((pmi[pos], (m.row[pos], m.col[pos])), shape=(n, n))
    u, s, _ = randomized_svd(ppmi, min(dim, n - 1), n_iter=5, random_state=seed)
    vecs = u * np.sqrt(s)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True) + 1e-9
    return vocab, vecs.astype(np.float32)


def doc_vectors(docs: Sequence[Sequence[str]], vocab: dict[str, int], vecs: np.ndarray,
                idf: np.ndarray) -> np.ndarray:
    """IDF-weighted mean of the word vectors of each document, L2-normalised (zeros if none known)."""
    rows, cols = [], []
    for j, d in enumerate(docs):
        for t in d:
            i = vocab.get(t)
            if i is not None:
                rows.append(j)
                cols.append(i)
    bag = sp.csr_matrix((idf[cols], (rows, cols)), shape=(len(docs), len(vocab)))
    out = np.asarray(bag @ vecs)
    return out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-9)


def unlabelled_idf(docs: Sequence[Sequence[str]], vocab: dict[str, int]) -> np.ndarray:
    df = Counter(t for d in docs for t in set(d))
    idf = np.zeros(len(vocab))
    for w, i in vocab.items():
        idf[i] = np.log((1 + len(docs)) / (1 + df[w])) + 1
    return idf


# --------------------------------------------------------------------------------- experiments


def svm(C: float = 0.3) -> LinearSVC:
    return LinearSVC(C=C, random_state=0)


def folds(y: np.ndarray, k: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(StratifiedKFold(k, shuffle=True, random_state=0).split(np.zeros(len(y)), y))


def accuracy(model: object, X: object, y: np.ndarray) -> float:
    return float((model.predict(X) == y).mean())


def run_aux(tok: list[list[str]], y: np.ndarray, aux_tok: list[list[str]], aux_y: np.ndarray,
            record: Callable[[str, float], None], weights: Sequence[float] = (0.1, 0.3, 1.0)) -> None:
    # Stacking feature: margin of a model fitted on the auxiliary data alone (no target labels).
    fu = default_features()
    aux_model = svm().fit(fu.fit_transform(aux_tok), aux_y)
    margin = aux_model.decision_function(fu.transform(tok)).astype(np.float32)[:, None]
    record("aux model alone (no target labels)", accuracy(aux_model, fu.transform(tok), y))
    for tr, te in folds(y):
        fu = default_features()
        Xtr = fu.fit_transform([tok[i] for i in tr])
        Xte = fu.transform([tok[i] for i in te])
        record("base", accuracy(svm().fit(Xtr, y[tr]), Xte, y[te]))
        S = sp.csr_matrix(margin)
        m = svm().fit(sp.hstack([Xtr, S[tr]]).tocsr(), y[tr])
        record("stacked aux-model margin", accuracy(m, sp.hstack([Xte, S[te]]).tocsr(), y[te]))
        fu = default_features()
        XA = fu.fit_transform([tok[i] for i in tr] + aux_tok)
        XteA = fu.transform([tok[i] for i in te])
        yA = np.r_[y[tr], aux_y]
        is_target = sp.diags(np.r_[np.ones(len(tr)), np.zeros(len(aux_tok))].astype(np.float32))
        XFA = sp.hstack([XA, is_target @ XA]).tocsr()
        XteFA = sp.hstack([XteA, XteA]).tocsr()
        for w in weights:
            sw = np.r_[np.ones(len(tr)), np.full(len(aux_tok), w)]
            record(f"+ aux, weight {w}", accuracy(svm().fit(XA, yA, sample_weight=sw), XteA, y[te]))
            record(f"+ aux, weight {w}, feature augmentation",
                   accuracy(svm().fit(XFA, yA, sample_weight=sw), XteFA, y[te]))


def run_embed(tok: list[list[str]], y: np.ndarray, aux_tok: list[list[str]],
              record: Callable[[str, float], None], scales: Sequence[float] = (0.5, 1.0, 2.0)) -> None:
    for tr, te in folds(y):
        unlabelled = [tok[i] for i in tr] + aux_tok
        vocab, vecs = ppmi_svd_vectors(unlabelled)
        idf = unlabelled_idf(unlabelled, vocab)
        Dtr = doc_vectors([tok[i] for i in tr], vocab, vecs, idf)
        Dte = doc_vectors([tok[i] for i in te], vocab, vecs, idf)
        fu = default_features()
        Xtr = fu.fit_transform([tok[i] for i in tr])
        Xte = fu.transform([tok[i] for i in te])
        record("base", accuracy(svm().fit(Xtr, y[tr]), Xte, y[te]))
        for s in scales:
            P = sp.hstack([Xtr, sp.csr_matrix(Dtr * s)]).tocsr()
            Q = sp.hstack([Xte, sp.csr_matrix(Dte * s)]).tocsr()
            record(f"+ PPMI-SVD doc vectors x{s}", accuracy(svm().fit(P, y[tr]), Q, y[te]))
        record("PPMI-SVD doc vectors alone (C=1)", accuracy(svm(1.0).fit(Dtr, y[tr]), Dte, y[te]))


def run_negation(tok: list[list[str]], y: np.ndarray, record: Callable[[str, float], None]) -> None:
    neg = [negation_scope(t) for t in tok]
    ctr = [after_contrast(t) for t in tok]
    for tr, te in folds(y):
        fu = default_features()
        Xtr = fu.fit_transform([tok[i] for i in tr])
        Xte = fu.transform([tok[i] for i in te])
        nb, cb = token_block(), token_block()
        N1, N2 = nb.fit_transform([neg[i] for i in tr]), nb.transform([neg[i] for i in te])
        A1, A2 = cb.fit_transform([ctr[i] for i in tr]), cb.transform([ctr[i] for i in te])
        record("base", accuracy(svm().fit(Xtr, y[tr]), Xte, y[te]))
        variants = {
            "+ negation-scope block": ([N1], [N2], 1.0),
            "+ negation-scope block x0.5": ([N1], [N2], 0.5),
            "+ after-contrast block x0.5": ([A1], [A2], 0.5),
            "+ both x0.5": ([N1, A1], [N2, A2], 0.5),
        }
        for name, (extra_tr, extra_te, s) in variants.items():
            P = sp.hstack([Xtr] + [s * b for b in extra_tr]).tocsr()
            Q = sp.hstack([Xte] + [s * b for b in extra_te]).tocsr()
            record(name, accuracy(svm().fit(P, y[tr]), Q, y[te]))


def run_curve(tok: list[list[str]], y: np.ndarray, record: Callable[[str, float], None]) -> None:
    rng = np.random.default_rng(0)
    for tr, te in folds(y):
        order = rng.permutation(tr)
        for frac in (0.25, 0.5, 0.75, 1.0):
            sub = np.sort(order[: int(len(tr) * frac)])
            fu = default_features()
            Xtr = fu.fit_transform([tok[i] for i in sub])
            record(f"{int(frac * 100)}% of each training fold (~{int(frac * len(y) * 0.8)} texts)",
                   accuracy(svm().fit(Xtr, y[sub]), fu.transform([tok[i] for i in te]), y[te]))


def run_neural(tok: list[list[str]], y: np.ndarray, aux_tok: list[list[str]], aux_y: np.ndarray,
               record: Callable[[str, float], None], pre_epochs: int = 2, ft_epochs: int = 3,
               plain_epochs: int = 4, max_len: int = 200) -> None:
    import torch
    from torch import nn

    torch.set_num_threads(1)
    texts = ["".join(t) for t in tok]
    aux_texts = ["".join(t) for t in aux_tok]
    yi = (y == "1").astype(np.int64)
    aux_yi = (aux_y == "1").astype(np.int64)

    class BiGRU(nn.Module):
        def __init__(self, n_vocab: int, dim: int = 128, hidden: int = 128) -> None:
            super().__init__()
            self.emb = nn.Embedding(n_vocab, dim, padding_idx=0)
            self.drop = nn.Dropout(0.3)
            self.rnn = nn.GRU(dim, hidden, batch_first=True, bidirectional=True)
            self.out = nn.Linear(4 * hidden, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mask = (x > 0).float().unsqueeze(-1)
            o, _ = self.rnn(self.drop(self.emb(x)))
            pooled = torch.cat([(o - 1e4 * (1 - mask)).max(1).values,
                                (o * mask).sum(1) / mask.sum(1).clamp(min=1)], 1)
            return self.out(self.drop(pooled))

    def vocab_of(ts: Sequence[str]) -> dict[str, int]:
        counts = Counter(c for t in ts for c in t)
        return {c: i + 2 for i, c in enumerate(sorted(c for c, n in counts.items() if n >= 2))}  # 0 pad, 1 unk

    def encode(ts: Sequence[str], voc: dict[str, int]) -> torch.Tensor:
        width = max(1, min(max_len, max(len(t) for t in ts)))
        X = np.zeros((len(ts), width), dtype=np.int64)
        for i, t in enumerate(ts):
            ids = [voc.get(c, 1) for c in t[:max_len]]
            X[i, : len(ids)] = ids
        return torch.from_numpy(X)

    def fit(net: nn.Module, ts: Sequence[str], labels: np.ndarray, idx: np.ndarray, voc: dict[str, int],
            epochs: int, lr: float, seed: int) -> None:
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        lens = np.array([min(len(t), max_len) for t in ts])
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        for _ in range(epochs):
            net.train()
            order = rng.permutation(idx)
            batches = []
            for s in range(0, len(order), 64 * 20):  # similar lengths in a batch, batches shuffled
                chunk = order[s: s + 64 * 20]
                chunk = chunk[np.argsort(lens[chunk], kind="stable")]
                batches += [chunk[i: i + 64] for i in range(0, len(chunk), 64)]
            for j in rng.permutation(len(batches)):
                b = batches[j]
                loss = nn.functional.cross_entropy(net(encode([ts[i] for i in b], voc)), torch.from_numpy(labels[b]))
                opt.zero_grad()
                loss.backward()
                opt.step()

    def proba(net: nn.Module, idx: np.ndarray, voc: dict[str, int]) -> np.ndarray:
        net.eval()
        out = np.zeros(len(idx))
        order = np.argsort([len(texts[i]) for i in idx], kind="stable")
        with torch.no_grad():
            for s in range(0, len(idx), 256):
                sel = order[s: s + 256]
                out[sel] = torch.softmax(net(encode([texts[i] for i in idx[sel]], voc)), 1)[:, 1].numpy()
        return out

    aux_voc = vocab_of(aux_texts)
    torch.manual_seed(0)
    pre = BiGRU(len(aux_voc) + 2)
    fit(pre, aux_texts, aux_yi, np.arange(len(aux_texts)), aux_voc, pre_epochs, 2e-3, 0)
    pre_state = {k: v.clone() for k, v in pre.state_dict().items()}
    svm_pipe = build_sentiment_pipeline()
    for f, (tr, te) in enumerate(folds(y)):
        def acc(p: np.ndarray, te: np.ndarray = te) -> float:
            return float(((p > 0.5).astype(np.int64) == yi[te]).mean())

        m = clone(svm_pipe).fit([tok[i] for i in tr], y[tr])
        p_svm = m.predict_proba([tok[i] for i in te])[:, list(m.classes_).index("1")]
        record("calibrated SVM (the evaluate default)", acc(p_svm))
        record("BiGRU pre-trained on aux, no target labels", acc(proba(pre, te, aux_voc)))
        torch.manual_seed(100 + f)
        net = BiGRU(len(aux_voc) + 2)
        net.load_state_dict(pre_state)
        fit(net, texts, yi, tr, aux_voc, ft_epochs, 1e-3, 100 + f)
        p_ft = proba(net, te, aux_voc)
        record("BiGRU pre-trained on aux + fine-tuned", acc(p_ft))
        record("mean of calibrated SVM and fine-tuned BiGRU", acc((p_svm + p_ft) / 2))
        if plain_epochs <= 0:
            continue
        voc = vocab_of([texts[i] for i in tr])
        torch.manual_seed(200 + f)
        plain = BiGRU(len(voc) + 2)
        fit(plain, texts, yi, tr, voc, plain_epochs, 2e-3, 200 + f)
        p_plain = proba(plain, te, voc)
        record("BiGRU on the fold only", acc(p_plain))
        record("mean of calibrated SVM and fold-only BiGRU", acc((p_svm + p_plain) / 2))


def run(shared: Path, target: str, experiment: str, plain_epochs: int = 4) -> dict[str, float]:
    """Mean fold accuracy per variant (ordered as first recorded)."""
    corpora = {name: load_corpus(shared, name) for name in CORPORA}
    tgt = corpora[target]
    y = tgt["label"].to_numpy()
    tok = as_token_lists(tgt["text"].tolist())
    results: dict[str, list[float]] = {}

    def record(name: str, acc: float) -> None:
        results.setdefault(name, []).append(acc)

    aux = auxiliary_rows(target, tgt["text"].tolist(), corpora)
    if experiment in ("aux", "embed", "neural"):
        print(f"{target}: {len(tgt)} texts; auxiliary {len(aux)} ({aux['corpus'].value_counts().to_dict()})",
              file=sys.stderr)
    if experiment == "aux":
        run_aux(tok, y, as_token_lists(aux["text"].tolist()), aux["label"].to_numpy(), record)
    elif experiment == "embed":
        run_embed(tok, y, as_token_lists(aux["text"].tolist()), record)
    elif experiment == "neural":
        run_neural(tok, y, as_token_lists(aux["text"].tolist()), aux["label"].to_numpy(), record,
                   plain_epochs=plain_epochs)
    elif experiment == "negation":
        run_negation(tok, y, record)
    elif experiment == "curve":
        run_curve(tok, y, record)
    else:
        raise ValueError(f"unknown experiment {experiment!r}")
    return {k: round(float(np.mean(v)), 4) for k, v in results.items()}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--target", choices=("hotel", "waimai"), required=True)
    ap.add_argument("--experiment", choices=("aux", "embed", "negation", "curve", "neural"), required=True)
    ap.add_argument("--plain-epochs", type=int, default=4,
                    help="neural: epochs of the BiGRU trained on the fold only (0 = skip that comparison)")
    args = ap.parse_args(argv)
    t0 = time.time()
    res = run(args.shared, args.target, args.experiment, args.plain_epochs)
    print(json.dumps({"target": args.target, "experiment": args.experiment, "accuracy": res,
                      "seconds": round(time.time() - t0)}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
