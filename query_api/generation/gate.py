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
from query_api.generation.prompt import sentence_ends
from query_api.generation.quality import fallback_reason, repetition_start


class AnswerGate:
    def __init__(self, allowed: Set[int]) -> None:
        self._allowed = frozenset(allowed)
        self._text = ""
        self._released = 0
        self._cut: int | None = None

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
        self._text += piece
        if not self._released:
            self._text = self._text.lstrip()
        self._cut = repetition_start(self._text)
        return self._release(self._last_sentence_end(self._cut, at_end=False))

    def finish(self, *, complete: bool) -> str:
        """The stream has ended: ``complete`` when the LLM finished (its last sentence may
        lack a full stop), not when it failed or ran out of time (an unfinished sentence
        is dropped). Returns the text that may still be sent."""
        if complete and not self.repeating:
            return self._release(len(self._text.rstrip()))
        return self._release(self._last_sentence_end(self._cut, at_end=not self.repeating))

    def verdict(self) -> FallbackReason | None:
        """Why the answer cannot be shown (judged on the text kept), or None if it was."""
        if self._released:
            return None
        return fallback_reason(self.kept, self._allowed)

    def _last_sentence_end(self, limit: int | None, *, at_end: bool) -> int:
        """Where the last whole sentence before ``limit`` ends; ``at_end``: the text is
        all there is, so a full stop at its very end ends a sentence too."""
        text = self._text if limit is None else self._text[:limit]
        ends = sentence_ends(text + " " if at_end else text)
        return ends[-1] if ends else 0

    def _release(self, end: int) -> str:
        if end <= self._released:
            return ""
        candidate = self._text[:end]
        if not self._released and fallback_reason(candidate, self._allowed) is not None:
            return ""
        ready, self._released = self._text[self._released : end], end
        return ready
