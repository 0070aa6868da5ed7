"""``mmrag search``'s option parsing (pure)."""

from __future__ import annotations

import pytest
import typer

from mmrag.query_commands import parse_weights


def test_weights_parse_from_name_value_pairs() -> None:
    assert parse_weights(["bm25=2", " clip_knn = 0", "text_knn=0.5"]) == {
        "bm25": 2.0,
        "clip_knn": 0.0,
        "text_knn": 0.5,
    }
    assert parse_weights([]) == {}


@pytest.mark.parametrize("pair", ["bm25", "bm25=", "=2", "bm25=much"])
def test_malformed_weights_are_refused(pair: str) -> None:
    with pytest.raises(typer.BadParameter, match="NAME=NUMBER"):
        parse_weights([pair])
