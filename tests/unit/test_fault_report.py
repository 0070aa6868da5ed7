"""The fault suite's figures, table and exit code."""

from __future__ import annotations

import io

from rich.console import Console

from bench.faults.corpus import document_text, plan_changes, relative_name
from bench.faults.report import Figure, exit_code, failing, print_summary


def test_a_required_figure_fails_unless_zero_and_information_never_fails() -> None:
    figures = [
        Figure("a", "lost", 0, required_zero=True),
        Figure("a", "seconds", 12.5),
        Figure("b", "dead-lettered", 3, required_zero=True, detail="store: 503"),
    ]
    assert [figure.name for figure in failing(figures)] == ["dead-lettered"]
    assert exit_code(figures) == 1
    assert exit_code(figures[:2]) == 0


def test_no_figures_at_all_is_a_failure() -> None:
    assert exit_code([]) == 1


def test_the_summary_shows_every_figure_and_says_what_failed() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, color_system=None)
    print_summary(
        [Figure("b", "dead-lettered", 3, required_zero=True, detail="store: 503")], console
    )
    text = buffer.getvalue()
    assert "dead-lettered" in text
    assert "store: 503" in text
    assert "0 ✗" in text
    assert "1 required figure(s) not 0" in text


def test_the_change_plan_edits_deletes_and_creates_disjoint_documents() -> None:
    plan = plan_changes(500, seed=3)
    assert len(plan.edits) == len(plan.deletes) == len(plan.creates) == 50
    assert not set(plan.edits) & set(plan.deletes)
    assert set(plan.edits) | set(plan.deletes) <= set(range(500))
    assert plan.creates == tuple(range(500, 550))
    assert plan_changes(500, seed=3) == plan


def test_documents_differ_by_revision_and_kind_follows_the_name() -> None:
    assert document_text(7, "md", 0) != document_text(7, "md", 1)
    assert document_text(7, "html").startswith("<!doctype html>")
    assert [relative_name(n).rsplit(".", 1)[1] for n in range(3)] == ["md", "txt", "html"]
