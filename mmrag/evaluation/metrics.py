"""IR metrics over labelled document rankings, computed by ``pytrec_eval`` (trec_eval's
own code), never by hand. Pure.

What is reported, for a cutoff ``k`` (10 by default), per question and then as the mean
over questions:

- ``recall@n`` (n = 1, 5, k): 1 if **any** expected document is among the top n, else 0
  (trec_eval's ``success``; the "hit rate"). With one expected document per question this
  is the usual recall@n.
- ``fraction@k``: the share of a question's expected documents found in the top k
  (trec_eval's ``recall``); equals ``recall@k`` when a question expects one document.
- ``mrr@k``: 1 / the rank of the first expected document in the top k, 0 if none.
- ``ndcg@k``: nDCG with binary relevance over the top k.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import fmean

import pytrec_eval

from mmrag.evaluation.ranking import RELEVANT_PREFIX


def metric_names(k: int) -> list[str]:
    """The reported metrics for cutoff ``k``, in display order."""
    return [f"recall@{n}" for n in recall_cutoffs(k)] + [f"mrr@{k}", f"ndcg@{k}"]


def recall_cutoffs(k: int) -> list[int]:
    if k < 1:
        raise ValueError("the cutoff k must be at least 1")
    return sorted({n for n in (1, 5, k) if n <= k})


def score_questions(
    rankings: Mapping[str, Sequence[str]], expected: Mapping[str, Sequence[str]], k: int
) -> dict[str, dict[str, float]]:
    """Per question id, every metric of :func:`metric_names` plus ``fraction@k``.

    ``rankings`` holds labelled rankings (:func:`~mmrag.evaluation.ranking.labelled_ranking`),
    best first; ``expected`` the expected entries of the same question ids.
    """
    if set(rankings) != set(expected):
        raise ValueError("rankings and expected documents must cover the same questions")
    qrels = {
        qid: {f"{RELEVANT_PREFIX}{entry}": 1 for entry in entries}
        for qid, entries in expected.items()
    }
    # Strictly decreasing scores, so trec_eval's order (score, then id) is exactly ours.
    run = {
        qid: {label: float(k - position) for position, label in enumerate(ranking[:k])}
        for qid, ranking in rankings.items()
    }
    cutoffs = recall_cutoffs(k)
    measures = {
        f"success.{','.join(map(str, cutoffs))}",
        "recip_rank",
        f"ndcg_cut.{k}",
        f"recall.{k}",
    }
    evaluated = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    scores = {}
    for qid in rankings:
        values = evaluated.get(qid, {})
        row = {f"recall@{n}": values.get(f"success_{n}", 0.0) for n in cutoffs}
        row[f"mrr@{k}"] = values.get("recip_rank", 0.0)
        row[f"ndcg@{k}"] = values.get(f"ndcg_cut_{k}", 0.0)
        row[f"fraction@{k}"] = values.get(f"recall_{k}", 0.0)
        scores[qid] = row
    return scores


def mean_scores(per_question: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """The mean of each metric over the questions (an empty set gives no metrics)."""
    rows = list(per_question.values())
    if not rows:
        return {}
    return {name: fmean(row[name] for row in rows) for name in rows[0]}
