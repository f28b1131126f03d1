"""Discord `/add url:` and `/upload file:`: adding to the documents folder from Discord.

Both take the same checks as /reindex (the tree's channel allow-list; Manage Server or
the admin role), answer only to the member who asked (ephemeral), and run the fetch, the save and
the incremental rebuild in a worker thread through the service's archive, so the
gateway heartbeat never waits. An upload's type and size are checked before it is
downloaded, with the limits of files in the folder. Titles, URLs and reasons come from
the web or from users: they are escaped for Discord Markdown, mentions made inert, link
previews suppressed.

`Commands.register` puts them on the tree through `SourcesCommands.register`.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from attache.bot.discord import format as fmt
from attache.bot.discord.views import NO_MENTIONS
from attache.index.sources.archive import UPLOAD_SUFFIXES

if TYPE_CHECKING:
    from attache.bot.discord.client import AttacheBot
    from attache.bot.discord.commands import Commands
    from attache.index.sources.archive import AddReport

log = logging.getLogger("attache.discord")
MAX_URL_CHARS = 2000
ADD_FAILED = "Something went wrong while adding that; the details are in the bot's log."


def _link(title: str, url: str | None) -> str:
    safe_url = fmt.link_url(url)
    shown = fmt.link_text(title, 150)
    return f"[{shown}](<{safe_url}>)" if safe_url else f"**{shown}**"


def report_text(report: AddReport, what: str) -> str:
    """What was indexed, or why not, in a few lines."""
    lines = []
    for item in report.added:
        lines.append(f"Added {_link(item['title'], item.get('url'))} as "
                     f"{fmt.path_code(item['path'], 180)}.")
    for item in report.skipped:
        lines.append(f"Not added: {fmt.safe_line(item['reason'], 300)}.")
    if report.index is not None:
        index = report.index
        lines.append(f"The index now holds {index.documents} documents ({index.chunks} chunks); "
                     "it answers from the new one right away.")
    elif report.index_busy:
        lines.append("It was saved, but another rebuild is running: it will be indexed by the "
                     "next /reindex.")
    elif report.index_error:
        lines.append("It was saved, but the index could not be brought up to date; the details "
                     "are in the bot's log.")
    if not lines:
        lines.append(f"Nothing to add from that {what}.")
    return fmt.clip("\n".join(lines), fmt.CONTENT_LIMIT)


class SourcesCommands:
    """The /add and /upload handlers of one bot, with the admin check of its /reindex."""

    def __init__(self, commands: Commands) -> None:
        self.commands = commands
        self.bot: AttacheBot = commands.bot

    def register(self, tree: app_commands.CommandTree[AttacheBot]) -> None:
        @tree.command(name="add", description="Add an article to the documents, by its URL")
        @app_commands.describe(url="The article's web address (HTML, PDF or plain text)")
        @app_commands.guild_only()
        async def add(interaction: discord.Interaction, url: str) -> None:
            await self.handle_add(interaction, url)

        @tree.command(name="upload",
                      description="Add a .txt, .md, .html or .pdf file to the documents")
        @app_commands.describe(file="The document to add")
        @app_commands.guild_only()
        async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
            await self.handle_upload(interaction, file)

    def refusal(self, interaction: discord.Interaction, command: str) -> str | None:
        """Why this member cannot add documents, or None."""
        if not self.commands.is_admin(interaction):
            return self.commands.admin_refusal().replace("/reindex", command)
        return None

    async def _reply(self, interaction: discord.Interaction, text: str) -> None:
        try:
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS,
                                            suppress_embeds=True)
        except discord.HTTPException as exc:
            log.warning("could not reply to %s: %s", interaction.command, exc.status)

    async def handle_add(self, interaction: discord.Interaction, url: str) -> None:
        refused = self.refusal(interaction, "/add")
        url = url.strip()
        if refused is None and not url.lower().startswith(("http://", "https://")):
            refused = "Please give a web address starting with http:// or https://."
        if refused is None and len(url) > MAX_URL_CHARS:
            refused = f"That address is longer than {MAX_URL_CHARS} characters."
        if refused is not None:
            await self.bot.say(interaction, refused)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            report = await asyncio.to_thread(lambda: self.bot.service.archive().add([url]))
        except Exception:
            log.exception("/add failed")
            await self._reply(interaction, ADD_FAILED)
            return
        log.info("/add: %d added, %d skipped", len(report.added), len(report.skipped))
        await self._reply(interaction, report_text(report, "address"))

    async def handle_upload(self, interaction: discord.Interaction,
                            attachment: discord.Attachment) -> None:
        refused = self.refusal(interaction, "/upload")
        settings = self.bot.settings
        name = attachment.filename or "upload"
        suffix = PurePosixPath(name).suffix.lower()
        if refused is None and suffix not in UPLOAD_SUFFIXES:
            refused = (f"I can add .txt, .md, .html or .pdf files; "
                       f"{fmt.path_code(name, 100)} is not one.")
        if refused is None and attachment.size > settings.max_file_bytes:
            refused = (f"That file is larger than the {settings.max_file_mb:g} MB limit for "
                       "documents.")
        if refused is not None:
            await self.bot.say(interaction, refused)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            data = await attachment.read()
            report = await asyncio.to_thread(
                lambda: self.bot.service.archive().upload(name, data))
        except discord.HTTPException as exc:
            log.warning("/upload: could not download the attachment: %s", exc.status)
            await self._reply(interaction, "I could not download that file; please try again.")
            return
        except Exception:
            log.exception("/upload failed")
            await self._reply(interaction, ADD_FAILED)
            return
        log.info("/upload: %d added, %d skipped", len(report.added), len(report.skipped))
        await self._reply(interaction, report_text(report, "file"))

