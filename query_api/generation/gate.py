"""What of a streamed, generated answer may be sent to the client, and when (pure).

The rule: the client never receives text that will be taken back. So the generated text
is held back until it is an answer that could be shown (at least one citation of a
passage of the prompt and a few words: ``quality.fallback_reason`` finds nothing), and
from then on it is released a whole sentence at a time, because only a whole sentence can
be checked for repetition. A repetition stops the generation (``repeating``) and cuts
the answer where it starts. If the stream ends before anything could be released, none
of it was sent, and the caller answers extractively instead.
"""

from __future__ import annotations

from collections.abc import Set

from query_api.generation.base import FallbackReason
from query_api.generation.citations import parse_citations
from query_api.generation.prompt import sentence_ends
from query_api.generation.quality import fallback_reason, repetition_start

CHECK_EVERY_WORDS = 4
WINDOW_CHARS = 2000
"""Repetition is looked for in the last ~2,000 characters (from a sentence start): a loop
repeats what it wrote just before, and a bounded window keeps each check cheap however
long the answer grows."""
_SENTENCE_PUNCTUATION = frozenset(".!?…")
_LONGEST_MARKER = 40


class AnswerGate:
    def __init__(self, allowed: Set[int]) -> None:
        self._allowed = frozenset(allowed)
        self._text = ""
        self._released = 0
        self._cut: int | None = None
        self._checked_words = 0
        self._cited = False

    @property
    def repeating(self) -> bool:
        """The text started repeating itself: stop the generation."""
        return self._cut is not None

    @property
    def released(self) -> str:
        """Everything released so far: the answer as the client has it."""
        return self._text[: self._released]

    @property
    def kept(self) -> str:
        """All text received, cut where a repetition starts."""
        return self._text[: self._cut]

    def feed(self, piece: str) -> str:
        """Take the next piece of the answer; return the text that may be sent now."""
        if self.repeating:
            return ""
        before = len(self._text)
        self._text += piece
        if not self._released:
            self._text = self._text.lstrip()
        if not self._cited:  # a marker may have begun in the previous piece
            recent = self._text[max(0, before - _LONGEST_MARKER) :]
            self._cited = bool(parse_citations(recent, self._allowed))
        words = self._text.count(" ")
        # Checked whenever a sentence may have ended (nothing is released between two
        # sentence ends) and every few words, not on every piece.
        if words - self._checked_words >= CHECK_EVERY_WORDS or _SENTENCE_PUNCTUATION & set(piece):
            self._checked_words = words
            self._check_repetition()
        if not self._cited:
            return ""
        return self._release(self._last_sentence_end(self._cut, at_end=False))

    def finish(self, *, complete: bool) -> str:
        """The stream has ended: ``complete`` when the LLM finished (its last sentence may
        lack a full stop), not when it failed or ran out of time (an unfinished sentence
        is dropped). Returns the text that may still be sent."""
        if not self.repeating:
            self._check_repetition()
        if not self._cited:
            return ""
        if complete and not self.repeating:
            return self._release(len(self._text.rstrip()))
        return self._release(self._last_sentence_end(self._cut, at_end=not self.repeating))

    def verdict(self) -> FallbackReason | None:
        """Why the answer cannot be shown (judged on the text kept), or None if it was."""
        if self._released:
            return None
        return fallback_reason(self.kept, self._allowed)

    def _check_repetition(self) -> None:
        start = 0
        if len(self._text) > WINDOW_CHARS:
            window = len(self._text) - WINDOW_CHARS
            ends = sentence_ends(self._text[window : window + WINDOW_CHARS // 2])
            start = window + ends[0] if ends else window
        found = repetition_start(self._text[start:])
        self._cut = None if found is None else start + found

    def _last_sentence_end(self, limit: int | None, *, at_end: bool) -> int:
        """Where the last whole sentence before ``limit`` ends (only the text not yet
        released is read); ``at_end``: the text is all there is, so a full stop at its
        very end ends a sentence too."""
        text = self._text[self._released : limit]
        ends = sentence_ends(text + " " if at_end else text)
        return self._released + ends[-1] if ends else 0

    def _release(self, end: int) -> str:
        if end <= self._released:
            return ""
        candidate = self._text[:end]
        if not self._released and fallback_reason(candidate, self._allowed) is not None:
            return ""
        ready, self._released = self._text[self._released : end], end
        return ready
