"""Readers' feedback on answers, and what admins learn from it.

Every logged answer carries 👍 and 👎 buttons. They are `discord.ui.DynamicItem`s whose
custom id holds the question's row in the question log (`attache:vote:ROW:up`), so they
keep working after a restart. Each member has one vote per answer and may change it.
👎 is recorded at once and opens a short optional form, "What was wrong?", whose text is
stored with the vote. Votes are written in a worker thread.

/gaps and /stats show admins (Manage Server, or the admin role) what `attache gaps` and
`attache stats` print, only to them.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from attache.bot.discord import format as fmt
from attache.bot.discord.views import NO_MENTIONS, allowed_here
from attache.retrieval.questionlog import MAX_COMMENT_CHARS

if TYPE_CHECKING:
    from attache.bot.discord.client import AttacheBot
    from attache.models import GapsReport, StatsReport, UsageFigures

log = logging.getLogger("attache.discord")

VOTE_PREFIX = "attache:vote:"
VOTE_TEMPLATE = re.compile(r"attache:vote:(?P<row>[0-9]{1,18}):(?P<way>up|down)")
WHY_PREFIX = "attache:why:"
VOTE_BUTTONS = 2

THANKS_UP = "Thanks: your 👍 is recorded. You can change your vote at any time."
THANKS_DOWN = "Thanks: your 👎 is recorded. You can change your vote at any time."
THANKS_COMMENT = "Thanks: your 👎 and what you wrote are recorded; they help fix the documents."
VOTE_EXPIRED = "This answer is no longer in the question log, so votes on it are not kept."
VOTE_FAILED = "Your vote could not be recorded right now; please try again later."
WHY_LABEL = "What was wrong?"
WHY_PLACEHOLDER = "Optional: the wrong or missing part, the source that says otherwise…"
GAPS_TITLE = "Questions the documents did not answer"
STATS_TITLE = "Questions asked"
GAPS_SHOWN = 15


class VoteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=VOTE_TEMPLATE):
    """👍 or 👎 on the answer to the question logged as `row`."""

    def __init__(self, row: int, up: bool) -> None:
        super().__init__(
            discord.ui.Button(
                emoji="👍" if up else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"{VOTE_PREFIX}{row}:{'up' if up else 'down'}",
            )
        )
        self.question_id = row
        self.up = up

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> VoteButton:
        return cls(int(match["row"]), match["way"] == "up")

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await allowed_here(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: Any = interaction.client
        if self.up:
            recorded = await record_vote(bot, self.question_id, interaction.user.id, up=True)
            await reply(interaction, THANKS_UP if recorded else VOTE_EXPIRED)
            return
        # The form first (Discord wants an answer within 3 s), then the vote itself, so
        # a 👎 counts even when the form is dismissed.
        await interaction.response.send_modal(WhyModal(self.question_id))
        await record_vote(bot, self.question_id, interaction.user.id, up=False)


class WhyModal(discord.ui.Modal):
    """The optional "What was wrong?" form behind 👎."""

    def __init__(self, row: int) -> None:
        super().__init__(title=WHY_LABEL, custom_id=f"{WHY_PREFIX}{row}", timeout=15 * 60)
        self.question_id = row
        self.why: discord.ui.TextInput[WhyModal] = discord.ui.TextInput(
            label=WHY_LABEL, style=discord.TextStyle.paragraph, required=False,
            max_length=MAX_COMMENT_CHARS, placeholder=WHY_PLACEHOLDER, custom_id="why",
        )
        self.add_item(self.why)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        text = (self.why.value or "").strip()
        recorded = await record_vote(interaction.client, self.question_id, interaction.user.id,
                                     up=False, comment=text or None)
        await reply(interaction, (THANKS_COMMENT if text else THANKS_DOWN) if recorded
                    else VOTE_EXPIRED)

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        log.error("the feedback form failed", exc_info=error)
        await reply(interaction, VOTE_FAILED)


async def record_vote(bot: Any, row: int, user_id: int, *, up: bool,
                      comment: str | None = None) -> bool:
    """The vote, written in a worker thread; False when it was not kept."""
    try:
        return bool(await asyncio.to_thread(bot.service.vote, row, user_id, up, comment))
    except Exception:
        log.exception("recording a vote failed")
        return False


async def reply(interaction: discord.Interaction, text: str) -> None:
    say = getattr(interaction.client, "say", None)
    if say is not None:
        await say(interaction, text)
    else:
        await interaction.response.send_message(text, ephemeral=True,
                                                allowed_mentions=NO_MENTIONS)


def add_vote_buttons(view: discord.ui.View, row: int) -> discord.ui.View:
    """👍 and 👎 for the answer logged as `row`, after whatever buttons `view` holds."""
    view.add_item(VoteButton(row, up=True))
    view.add_item(VoteButton(row, up=False))
    return view


# --------------------------------------------------------------------------- /gaps and /stats


def _text(text: str, limit: int) -> str:
    """A reader's question made inert for Discord (Markdown, mentions, links), bounded."""
    return fmt.safe_line(text, limit)


def gaps_embed(report: GapsReport) -> discord.Embed:
    embed = discord.Embed(title=GAPS_TITLE, colour=fmt.SOURCES_COLOUR)
    if not report.gaps:
        embed.description = ("Nothing to add: every logged question was answered, "
                             "and no answer got a 👎.")
        return embed
    lines = []
    for gap in report.gaps[:GAPS_SHOWN]:
        label = "refused" if gap.kind == "refused" else "👎"
        line = f"**{gap.count}×** {label} · {_text(gap.question, 200)}"
        others = [e for e in gap.examples if e != gap.question][:2]
        if others:
            line += "\n↳ also: " + " · ".join(_text(e, 120) for e in others)
        if gap.comments:
            line += "\n↳ said: " + _text(gap.comments[-1], 160)
        lines.append(line)
    embed.description = fmt.bounded_lines(lines, fmt.DESCRIPTION_LIMIT - 200)
    embed.set_footer(text=f"{len(report.gaps)} groups · most asked first · "
                          "`attache gaps` lists them all")
    return embed


def _figures(f: UsageFigures) -> str:
    rate = f"{f.refusal_rate:.0%}" if f.refusal_rate is not None else "-"
    p50 = "-" if f.latency_ms_p50 is None else f"{f.latency_ms_p50:.0f} ms"
    p95 = "-" if f.latency_ms_p95 is None else f"{f.latency_ms_p95:.0f} ms"
    return (f"{f.questions} questions · {f.refused} refused ({rate}) · "
            f"👍 {f.votes_up} · 👎 {f.votes_down} · p50 {p50} · p95 {p95}")


def stats_embed(report: StatsReport) -> discord.Embed:
    embed = discord.Embed(title=STATS_TITLE, colour=fmt.SOURCES_COLOUR,
                          description=_figures(report))
    for name, figures in list(report.by_front_end.items())[: fmt.FIELDS_LIMIT - 1]:
        embed.add_field(name=fmt.clip(_text(name, 60), fmt.FIELD_NAME_LIMIT),
                        value=fmt.clip(_figures(figures), fmt.FIELD_VALUE_LIMIT), inline=False)
    if report.top_sources:
        cited = "\n".join(f"{_text(s.source, 120)} ({s.count})" for s in report.top_sources)
        embed.add_field(name="Most cited", value=fmt.clip(cited, fmt.FIELD_VALUE_LIMIT),
                        inline=False)
    return embed


async def handle_gaps(bot: AttacheBot, interaction: discord.Interaction) -> None:
    await _admin_report(bot, interaction, "/gaps", bot.service.gaps, gaps_embed)


async def handle_stats(bot: AttacheBot, interaction: discord.Interaction) -> None:
    await _admin_report(bot, interaction, "/stats", bot.service.stats, stats_embed)


async def _admin_report(bot: AttacheBot, interaction: discord.Interaction, name: str,
                        read: Any, render: Any) -> None:
    if not bot.commands.is_admin(interaction):
        await bot.say(interaction, bot.commands.admin_refusal(name))
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    report = await asyncio.to_thread(read)
    await interaction.followup.send(embed=render(report), ephemeral=True,
                                    allowed_mentions=NO_MENTIONS)
