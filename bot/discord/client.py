"""The Discord client: one `Attache` service behind slash commands, @mentions and the
threads the bot opens; start-up (`setup_hook`) and `attache discord` (`run_bot`).

Every service call runs in a worker thread, so the gateway heartbeat never waits for an
answer or a rebuild. Errors reach members in one place, `AttacheBot.report_error`: the
error's `public_message` (never a path or a stack trace), only to the member concerned.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands

from attache.bot.discord import format as fmt
from attache.bot.discord.gate import Gate
from attache.bot.discord.feedback import VOTE_BUTTONS, VoteButton, add_vote_buttons
from attache.bot.discord.views import NO_MENTIONS, PassageButton, PassageStore, passage_view
from attache.errors import EXIT_FAULT, EXIT_OK, EXIT_USAGE, AttacheError

if TYPE_CHECKING:
    from attache.index.settings import Settings
    from attache.retrieval.answer import Answer, Citation
    from attache.retrieval.conversation import Conversation
    from attache.retrieval.service import Attache

log = logging.getLogger("attache.discord")


MAX_THREADS = 500
THREAD_ARCHIVE_MINUTES: Literal[60, 1440, 4320, 10080] = 1440

GENERIC_ERROR = "Something went wrong while answering; please try again."
NO_TOKEN = (
    "error: no Discord bot token: set DISCORD_TOKEN in .env (see .env.example and the "
    "README's Discord section)"
)
BAD_TOKEN = "error: Discord rejected the bot token: check DISCORD_TOKEN in .env"
NO_INTENT = (
    "error: the bot needs the Message Content intent: enable it in the Discord Developer "
    "Portal (your application > Bot > Privileged Gateway Intents)"
)

Sender = Callable[..., Awaitable[Any]]


def public_message(error: BaseException) -> str:
    """What a member may read about `error`: an AttacheError's public message, or a
    generic sentence; never the error's own text."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, AttacheError):
        return error.public_message
    return GENERIC_ERROR


# --------------------------------------------------------------------------- state


@dataclass
class ThreadState:
    """One conversation in a thread the bot opened; its questions are answered in turn."""

    conversation: Conversation
    asker_id: int | None = None
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

    def add(self, thread_id: int, conversation: Conversation,
            asker_id: int | None = None) -> ThreadState:
        state = ThreadState(conversation, asker_id)
        self._items[thread_id] = state
        self._items.move_to_end(thread_id)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return state


class AttacheTree(app_commands.CommandTree["AttacheBot"]):
    """The slash commands; every one is checked against the channel allow-list first."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await self.client.allowed_here(interaction)

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await self.client.report_error(interaction, error)


# --------------------------------------------------------------------------- the bot


class AttacheBot(discord.Client):
    """The Discord client: a thin front end over one `Attache` service."""

    def __init__(self, settings: Settings, service: Attache, **options: Any) -> None:
        from attache.bot.discord.commands import Commands
        from attache.bot.discord.messages import Messages

        intents = discord.Intents.default()
        intents.message_content = True  # only to read follow-ups in threads and @mentions
        options["allowed_mentions"] = NO_MENTIONS
        super().__init__(intents=intents, **options)
        self.settings = settings
        self.service = service
        self.tree = AttacheTree(self)
        self.conversations = ThreadConversations(MAX_THREADS)
        self.gate = Gate(settings.discord_cooldown_seconds, settings.discord_max_in_flight,
                         settings.discord_max_per_user)
        self.passages = PassageStore()
        self.ready_count = 0
        self.setup_count = 0
        self._executor = ThreadPoolExecutor(
            max_workers=settings.discord_max_in_flight, thread_name_prefix="attache-ask"
        )
        legacy_role = (settings.discord_admin_role or "").strip()
        if legacy_role and not legacy_role.isdigit():
            log.warning("ATTACHE_DISCORD_ADMIN_ROLE is a role name, which anyone allowed to "
                        "create roles could copy; it is ignored: put the role's id in "
                        "ATTACHE_DISCORD_ADMIN_ROLE_IDS")
        self.commands = Commands(self)
        self.commands.register(self.tree)
        self.messages = Messages(self)

    # ------------------------------------------------------------------ lifecycle

    async def setup_hook(self) -> None:
        """Route passage buttons, load the model and the index once, sync the commands."""
        self.setup_count += 1
        self.add_dynamic_items(PassageButton, VoteButton)
        await self._warm_up()
        await self._sync_commands()

    async def _warm_up(self) -> None:
        from attache.errors import NoIndex

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

    async def on_message(self, message: discord.Message) -> None:
        await self.messages.on_message(message)

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        await super().close()

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

    async def allowed_here(self, interaction: discord.Interaction) -> bool:
        """The check every slash command and button passes first: the channel allow-list.
        Elsewhere the member gets a short private refusal."""
        if self.channel_allowed(interaction.channel, interaction.channel_id):
            return True
        await self.say(interaction, self.channel_refusal())
        return False

    # ------------------------------------------------------------------ errors

    async def report_error(self, interaction: discord.Interaction, error: BaseException,
                           *, replace_thinking: bool = False) -> None:
        """The one place errors reach a member: logged here, shown as the error's public
        message to the member only. With `replace_thinking`, a public "thinking…" message
        is removed first, so the error is not posted in the channel."""
        original = error.original if isinstance(error, app_commands.CommandInvokeError) \
            else error
        if isinstance(original, AttacheError):
            log.warning("%s failed: %s", _command_name(interaction), original)
        else:
            log.error("%s failed", _command_name(interaction), exc_info=original)
        if replace_thinking and interaction.response.is_done():
            with contextlib.suppress(discord.HTTPException):
                await interaction.delete_original_response()
        await self.say(interaction, public_message(original))

    async def say(self, interaction: discord.Interaction, text: str) -> None:
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

    # ------------------------------------------------------------------ answering

    async def ask(self, question: str, conversation: Conversation | None,
                  user_id: int | None = None) -> Answer:
        """The service's answer, computed (and logged) in a worker thread; raises what the
        service does."""
        from attache.retrieval.questionlog import Origin

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(self.service.ask, question, conversation,
                                              origin=Origin("discord", user_id))
        )

    async def answer_in(
        self, question: str, state: ThreadState | None, user_id: int | None = None
    ) -> tuple[Answer, Conversation]:
        """Answer within a thread's conversation (in turn), or in a new one."""
        if state is None:
            conversation = new_conversation()
            return await self.ask(question, conversation, user_id), conversation
        async with state.lock:
            return await self.ask(question, state.conversation, user_id), state.conversation

    def citation_view(self, answer: Answer, citations: Sequence[Citation]) -> discord.ui.View:
        entries = [(c, answer.passage_for(c)) for c in citations]
        return passage_view(self.passages, entries)

    async def deliver(
        self, send: Sender, reply: Answer | str, first_kwargs: dict[str, Any] | None = None
    ) -> Any:
        """Post the reply's messages with `send`; returns the first message sent."""
        if isinstance(reply, str):
            outgoing = [fmt.OutgoingMessage(content=reply)]
        else:  # splitting and escaping long text: in a worker thread, off the event loop
            outgoing = await asyncio.to_thread(fmt.answer_messages, reply)
        first = None
        log_id = None if isinstance(reply, str) else getattr(reply, "log_id", None)
        for number, message in enumerate(outgoing, 1):
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
            if log_id is not None and number == len(outgoing):  # 👍 👎 under the whole answer
                view = kwargs.get("view") or discord.ui.View(timeout=None)
                if len(view.children) + VOTE_BUTTONS <= fmt.BUTTONS_PER_MESSAGE:
                    kwargs["view"] = add_vote_buttons(view, log_id)
            if first is None and first_kwargs:
                kwargs.update(first_kwargs)
            sent = await send(**kwargs)
            first = first if first is not None else sent
        return first

    async def open_thread(
        self, channel: Any, message: Any, question: str, conversation: Conversation,
        asker_id: int | None = None,
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
        self.conversations.add(thread.id, conversation, asker_id)


def _command_name(interaction: discord.Interaction) -> str:
    command = getattr(interaction, "command", None)
    name = getattr(command, "name", None)
    return f"/{name}" if isinstance(name, str) else "the interaction"


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


def configure_logging() -> None:
    """discord.py's own log set-up (standard error, colours on a terminal only: discord.py
    would colour a container's log file too) for its logger, and the same handler for
    ours."""
    options: dict[str, Any] = {} if sys.stderr.isatty() else {"formatter": logging.Formatter(
        "[{asctime}] [{levelname:<8}] {name}: {message}", "%Y-%m-%d %H:%M:%S", style="{")}
    discord.utils.setup_logging(level=logging.INFO, root=False, **options)
    ours = logging.getLogger("attache")
    if not ours.handlers:
        for handler in logging.getLogger("discord").handlers:
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
        return EXIT_FAULT
    return EXIT_OK


def run_bot(settings: Settings) -> int:
    """`attache discord`: run until interrupted; 2 without a usable token."""
    token = _token(settings)
    if not token:
        print(NO_TOKEN, file=sys.stderr)
        return EXIT_USAGE
    configure_logging()
    try:
        return asyncio.run(serve(settings, token))
    except KeyboardInterrupt:
        log.info("stopped")
        return EXIT_OK
