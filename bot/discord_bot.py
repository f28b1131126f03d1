"""`attache discord`: the Discord front end. Parses, calls the one service object, renders.

Slash commands (/ask, /sources, /help, /reindex), @mentions in allowed channels, and
follow-ups in the threads the bot opens on its answers. Every service call runs in a
worker thread, so the gateway heartbeat never waits for an answer or a rebuild.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import re
import secrets
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands

from attache.bot import discord_format as fmt
from attache.errors import (
    AttacheError,
    DocumentsFolderError,
    NoIndex,
    NoUsableDocuments,
    RebuildBusy,
)

if TYPE_CHECKING:
    from attache.index.settings import Settings
    from attache.models import IndexStatus
    from attache.retrieval.answer import Answer, Citation
    from attache.retrieval.conversation import Conversation
    from attache.retrieval.service import Attache

log = logging.getLogger("attache.discord")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

NO_MENTIONS = discord.AllowedMentions.none()
VIEW_TIMEOUT = 15 * 60.0
MAX_THREADS = 500
THREAD_ARCHIVE_MINUTES: Literal[60, 1440, 4320, 10080] = 1440
CITE_PREFIX = "attache:cite:"

GENERIC_ERROR = "Something went wrong while answering; please try again."
STATUS_ERROR = "Something went wrong while reading the index; please try again."
NOTHING_INDEXED = "Nothing is indexed yet; an admin can run /reindex."
BUSY = "I'm answering a lot of questions right now; please try again in a moment."
EMPTY_QUESTION = "Please ask a question, for example `/ask question: Who approved the new bureau?`"
EXPIRED_SOURCES = "These sources are no longer available; ask the question again to see them."
REINDEX_STARTED = (
    "Reindexing the documents folder. Answers keep coming from the current index until the "
    "new one is ready; I'll post a report here."
)
REINDEX_FAILED = "The reindex failed; the index was left as it was. Details are in the bot's log."
REINDEX_BUSY = (
    "Another rebuild of this index is running (perhaps from the command line); try again later."
)
REINDEX_NO_DOCUMENTS = (
    "The documents folder is missing, empty or has nothing usable in it; the index was left "
    "as it was. Details are in the bot's log."
)
NO_TOKEN = (
    "error: no Discord bot token: set DISCORD_TOKEN in .env (see .env.example and the "
    "README's Discord section)"
)
BAD_TOKEN = "error: Discord rejected the bot token: check DISCORD_TOKEN in .env"
NO_INTENT = (
    "error: the bot needs the Message Content intent: enable it in the Discord Developer "
    "Portal (your application > Bot > Privileged Gateway Intents)"
)


# --------------------------------------------------------------------------- state


@dataclass
class ThreadState:
    """One conversation in a thread the bot opened; its questions are answered in turn."""

    conversation: Conversation
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class ThreadConversations:
    """The conversations of the most recently used threads (least recently used dropped)."""

    def __init__(self, capacity: int = MAX_THREADS) -> None:
        self.capacity = capacity
        self._items: OrderedDict[int, ThreadState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, thread_id: object) -> bool:
        return thread_id in self._items

    def get(self, thread_id: int) -> ThreadState | None:
        state = self._items.get(thread_id)
        if state is not None:
            self._items.move_to_end(thread_id)
        return state

    def add(self, thread_id: int, conversation: Conversation) -> ThreadState:
        state = ThreadState(conversation)
        self._items[thread_id] = state
        self._items.move_to_end(thread_id)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return state


class Gate:
    """Admission of questions: a cooldown per user and a cap on questions in flight."""

    def __init__(
        self, cooldown: float, max_in_flight: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.cooldown = cooldown
        self.max_in_flight = max_in_flight
        self.clock = clock
        self.in_flight = 0
        self._last: dict[int, float] = {}

    def refusal(self, user_id: int) -> str | None:
        """Why a question from `user_id` cannot be taken now, or None."""
        last = self._last.get(user_id)
        if last is not None and self.cooldown > 0:
            left = self.cooldown - (self.clock() - last)
            if left > 0:
                return f"Please wait {math.ceil(left)} s before asking again."
        if self.in_flight >= self.max_in_flight:
            return BUSY
        return None

    def enter(self, user_id: int) -> None:
        now = self.clock()
        self.in_flight += 1
        self._last[user_id] = now
        if len(self._last) > 10_000:
            self._last = {u: t for u, t in self._last.items() if now - t < self.cooldown}

    def leave(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)


# --------------------------------------------------------------------------- citation buttons


class CitationButton(discord.ui.Button["CitationView"]):
    """Shows the full passage behind one citation, to the clicking user only."""

    def __init__(self, key: str, citation: Citation, passage: str) -> None:
        super().__init__(
            label=fmt.clip(f"Passage [{citation.n}]", fmt.BUTTON_LABEL_LIMIT),
            style=discord.ButtonStyle.secondary,
            custom_id=f"{CITE_PREFIX}{key}:{citation.n}"[: fmt.CUSTOM_ID_LIMIT],
        )
        self.citation = citation
        self.passage = passage

    async def callback(self, interaction: discord.Interaction) -> None:
        await send_passage(interaction, self.citation, self.passage)


class CitationView(discord.ui.View):
    """The passage buttons of one answer message, alive for `VIEW_TIMEOUT` seconds."""

    def __init__(
        self, key: str, entries: Sequence[tuple[Citation, str]], live: set[str],
        timeout: float = VIEW_TIMEOUT,
    ) -> None:
        super().__init__(timeout=timeout)
        self.key = key
        self._live = live
        for citation, passage in entries[: fmt.BUTTONS_PER_MESSAGE]:
            self.add_item(CitationButton(key, citation, passage))
        live.add(key)

    async def on_timeout(self) -> None:
        self._live.discard(self.key)


async def send_passage(interaction: discord.Interaction, citation: Citation, passage: str) -> None:
    """The passage as ephemeral embeds: the first in the response, the rest as follow-ups."""
    embeds = fmt.passage_embeds(citation, passage)
    await interaction.response.send_message(
        embed=embeds[0], ephemeral=True, allowed_mentions=NO_MENTIONS
    )
    for embed in embeds[1:]:
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)


# --------------------------------------------------------------------------- the bot


Sender = Callable[..., Awaitable[Any]]


class AttacheBot(discord.Client):
    """The Discord client: a thin front end over one `Attache` service."""

    def __init__(self, settings: Settings, service: Attache, **options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # only to read follow-ups in threads and @mentions
        options["allowed_mentions"] = NO_MENTIONS
        super().__init__(intents=intents, **options)
        self.settings = settings
        self.service = service
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self._on_tree_error  # type: ignore[method-assign]
        self.conversations = ThreadConversations(MAX_THREADS)
        self.gate = Gate(settings.discord_cooldown_seconds, settings.discord_max_in_flight)
        self.live_views: set[str] = set()
        self.ready_count = 0
        self.setup_count = 0
        self._executor = ThreadPoolExecutor(
            max_workers=settings.discord_max_in_flight, thread_name_prefix="attache-ask"
        )
        self._reindex_task: asyncio.Task[None] | None = None
        self._reindex_progress: tuple[str, int, int] | None = None
        self._register_commands()

    # ------------------------------------------------------------------ lifecycle

    def _register_commands(self) -> None:
        @self.tree.command(name="ask", description="Ask a question about the documents")
        @app_commands.describe(question="Your question, in a sentence")
        @app_commands.guild_only()
        async def ask(interaction: discord.Interaction, question: str) -> None:
            await self.handle_ask(interaction, question)

        @self.tree.command(name="sources", description="The indexed documents")
        @app_commands.guild_only()
        async def sources(interaction: discord.Interaction) -> None:
            await self.handle_sources(interaction)

        @self.tree.command(name="help", description="What I know and how to ask")
        @app_commands.guild_only()
        async def help_(interaction: discord.Interaction) -> None:
            await self.handle_help(interaction)

        @self.tree.command(name="reindex", description="Update the index from the documents folder")
        @app_commands.guild_only()
        async def reindex(interaction: discord.Interaction) -> None:
            await self.handle_reindex(interaction)

    async def setup_hook(self) -> None:
        """Load the model and the index once, and sync the slash commands."""
        self.setup_count += 1
        await self._warm_up()
        await self._sync_commands()

    async def _warm_up(self) -> None:
        try:
            await asyncio.to_thread(self.service.warm_up)
        except NoIndex:
            log.warning("nothing is indexed yet; an admin can run /reindex")
        except Exception:
            log.exception("could not load the index; questions will fail until it loads")
        else:
            log.info("model and index loaded")

    async def _sync_commands(self) -> None:
        try:
            if self.settings.discord_guild_ids:
                for guild_id in self.settings.discord_guild_ids:
                    guild = discord.Object(id=guild_id)
                    self.tree.copy_global_to(guild=guild)
                    synced = await self.tree.sync(guild=guild)
                    log.info("synced %d commands to server %s", len(synced), guild_id)
            else:
                synced = await self.tree.sync()
                log.info("synced %d global commands (Discord may take a while to show them)",
                         len(synced))
        except discord.HTTPException as exc:
            log.error("could not sync the slash commands: %s %s", exc.status, exc.text)

    async def on_ready(self) -> None:
        self.ready_count += 1
        if self.ready_count > 1:
            return
        log.info("on Discord as %s in %d servers", self.user, len(self.guilds))

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        await super().close()

    async def _on_tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        log.error("command failed", exc_info=error)
        await self._say(interaction, GENERIC_ERROR)

    # ------------------------------------------------------------------ checks

    def channel_allowed(self, channel: Any, channel_id: int | None) -> bool:
        """Whether the bot answers in this channel; a thread counts as its parent."""
        allowed = self.settings.discord_channel_ids
        if not allowed:
            return True
        ids = {channel_id, getattr(channel, "id", None)}
        if isinstance(channel, discord.Thread):
            ids.add(channel.parent_id)
        return any(i in allowed for i in ids if i is not None)

    def channel_refusal(self) -> str:
        return f"I only answer in {fmt.channel_list(self.settings.discord_channel_ids)}."

    def question_refusal(self, user_id: int, question: str) -> str | None:
        """Why this question is not taken, checked before any retrieval; or None."""
        if not question.strip():
            return EMPTY_QUESTION
        limit = self.settings.discord_max_question_chars
        if len(question) > limit:
            return (f"Please keep questions under {limit} characters "
                    f"(yours has {len(question)}).")
        return self.gate.refusal(user_id)

    def is_admin(self, interaction: discord.Interaction) -> bool:
        """Manage Server (or Administrator), or the configured admin role (name or id)."""
        permissions = interaction.permissions
        if permissions.administrator or permissions.manage_guild:
            return True
        wanted = (self.settings.discord_admin_role or "").strip().lstrip("@")
        if not wanted:
            return False
        roles = list(getattr(interaction.user, "roles", None) or [])
        if wanted.isdigit():
            return any(role.id == int(wanted) for role in roles)
        return any(str(role.name).casefold() == wanted.casefold() for role in roles)

    # ------------------------------------------------------------------ answering

    async def ask(self, question: str, conversation: Conversation | None) -> Answer | str:
        """The service's answer, or a short message saying why there is none."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._executor, functools.partial(self.service.ask, question, conversation)
            )
        except NoIndex:
            return NOTHING_INDEXED
        except AttacheError as exc:
            log.warning("answering failed: %s", exc)
            return exc.public_message
        except Exception:
            log.exception("answering failed")
            return GENERIC_ERROR

    async def answer_in(
        self, question: str, state: ThreadState | None
    ) -> tuple[Answer | str, Conversation]:
        """Answer within a thread's conversation (in turn), or in a new one."""
        if state is None:
            conversation = new_conversation()
            return await self.ask(question, conversation), conversation
        async with state.lock:
            return await self.ask(question, state.conversation), state.conversation

    def outgoing(self, reply: Answer | str) -> list[fmt.OutgoingMessage]:
        if isinstance(reply, str):
            return [fmt.OutgoingMessage(content=reply)]
        return fmt.answer_messages(reply)

    def citation_view(self, answer: Answer, citations: Sequence[Citation]) -> CitationView:
        entries = [(c, fmt.passage_for(answer, c)) for c in citations]
        return CitationView(secrets.token_hex(8), entries, self.live_views)

    async def deliver(
        self, send: Sender, reply: Answer | str, first_kwargs: dict[str, Any] | None = None
    ) -> Any:
        """Post the reply's messages with `send`; returns the first message sent."""
        first = None
        for message in self.outgoing(reply):
            kwargs: dict[str, Any] = {
                "allowed_mentions": NO_MENTIONS,
                "suppress_embeds": message.suppress_embeds,
            }
            if message.content:
                kwargs["content"] = message.content
            if message.embeds:
                kwargs["embeds"] = message.embeds
            if message.citations and not isinstance(reply, str):
                kwargs["view"] = self.citation_view(reply, message.citations)
            if first is None and first_kwargs:
                kwargs.update(first_kwargs)
            sent = await send(**kwargs)
            first = first if first is not None else sent
        return first

    async def open_thread(
        self, channel: Any, message: Any, question: str, conversation: Conversation
    ) -> None:
        """A public thread on the answer, where the conversation goes on."""
        if not isinstance(channel, discord.TextChannel) or message is None:
            return
        try:
            thread = await channel.create_thread(
                name=fmt.thread_name(question), message=message,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except discord.HTTPException as exc:
            log.warning("could not open a thread: %s %s", exc.status, exc.text)
            return
        self.conversations.add(thread.id, conversation)

    # ------------------------------------------------------------------ /ask

    async def handle_ask(self, interaction: discord.Interaction, question: str) -> None:
        channel = interaction.channel
        if not self.channel_allowed(channel, interaction.channel_id):
            await self._say(interaction, self.channel_refusal())
            return
        refusal = self.question_refusal(interaction.user.id, question)
        if refusal is not None:
            await self._say(interaction, refusal)
            return
        self.gate.enter(interaction.user.id)
        try:
            await interaction.response.defer(thinking=True)
            state = self.conversations.get(channel.id) if channel is not None else None
            reply, conversation = await self.answer_in(question, state)
            first = await self.deliver(functools.partial(interaction.followup.send, wait=True),
                                       reply)
            if state is None and not isinstance(reply, str):
                await self.open_thread(channel, first, question, conversation)
        except Exception:
            log.exception("/ask failed")
            await self._say(interaction, GENERIC_ERROR)
        finally:
            self.gate.leave()

    # ------------------------------------------------------------------ mentions and threads

    def mentions_me(self, message: discord.Message) -> bool:
        me = self.user
        if me is None:
            return False
        return any(user.id == me.id for user in message.mentions) or bool(
            re.search(rf"<@!?{me.id}>", message.content or "")
        )

    def strip_mention(self, content: str) -> str:
        me = self.user
        if me is not None:
            content = re.sub(rf"<@!?{me.id}>", " ", content)
        return " ".join(content.split())

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is None or self.user is None:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        channel = message.channel
        state = self.conversations.get(channel.id)
        if state is None and not self.mentions_me(message):
            return
        if not self.channel_allowed(channel, channel.id):
            return
        try:
            await self.handle_message(message, state)
        except Exception:
            log.exception("answering a message failed")
            with contextlib.suppress(discord.HTTPException):
                await channel.send(GENERIC_ERROR, allowed_mentions=NO_MENTIONS)

    async def handle_message(self, message: discord.Message, state: ThreadState | None) -> None:
        """A question in a thread the bot opened, or one that mentions the bot."""
        channel = message.channel
        question = self.strip_mention(message.content or "")
        reference = message.to_reference(fail_if_not_exists=False)
        refusal = self.question_refusal(message.author.id, question)
        if refusal is not None:
            await channel.send(refusal, reference=reference, allowed_mentions=NO_MENTIONS,
                               suppress_embeds=True)
            return
        self.gate.enter(message.author.id)
        try:
            reply, conversation = await self.answer_in(question, state)
            first = await self.deliver(channel.send, reply, {"reference": reference})
            if state is None and not isinstance(reply, str):
                await self.open_thread(channel, first, question, conversation)
        finally:
            self.gate.leave()

    # ------------------------------------------------------------------ expired buttons

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """A passage button whose view is gone (timed out, or from before a restart)."""
        if interaction.type is not discord.InteractionType.component:
            return
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if not custom_id.startswith(CITE_PREFIX):
            return
        key = custom_id[len(CITE_PREFIX):].split(":", 1)[0]
        if key not in self.live_views:
            await self._say(interaction, EXPIRED_SOURCES)

    # ------------------------------------------------------------------ /sources and /help

    async def index_status(self) -> IndexStatus | None:
        try:
            return await asyncio.to_thread(self.service.status)
        except Exception:
            log.exception("reading the index status failed")
            return None

    async def handle_sources(self, interaction: discord.Interaction) -> None:
        if not self.channel_allowed(interaction.channel, interaction.channel_id):
            await self._say(interaction, self.channel_refusal())
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        status = await self.index_status()
        if status is None:
            await self._say(interaction, STATUS_ERROR)
            return
        await interaction.followup.send(embed=fmt.sources_embed(status), ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)

    async def handle_help(self, interaction: discord.Interaction) -> None:
        if not self.channel_allowed(interaction.channel, interaction.channel_id):
            await self._say(interaction, self.channel_refusal())
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        status = await self.index_status()
        await interaction.followup.send(embed=fmt.help_embed(status), ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)

    # ------------------------------------------------------------------ /reindex

    @property
    def reindexing(self) -> bool:
        return self._reindex_task is not None and not self._reindex_task.done()

    def admin_refusal(self) -> str:
        role = (self.settings.discord_admin_role or "").strip()
        extra = f" or the {fmt.neutralize(role)} role" if role and not role.isdigit() else (
            " or the admin role" if role else "")
        return f"Sorry, /reindex is for members with the Manage Server permission{extra}."

    def _progress_note(self) -> str:
        progress = self._reindex_progress
        if progress is None:
            return ""
        stage, done, total = progress
        return f" ({stage} {done}/{total})"

    async def handle_reindex(self, interaction: discord.Interaction) -> None:
        if not self.channel_allowed(interaction.channel, interaction.channel_id):
            await self._say(interaction, self.channel_refusal())
            return
        if not self.is_admin(interaction):
            await self._say(interaction, self.admin_refusal())
            return
        if self.reindexing:
            await self._say(
                interaction,
                f"A reindex is already running{self._progress_note()}; "
                "I'll post its report when it is done.",
            )
            return
        self._reindex_task = asyncio.create_task(self.reindex(interaction))

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self._reindex_progress = (stage, done, total)

    async def reindex(self, interaction: discord.Interaction) -> None:
        """Rebuild in a worker thread while answers keep coming, then report."""
        try:
            await interaction.response.send_message(REINDEX_STARTED, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("could not acknowledge /reindex: %s", exc.status)
        text = await self.rebuild_report()
        try:
            await interaction.followup.send(text, allowed_mentions=NO_MENTIONS,
                                            suppress_embeds=True)
        except discord.HTTPException:
            channel = interaction.channel
            if isinstance(channel, discord.abc.Messageable):
                with contextlib.suppress(discord.HTTPException):
                    await channel.send(text, allowed_mentions=NO_MENTIONS, suppress_embeds=True)

    async def rebuild_report(self) -> str:
        try:
            report = await asyncio.to_thread(self.service.rebuild, self._on_progress)
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

    # ------------------------------------------------------------------ replies

    async def _say(self, interaction: discord.Interaction, text: str) -> None:
        """A short ephemeral reply, whether or not the interaction was answered yet."""
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True,
                                                allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(text, ephemeral=True,
                                                        allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("could not reply to an interaction: %s", exc.status)


def new_conversation() -> Conversation:
    from attache.retrieval.conversation import Conversation

    return Conversation()


# --------------------------------------------------------------------------- entry points


def create_bot(
    settings: Settings | None = None, service: Attache | None = None, **options: Any
) -> AttacheBot:
    """The bot, its slash commands registered on `bot.tree`; nothing connects yet.

    `options` go to `discord.Client` (e.g. `connector`, `http_trace`)."""
    if settings is None:
        from attache.index.settings import load_settings

        settings = load_settings()
    if service is None:
        from attache.retrieval.service import Attache

        service = Attache(settings)
    return AttacheBot(settings, service, **options)


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    library = logging.getLogger("discord")
    if not library.handlers:
        library.addHandler(handler)
        library.setLevel(logging.INFO)
        library.propagate = False
    ours = logging.getLogger("attache")
    if not ours.handlers:
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)


def _token(settings: Settings) -> str:
    secret = settings.discord_token
    return secret.get_secret_value().strip() if secret is not None else ""


async def serve(settings: Settings, token: str, **options: Any) -> int:
    """Run the bot until it is closed; an exit status, with errors told in one line."""
    bot = create_bot(settings, **options)
    try:
        async with bot:
            await bot.start(token)
    except discord.LoginFailure:
        print(BAD_TOKEN, file=sys.stderr)
        return EXIT_USAGE
    except discord.PrivilegedIntentsRequired:
        print(NO_INTENT, file=sys.stderr)
        return EXIT_USAGE
    except (discord.GatewayNotFound, discord.ConnectionClosed, discord.HTTPException,
            OSError) as exc:
        log.debug("connection failed", exc_info=True)
        print(f"error: cannot connect to Discord ({type(exc).__name__})", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def run_bot(settings: Settings) -> int:
    """`attache discord`: run until interrupted; 2 without a usable token."""
    token = _token(settings)
    if not token:
        print(NO_TOKEN, file=sys.stderr)
        return EXIT_USAGE
    _configure_logging()
    try:
        return asyncio.run(serve(settings, token))
    except KeyboardInterrupt:
        log.info("stopped")
        return EXIT_OK
