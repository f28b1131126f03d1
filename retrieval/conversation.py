"""Conversations: follow-up questions resolved against earlier turns, history bounded.

Without an LLM a follow-up is resolved by carrying the previous turn's subject: when
a question leans on earlier turns (a pronoun such as "it" or "he", "what about …",
or too few words of its own to search with), the key terms of the previous resolved
question and the names in the previous answer are added to it before retrieval.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from attache.retrieval.extractive import STOPWORDS, content_terms

MAX_TURNS = 6

_REFERENCES = re.compile(
    r"\b(it|its|it's|he|him|his|she|her|hers|they|them|their|theirs|this|that|these|those|"
    r"there|then|the same|such|former|latter|one)\b",
    re.IGNORECASE,
)
# Pronouns for people: what they refer to is more likely named in the previous answer.
_PEOPLE = re.compile(r"\b(he|him|his|she|her|hers|they|them|their|theirs)\b", re.IGNORECASE)
_ELLIPSIS = re.compile(
    r"^\s*(and|but|also|so|what about|how about|and what|what else|why|why not|how so|"
    r"anything else|tell me more|more)\b",
    re.IGNORECASE,
)
# Bounded runs within a word keep the time linear on text such as "A.A.A.A…".
_NAME = re.compile(
    r"\b(?:[A-Z][\w'’.-]{0,63}[a-z][\w'’-]{0,63})"
    r"(?:\s+(?:of\s+)?[A-Z][\w'’.-]{0,63}[a-z][\w'’-]{0,63})*"
)
_WORD = re.compile(r"[\w'’-]+")
_POSSESSIVES = frozenset(("his", "her", "its", "their"))


@dataclass(frozen=True)
class Turn:
    question: str
    resolved: str
    answer: str
    answered: bool
    sources: tuple[str, ...] = ()  # the documents the answer cited


def needs_context(question: str) -> bool:
    """Whether a question leans on earlier turns: not when its only references are
    possessives of a name it states itself ("When will Blinken deliver his speech?")."""
    if _ELLIPSIS.search(question):
        return True
    references = [m.group(0).lower() for m in _REFERENCES.finditer(question)]
    if references:
        return not (set(references) <= _POSSESSIVES and _names(question))
    return len(content_terms(question)) < 2


def _key_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 2]


def _names(text: str) -> list[str]:
    found = []
    for match in _NAME.finditer(text):
        name = match.group(0)
        at_start = match.start() == 0 or text[: match.start()].rstrip().endswith((".", "!", "?"))
        if at_start and " " not in name:
            continue
        found.append(name)
    return found


class Conversation:
    """The recent turns of one conversation (a CLI chat, a Discord thread)."""

    def __init__(self, max_turns: int = MAX_TURNS) -> None:
        self.turns: deque[Turn] = deque(maxlen=max_turns)

    def reset(self) -> None:
        self.turns.clear()

    def add(self, question: str, resolved: str, answer: str, answered: bool,
            sources: tuple[str, ...] = ()) -> None:
        self.turns.append(Turn(question, resolved, answer, answered, sources))

    def sources_for(self, question: str) -> frozenset[str]:
        """The documents the previous answer cited, when `question` refers back to what it
        was about ("What will it focus on?") without naming a subject of its own: a
        pronoun's subject is most likely in them. Empty otherwise ("What about
        Microsoft?")."""
        if not self.turns or not _REFERENCES.search(question) or _names(question):
            return frozenset()
        return frozenset(self.turns[-1].sources)

    def context_for(self, question: str) -> str:
        """Words of the previous turn's subject to carry into `question`, or ''."""
        if not self.turns or not needs_context(question):
            return ""
        last = self.turns[-1]
        carried: list[str] = []
        seen = {w.lower() for w in _key_words(question)}
        words = _key_words(last.resolved)
        if last.answered and _PEOPLE.search(question):
            words = [*_names(last.answer), *words]
        for word in words:
            for part in word.split():
                if part.lower() not in seen and part.lower() not in STOPWORDS:
                    seen.add(part.lower())
                    carried.append(part)
        return " ".join(carried[:16])

    def resolve(self, question: str) -> str:
        """The question, with the previous turn's subject carried when it needs one."""
        context = self.context_for(question)
        return f"{question} ({context})" if context else question
