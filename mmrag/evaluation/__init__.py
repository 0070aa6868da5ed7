"""``mmrag eval``: retrieval quality of a running API on a labelled question set.

Pure modules: :mod:`labelled_set` (the file format), :mod:`ranking` (hits → distinct
documents, expected-URI matching), :mod:`metrics` (pytrec_eval), :mod:`runs` (modes,
baselines, request bodies), :mod:`results` and :mod:`report`. I/O: :mod:`client` (HTTP)
and :mod:`runner` (the loop over questions and runs).
"""

from __future__ import annotations

from mmrag.evaluation.labelled_set import (
    LabelledQuestion,
    LabelledSetError,
    load_labelled_set,
    parse_labelled_set,
    select_split,
)
from mmrag.evaluation.metrics import metric_names, score_questions
from mmrag.evaluation.ranking import distinct_documents, labelled_ranking, uri_matches
from mmrag.evaluation.runs import BASELINES, MODES, RunSpec, plan_runs

__all__ = [
    "BASELINES",
    "MODES",
    "LabelledQuestion",
    "LabelledSetError",
    "RunSpec",
    "distinct_documents",
    "labelled_ranking",
    "load_labelled_set",
    "metric_names",
    "parse_labelled_set",
    "plan_runs",
    "score_questions",
    "select_split",
    "uri_matches",
]
