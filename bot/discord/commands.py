"""The slash commands: /ask, /sources, /help and /reindex (and /add and /upload, in
`sources.py`).

`Commands.register` puts them on the client's command tree; a new command is one more
handler method here and one more entry in `register`. The tree checks the channel
allow-list before any handler runs (`AttacheTree.interaction_check`), and errors that
escape a handler reach the member through `AttacheBot.report_error`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from attache.bot.discord import format as fmt
from attache.bot.discord.views import NO_MENTIONS
from attache.errors import DocumentsFolderError, NoUsableDocuments, RebuildBusy

if TYPE_CHECKING:
    from attache.bot.discord.client import AttacheBot
    from attache.models import IndexStatus

log = logging.getLogger("attache.discord")

EMPTY_QUESTION = "Please ask a question, for example `/ask question: Who approved the new bureau?`"
STATUS_ERROR = "Something went wrong while reading the index; please try again."
REINDEX_STARTED = (
    "Reindexing the documents folder. Answers keep coming from the current index until the "
    "new one is ready; I'll send you the report, only to you."
)
REINDEX_FAILED = "The reindex failed; the index was left as it was. Details are in the bot's log."
REINDEX_BUSY = (
    "Another rebuild of this index is running (perhaps from the command line); try again later."
)
REINDEX_NO_DOCUMENTS = (
    "The documents folder is missing, empty or has nothing usable in it; the index was left "
    "as it was. Details are in the bot's log."
)


class Commands:
    """The slash command handlers of one bot."""

    def __init__(self, bot: AttacheBot) -> None:
        self.bot = bot
        self._reindex_task: asyncio.Task[None] | None = None
        self._reindex_progress: tuple[str, int, int] | None = None

    def register(self, tree: app_commands.CommandTree[AttacheBot]) -> None:
        """Every command on `tree`, usable in servers only."""

        @tree.command(name="ask", description="Ask a question about the documents")
        @app_commands.describe(question="Your question, in a sentence")
        @app_commands.guild_only()
        async def ask(interaction: discord.Interaction, question: str) -> None:
            await self.handle_ask(interaction, question)

        @tree.command(name="sources", description="The indexed documents")
        @app_commands.guild_only()
        async def sources(interaction: discord.Interaction) -> None:
            await self.handle_sources(interaction)

        @tree.command(name="help", description="What I know and how to ask")
        @app_commands.guild_only()
        async def help_(interaction: discord.Interaction) -> None:
            await self.handle_help(interaction)

        @tree.command(name="reindex", description="Update the index from the documents folder")
        @app_commands.guild_only()
        async def reindex(interaction: discord.Interaction) -> None:
            await self.handle_reindex(interaction)

        @tree.command(name="gaps", description="Questions the documents could not answer (admins)")
        @app_commands.guild_only()
        async def gaps(interaction: discord.Interaction) -> None:
            from attache.bot.discord.feedback import handle_gaps

            await handle_gaps(self.bot, interaction)

        @tree.command(name="stats", description="Questions, refusals, votes, latency (admins)")
        @app_commands.guild_only()
        async def stats(interaction: discord.Interaction) -> None:
            from attache.bot.discord.feedback import handle_stats

            await handle_stats(self.bot, interaction)

        from attache.bot.discord.sources import SourcesCommands

        self.sources = SourcesCommands(self)  # /add and /upload
        self.sources.register(tree)

    # ------------------------------------------------------------------ /ask

    def question_refusal(self, user_id: int, question: str) -> str | None:
        """Why this question is not taken, checked before any retrieval; or None."""
        if not question.strip():
            return EMPTY_QUESTION
        limit = self.bot.settings.discord_max_question_chars
        if len(question) > limit:
            return (f"Please keep questions under {limit} characters "
                    f"(yours has {len(question)}).")
        return self.bot.gate.refusal(user_id)

    async def handle_ask(self, interaction: discord.Interaction, question: str) -> None:
        bot = self.bot
        channel = interaction.channel
        user_id = interaction.user.id
        refusal = self.question_refusal(user_id, question)
        if refusal is not None:
            await bot.say(interaction, refusal)
            return
        bot.gate.enter(user_id)
        sent: list[Any] = []

        async def send(**kwargs: Any) -> Any:
            message = await interaction.followup.send(wait=True, **kwargs)
            sent.append(message)
            return message

        try:
            await interaction.response.defer(thinking=True)
            state = bot.conversations.get(channel.id) if channel is not None else None
            reply, conversation = await bot.answer_in(question, state, user_id)
            first = await bot.deliver(send, reply)
            if state is None:
                await bot.open_thread(channel, first, question, conversation, user_id)
        except Exception as exc:
            # the "thinking…" message goes only if no part of the answer replaced it
            await bot.report_error(interaction, exc, replace_thinking=not sent)
        finally:
            bot.gate.leave(user_id)

    # ------------------------------------------------------------------ /sources and /help

    async def index_status(self) -> IndexStatus | None:
        try:
            return await asyncio.to_thread(self.bot.service.status)
        except Exception:
            log.exception("reading the index status failed")
            return None

    async def handle_sources(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        status = await self.index_status()
        if status is None:
            await self.bot.say(interaction, STATUS_ERROR)
            return
        await interaction.followup.send(embed=fmt.sources_embed(status), ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)

    async def handle_help(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        status = await self.index_status()
        await interaction.followup.send(embed=fmt.help_embed(status), ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)

    # ------------------------------------------------------------------ /reindex

    def admin_role_ids(self) -> set[int]:
        """The roles allowed to run /reindex, by id (a name could be copied by anyone
        allowed to create roles). ATTACHE_DISCORD_ADMIN_ROLE still counts if it is an id."""
        settings = self.bot.settings
        ids = set(settings.discord_admin_role_ids)
        legacy = (settings.discord_admin_role or "").strip()
        if legacy.isdigit():
            ids.add(int(legacy))
        return ids

    def is_admin(self, interaction: discord.Interaction) -> bool:
        """Manage Server (or Administrator), or one of the admin roles, by id."""
        permissions = interaction.permissions
        if permissions.administrator or permissions.manage_guild:
            return True
        wanted = self.admin_role_ids()
        roles = list(getattr(interaction.user, "roles", None) or [])
        return any(role.id in wanted for role in roles)

    @property
    def reindexing(self) -> bool:
        return self._reindex_task is not None and not self._reindex_task.done()

    def admin_refusal(self, command: str = "/reindex") -> str:
        extra = " or an admin role" if self.admin_role_ids() else ""
        return f"Sorry, {command} is for members with the Manage Server permission{extra}."

    def _progress_note(self) -> str:
        progress = self._reindex_progress
        if progress is None:
            return ""
        stage, done, total = progress
        return f" ({stage} {done}/{total})"

    async def handle_reindex(self, interaction: discord.Interaction) -> None:
        if not self.is_admin(interaction):
            await self.bot.say(interaction, self.admin_refusal())
            return
        if self.reindexing:
            await self.bot.say(
                interaction,
                f"A reindex is already running{self._progress_note()}; "
                "whoever started it gets its report.",
            )
            return
        self._reindex_task = asyncio.create_task(self.reindex(interaction))

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self._reindex_progress = (stage, done, total)

    async def reindex(self, interaction: discord.Interaction) -> None:
        """Rebuild in a worker thread while answers keep coming, then report to the admin
        who asked, only to them: the report names documents and why they were skipped."""
        try:
            await interaction.response.send_message(REINDEX_STARTED, ephemeral=True,
                                                    allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("could not acknowledge /reindex: %s", exc.status)
        text = await self.rebuild_report()
        try:
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS,
                                            suppress_embeds=True)
        except discord.HTTPException as exc:  # e.g. past the 15 minutes of the interaction
            log.warning("could not send the /reindex report (%s); it is in this log", exc.status)

    async def rebuild_report(self) -> str:
        try:
            report = await asyncio.to_thread(self.bot.service.rebuild, self._on_progress)
        except RebuildBusy:
            return REINDEX_BUSY
        except (DocumentsFolderError, NoUsableDocuments) as exc:
            log.warning("reindex: %s", exc)
            return REINDEX_NO_DOCUMENTS
        except Exception:
            log.exception("reindex failed")
            return REINDEX_FAILED
        finally:
            self._reindex_progress = None
        log.info("reindex: %s", report.model_dump(exclude={"skipped"}))
        return fmt.reindex_report(report)
