"""The buttons under an answer: **Passage [n]** shows the passage behind citation n to
the member who clicks, and only to them.

The buttons are `discord.ui.DynamicItem`s: their custom id (`attache:cite:KEY:N`) says
which answer and which citation, so a click is routed here whenever it comes (no view
has to be kept alive per message). The passages themselves are kept in memory for the
most recent answers (`PassageStore`); a click on an older button, or on one from before
a restart, is told that the sources have expired.
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from attache.bot.discord import format as fmt

if TYPE_CHECKING:
    from attache.models import Citation

NO_MENTIONS = discord.AllowedMentions.none()
CITE_PREFIX = "attache:cite:"
CITE_TEMPLATE = re.compile(r"attache:cite:(?P<key>[0-9a-f]{16}):(?P<n>\d{1,4})")
MAX_ANSWERS = 1000
EXPIRED_SOURCES = "These sources are no longer available; ask the question again to see them."


class PassageStore:
    """The passages behind the buttons of the `capacity` most recent answers."""

    def __init__(self, capacity: int = MAX_ANSWERS) -> None:
        self.capacity = capacity
        self._answers: OrderedDict[str, dict[int, tuple[Citation, str]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._answers)

    def __contains__(self, key: object) -> bool:
        return key in self._answers

    def add(self, entries: Sequence[tuple[Citation, str]]) -> str:
        """Keep one answer's passages; returns the key its buttons carry."""
        key = secrets.token_hex(8)
        self._answers[key] = {citation.n: (citation, passage) for citation, passage in entries}
        while len(self._answers) > self.capacity:
            self._answers.popitem(last=False)
        return key

    def get(self, key: str, n: int) -> tuple[Citation, str] | None:
        entries = self._answers.get(key)
        return None if entries is None else entries.get(n)


async def allowed_here(interaction: discord.Interaction) -> bool:
    """The client's own checks (the channel allow-list), for buttons as for commands."""
    check = getattr(interaction.client, "allowed_here", None)
    return True if check is None else bool(await check(interaction))


class PassageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=CITE_TEMPLATE):
    """One **Passage [n]** button."""

    def __init__(self, key: str, n: int, store: PassageStore | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=fmt.clip(f"Passage [{n}]", fmt.BUTTON_LABEL_LIMIT),
                style=discord.ButtonStyle.secondary,
                custom_id=f"{CITE_PREFIX}{key}:{n}",
            )
        )
        self.key = key
        self.n = n
        self.store = store

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> PassageButton:
        store = getattr(interaction.client, "passages", None)
        return cls(match["key"], int(match["n"]), store)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await allowed_here(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        found = self.store.get(self.key, self.n) if self.store is not None else None
        if found is None:
            await interaction.response.send_message(
                EXPIRED_SOURCES, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        await send_passage(interaction, *found)


def passage_view(store: PassageStore, entries: Sequence[tuple[Citation, str]]) -> discord.ui.View:
    """The buttons of one message: one per citation (Discord allows 25)."""
    entries = list(entries)[: fmt.BUTTONS_PER_MESSAGE]
    key = store.add(entries)
    view = discord.ui.View(timeout=None)
    for citation, _ in entries:
        view.add_item(PassageButton(key, citation.n, store))
    return view


async def send_passage(interaction: discord.Interaction, citation: Citation, passage: str) -> None:
    """The passage as ephemeral embeds: the first in the response, the rest as follow-ups."""
    embeds = fmt.passage_embeds(citation, passage)
    await interaction.response.send_message(
        embed=embeds[0], ephemeral=True, allowed_mentions=NO_MENTIONS
    )
    for embed in embeds[1:]:
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)
