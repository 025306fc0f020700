"""SentimentModel.predict_proba's request-type prior, applied to all rows at once, gives bit-for-bit
the probabilities of the row-by-row rule (q = P[i] * f; P[i] = q / q.sum() if q.sum() > 0)."""

from __future__ import annotations

import numpy as np

from nlp.sentiment import DEFAULT_REQUEST_PRIOR, SentimentModel, canonical_request_type


class _Fixed:
    classes_ = np.array(["neg", "neu", "pos"])

    def __init__(self, P: np.ndarray) -> None:
        self.P = P

    def predict_proba(self, X):
        return self.P.copy()


def _row_by_row(m: SentimentModel, P: np.ndarray, request_types: list) -> np.ndarray:
    P = P.copy()
    labels = [str(c) for c in m.classes_]
    for i, rt in enumerate(request_types):
        ratios = m.request_prior.get(canonical_request_type(rt) or "")
        if not ratios:
            continue
        f = np.array([ratios.get(lab, 1.0) for lab in labels]) ** m.prior_strength
        q = P[i] * f
        P[i] = q / q.sum() if q.sum() > 0 else P[i]
    return P


def test_vectorised_prior_equals_the_row_rule() -> None:
    rng = np.random.default_rng(0)
    types = ["投诉", "咨询类", "表扬信", None, float("nan"), "其他", "举报", "建议", "求助", "", "感谢", ["x"]]
    for strength in (1.0, 0.7, 2.0):
        for trial in range(30):
            n = int(rng.integers(1, 2000))
            P = rng.dirichlet([0.3, 0.5, 0.4], size=n)
            if trial % 5 == 0:
                P[: n // 3] = 0.0  # rows whose adjusted sum is 0 stay as they are
            rts = [types[j] for j in rng.integers(0, len(types), size=n)]
            m = SentimentModel(_Fixed(P), request_prior=DEFAULT_REQUEST_PRIOR, prior_strength=strength)
            got = m.predict_proba(list(range(n)), rts)
            assert got.tobytes() == _row_by_row(m, P, rts).tobytes()
