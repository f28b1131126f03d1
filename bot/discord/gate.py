"""Admission of questions: a cooldown per member, and caps on questions in flight, per
member and in all."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

BUSY = "I'm answering a lot of questions right now; please try again in a moment."
USER_BUSY = "I'm still answering your previous question; ask again once it is answered."


class Gate:
    """Who may ask now: at most `max_in_flight` questions at once, at most `max_per_user`
    of them from one member, and `cooldown` seconds between two of a member's questions."""

    def __init__(
        self,
        cooldown: float,
        max_in_flight: int,
        max_per_user: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cooldown = cooldown
        self.max_in_flight = max_in_flight
        self.max_per_user = max_per_user
        self.clock = clock
        self.in_flight = 0
        self._last: dict[int, float] = {}
        self._mine: dict[int, int] = {}

    def cooling(self, user_id: int) -> float:
        """Seconds `user_id` still has to wait, or 0."""
        last = self._last.get(user_id)
        if last is None or self.cooldown <= 0:
            return 0.0
        return max(0.0, self.cooldown - (self.clock() - last))

    def refusal(self, user_id: int) -> str | None:
        """Why a question from `user_id` cannot be taken now, or None."""
        left = self.cooling(user_id)
        if left > 0:
            return f"Please wait {math.ceil(left)} s before asking again."
        if self.max_per_user is not None and self._mine.get(user_id, 0) >= self.max_per_user:
            return USER_BUSY
        if self.in_flight >= self.max_in_flight:
            return BUSY
        return None

    def in_flight_for(self, user_id: int) -> int:
        return self._mine.get(user_id, 0)

    def enter(self, user_id: int) -> None:
        now = self.clock()
        self.in_flight += 1
        self._mine[user_id] = self._mine.get(user_id, 0) + 1
        self._last[user_id] = now
        if len(self._last) > 10_000:
            self._last = {u: t for u, t in self._last.items() if now - t < self.cooldown}

    def leave(self, user_id: int) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        left = self._mine.get(user_id, 0) - 1
        if left > 0:
            self._mine[user_id] = left
        else:
            self._mine.pop(user_id, None)
