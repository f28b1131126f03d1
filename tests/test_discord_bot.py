"""The Discord front end's handlers, with strict fakes of discord.py objects and of the
service (where Discord itself cannot run), and its pure formatting: message splitting
and Discord's limits."""

from __future__ import annotations

import asyncio
import random
import re
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, create_autospec

import aiohttp
import discord
import pytest

from attache.bot.discord import format as fmt
from attache.bot.discord.client import (
    GENERIC_ERROR,
    AttacheBot,
    ThreadConversations,
    create_bot,
    run_bot,
)
from attache.bot.discord.commands import REINDEX_BUSY, REINDEX_STARTED
from attache.bot.discord.feedback import (
    THANKS_COMMENT,
    THANKS_UP,
    VOTE_EXPIRED,
    VoteButton,
    WhyModal,
)
from attache.bot.discord.gate import BUSY, USER_BUSY, Gate
from attache.bot.discord.views import CITE_PREFIX, EXPIRED_SOURCES, NO_MENTIONS, PassageButton
try:
    from tests.inert_markdown import live_markdown
except ImportError:  # tests/ is on sys.path
    from inert_markdown import live_markdown

from attache.errors import DocumentsFolderError, NoIndex, RebuildBusy
from attache.models import DocumentInfo, IndexStatus, RebuildReport
from attache.index.settings import Settings
from attache.models import Citation
from attache.retrieval.answer import NO_ANSWER, Answer
from attache.retrieval.conversation import Conversation
from attache.retrieval.questionlog import MAX_COMMENT_CHARS, Origin
from attache.retrieval.search import Passage
from attache.retrieval.service import Attache

TIMEOUT = 10.0
CHANNEL_ID = 111_111_111_111_111_111
OTHER_CHANNEL_ID = 222_222_222_222_222_222
THREAD_ID = 333_333_333_333_333_333
BOT_ID = 999_999_999_999_999_999
USER_ID = 444_444_444_444_444_444
FIRST_FOLLOWUP_ID = 9001


def run(body: Callable[[], Awaitable[Any]], timeout: float = TIMEOUT) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(body(), timeout)

    return asyncio.run(main())


# --------------------------------------------------------------------------- fakes


class Calls(list[str]):
    """The order in which fakes were called, across the event loop and worker threads."""


def passage(source: str, text: str, start: int, title: str = "A title") -> Passage:
    return Passage(id=f"{source}-{start}", source=source, title=title, text=text, start=start,
                   end=start + len(text), score=1.0, dense=0.5, lexical=0.5, metadata={})


def make_answer(
    text: str = "Pompeo approved it. [1]",
    citations: list[Citation] | None = None,
    passages: list[Passage] | None = None,
    answered: bool = True,
) -> Answer:
    if citations is None:
        citations = [Citation(n=1, source="000_a.txt", title="State Department", quote="Pompeo approved it.", start=120, end=139)]
    if passages is None:
        passages = [passage("000_a.txt", "Before. Pompeo approved it. After.", 112)]
    return Answer(question="q", answered=answered, answer=text if answered else NO_ANSWER,
                  citations=citations if answered else [], passages=passages)


def fake_service(calls: Calls | None = None, answer: Answer | None = None) -> Any:
    service = create_autospec(Attache, instance=True, spec_set=True)
    reply = answer or make_answer()

    def ask(question: str, conversation: Conversation | None = None,
            origin: Origin | None = None) -> Answer:
        assert origin is not None and origin.front_end == "discord"
        if calls is not None:
            calls.append("ask")
        if conversation is not None:
            conversation.add(question, question, reply.answer, reply.answered)
        return reply

    service.ask.side_effect = ask
    service.status.return_value = IndexStatus(
        documents=[
            DocumentInfo(source="000_a.txt", title="State Department", chunks=7, kind="txt",
                         sha256="a"),
            DocumentInfo(source="004_b.txt", title="Blinken", chunks=3, kind="txt", sha256="b"),
        ],
        chunks=10, embedding_model="all-MiniLM-L6-v2",
        built_at="2024-05-01T10:00:00+00:00", version=2, store="/secret/data/chroma",
    )
    return service


def make_role(role_id: int, name: str) -> Any:
    role = create_autospec(discord.Role, instance=True, spec_set=True)
    role.id = role_id
    role.name = name
    return role


def make_member(user_id: int = USER_ID, roles: tuple[Any, ...] = (), bot: bool = False) -> Any:
    member = create_autospec(discord.Member, instance=True, spec_set=True)
    member.id = user_id
    member.bot = bot
    member.roles = list(roles)
    return member


def make_sent_message(message_id: int = 555) -> Any:
    message = create_autospec(discord.WebhookMessage, instance=True, spec_set=True)
    message.id = message_id
    return message


def make_text_channel(channel_id: int = CHANNEL_ID, calls: Calls | None = None) -> Any:
    channel = create_autospec(discord.TextChannel, instance=True, spec_set=True)
    channel.id = channel_id
    thread = create_autospec(discord.Thread, instance=True, spec_set=True)
    thread.id = THREAD_ID
    thread.parent_id = channel_id

    async def create_thread(**kwargs: Any) -> Any:
        if calls is not None:
            calls.append("thread")
        return thread

    channel.create_thread.side_effect = create_thread
    channel.send.side_effect = lambda *a, **k: make_sent_message(777)
    return channel


def make_thread(parent_id: int = CHANNEL_ID, thread_id: int = THREAD_ID) -> Any:
    thread = create_autospec(discord.Thread, instance=True, spec_set=True)
    thread.id = thread_id
    thread.parent_id = parent_id
    thread.send.side_effect = lambda *a, **k: make_sent_message(778)
    return thread


def make_interaction(
    *,
    calls: Calls | None = None,
    channel: Any = None,
    user_id: int = USER_ID,
    permissions: discord.Permissions | None = None,
    roles: tuple[Any, ...] = (),
    kind: discord.InteractionType = discord.InteractionType.application_command,
    data: dict[str, Any] | None = None,
) -> Any:
    calls = calls if calls is not None else Calls()
    interaction = create_autospec(discord.Interaction, instance=True, spec_set=True)
    response = create_autospec(discord.InteractionResponse, instance=True, spec_set=True)
    followup = create_autospec(discord.Webhook, instance=True, spec_set=True)
    done = {"value": False}

    def responded(name: str) -> Callable[..., None]:
        def record(*args: Any, **kwargs: Any) -> None:
            if done["value"]:
                raise AssertionError("interaction acknowledged twice")
            done["value"] = True
            calls.append(name)

        return record

    response.defer.side_effect = responded("defer")
    response.send_message.side_effect = responded("send_message")
    response.is_done.side_effect = lambda: done["value"]

    def followup_send(*args: Any, **kwargs: Any) -> Any:
        if not done["value"]:
            raise AssertionError("follow-up before the interaction was acknowledged")
        calls.append("followup")
        return make_sent_message(FIRST_FOLLOWUP_ID - 1 + followup.send.call_count)

    followup.send.side_effect = followup_send
    interaction.response = response
    interaction.followup = followup
    interaction.user = make_member(user_id, roles)
    interaction.channel = channel if channel is not None else make_text_channel(calls=calls)
    interaction.channel_id = interaction.channel.id
    interaction.permissions = permissions or discord.Permissions.none()
    interaction.type = kind
    interaction.data = data or {}
    return interaction


def make_message(content: str, channel: Any, *, author_id: int = USER_ID, bot_author: bool = False,
                 mentions: list[Any] | None = None) -> Any:
    message = create_autospec(discord.Message, instance=True, spec_set=True)
    message.content = content
    message.channel = channel
    message.author = make_member(author_id, bot=bot_author)
    message.guild = create_autospec(discord.Guild, instance=True, spec_set=True)
    message.type = discord.MessageType.default
    message.mentions = mentions or []
    message.reference = None
    message.to_reference.return_value = create_autospec(discord.MessageReference, instance=True)
    return message


def settings(**overrides: Any) -> Settings:
    return Settings(**overrides)


def make_bot(service: Any = None, clock: Callable[[], float] | None = None,
             **overrides: Any) -> AttacheBot:
    bot = create_bot(settings(**overrides), service or fake_service())
    if clock is not None:
        bot.gate.clock = clock
    me = create_autospec(discord.ClientUser, instance=True, spec_set=True)
    me.id = BOT_ID
    me.bot = True
    bot._connection.user = me
    return bot


def sent_texts(*mocks: Any) -> list[str]:
    """Every piece of text the fakes were asked to post: contents, embeds, labels."""
    texts: list[str] = []
    for mock in mocks:
        for call in mock.call_args_list:
            kwargs = dict(call.kwargs)
            if call.args:
                texts.append(str(call.args[0]))
            if kwargs.get("content"):
                texts.append(str(kwargs["content"]))
            for embed in [kwargs.get("embed"), *(kwargs.get("embeds") or [])]:
                if embed is not None:
                    texts.append(str(embed.to_dict()))
            if kwargs.get("name"):
                texts.append(str(kwargs["name"]))
    return texts


async def slash(bot: AttacheBot, interaction: Any, name: str, **options: Any) -> None:
    """A slash command as the command tree runs it: its check, then its callback."""
    if await bot.tree.interaction_check(interaction):
        command = bot.tree.get_command(name)
        assert isinstance(command, discord.app_commands.Command)
        await command.callback(interaction, **options)


def all_sends(interaction: Any) -> list[Any]:
    return [interaction.response.send_message, interaction.followup.send]


# --------------------------------------------------------------------------- create_bot


def test_create_bot_registers_commands_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATTACHE_DISCORD_MAX_IN_FLIGHT", "3")
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-real-token")
    bot = create_bot()
    assert isinstance(bot, AttacheBot)
    assert {c.name for c in bot.tree.get_commands()} == {
        "ask", "sources", "help", "reindex", "add", "upload", "gaps", "stats"}
    ask = bot.tree.get_command("ask")
    assert ask is not None and [p.name for p in ask.parameters] == ["question"]
    assert bot.settings.discord_max_in_flight == 3 and bot.gate.max_in_flight == 3
    assert bot.settings.discord_cooldown_seconds == 5
    assert bot.intents.message_content and bot.intents.guild_messages
    assert bot.allowed_mentions is not None and bot.allowed_mentions.to_dict() == {"parse": []}
    assert isinstance(bot.service, Attache)
    assert not bot.is_ready() and bot.ws is None  # nothing connected


# --------------------------------------------------------------------------- /ask


def test_ask_defers_before_any_service_work_then_answers_and_opens_a_thread() -> None:
    calls = Calls()
    service = fake_service(calls)
    bot = make_bot(service)
    interaction = make_interaction(calls=calls)

    run(lambda: bot.commands.handle_ask(interaction, "Who approved the creation of CSET?"))

    assert calls == ["defer", "ask", "followup", "thread"]
    interaction.response.defer.assert_awaited_once_with(thinking=True)
    question, conversation = service.ask.call_args.args
    assert question == "Who approved the creation of CSET?"
    assert isinstance(conversation, Conversation)

    kwargs = interaction.followup.send.call_args.kwargs
    assert kwargs["wait"] is True
    assert kwargs["allowed_mentions"] is NO_MENTIONS
    assert kwargs["content"] == "Pompeo approved it. [1]"
    assert kwargs["suppress_embeds"] is False  # the flag would hide the sources embed
    embed = kwargs["embeds"][0].to_dict()
    assert embed["fields"][0]["name"] == "[1] State Department"
    assert "“Pompeo approved it.”" in embed["fields"][0]["value"]
    assert "000_a.txt" in embed["fields"][0]["value"]
    buttons = kwargs["view"].children
    assert [b.item.label for b in buttons] == ["Passage [1]"]
    assert isinstance(buttons[0], PassageButton)
    assert buttons[0].custom_id.startswith(CITE_PREFIX)
    assert kwargs["view"].timeout is None  # the buttons are routed by custom id

    thread_kwargs = interaction.channel.create_thread.call_args.kwargs
    assert thread_kwargs["name"] == "Who approved the creation of CSET?"
    assert thread_kwargs["message"].id == FIRST_FOLLOWUP_ID  # the answer message
    state = bot.conversations.get(THREAD_ID)
    assert state is not None and state.conversation is conversation
    assert bot.gate.in_flight == 0


def test_custom_ids_are_unique_per_answer() -> None:
    bot = make_bot()
    first, second = make_interaction(), make_interaction(user_id=USER_ID + 1)

    async def body() -> None:
        await bot.commands.handle_ask(first, "one question")
        await bot.commands.handle_ask(second, "another question")

    run(body)
    ids = [b.custom_id for i in (first, second)
           for b in i.followup.send.call_args.kwargs["view"].children]
    assert len(ids) == len(set(ids)) == 2


def test_too_long_question_is_refused_before_retrieval() -> None:
    service = fake_service()
    bot = make_bot(service, discord_max_question_chars=50)
    interaction = make_interaction()

    run(lambda: bot.commands.handle_ask(interaction, "why " * 20))

    service.ask.assert_not_called()
    interaction.response.defer.assert_not_called()
    kwargs = interaction.response.send_message.call_args.kwargs
    assert kwargs["ephemeral"] is True and kwargs["allowed_mentions"] is NO_MENTIONS
    assert "50 characters" in interaction.response.send_message.call_args.args[0]
    assert bot.gate.in_flight == 0


def test_empty_question_is_refused() -> None:
    service = fake_service()
    bot = make_bot(service)
    interaction = make_interaction()
    run(lambda: bot.commands.handle_ask(interaction, "   "))
    service.ask.assert_not_called()
    assert interaction.response.send_message.call_args.kwargs["ephemeral"] is True


def test_cooldown_per_user_refuses_a_second_question_politely() -> None:
    now = [1000.0]
    service = fake_service()
    bot = make_bot(service, clock=lambda: now[0])
    first, second, other_user = make_interaction(), make_interaction(), make_interaction(
        user_id=USER_ID + 1)

    async def body() -> None:
        await bot.commands.handle_ask(first, "first question here")
        now[0] += 2.0
        await bot.commands.handle_ask(second, "second question here")
        await bot.commands.handle_ask(other_user, "someone else asks")

    run(body)
    assert service.ask.call_count == 2
    second.response.defer.assert_not_called()
    refusal = second.response.send_message.call_args
    assert refusal.kwargs["ephemeral"] is True
    assert refusal.args[0] == "Please wait 3 s before asking again."

    later = make_interaction()
    now[0] += 3.5
    run(lambda: bot.commands.handle_ask(later, "after the cooldown"))
    assert service.ask.call_count == 3


def blocked_service() -> tuple[Any, threading.Semaphore, threading.Event]:
    """A fake service whose answers each signal `started`, then wait for `release`."""
    release = threading.Event()
    started = threading.Semaphore(0)
    service = fake_service()
    answer = make_answer()

    def slow_ask(question: str, conversation: Any = None, origin: Any = None) -> Answer:
        started.release()
        assert release.wait(TIMEOUT)
        return answer

    service.ask.side_effect = slow_ask
    return service, started, release


def test_busy_past_the_cap_on_questions_in_flight() -> None:
    service, started, release = blocked_service()
    bot = make_bot(service, discord_max_in_flight=2, discord_cooldown_seconds=0)
    interactions = [make_interaction(user_id=USER_ID + n) for n in range(3)]

    async def body() -> None:
        running = [asyncio.create_task(bot.commands.handle_ask(i, f"question {n}"))
                   for n, i in enumerate(interactions[:2])]
        for _ in range(2):
            assert await asyncio.to_thread(started.acquire, True, TIMEOUT)
        assert bot.gate.in_flight == 2
        await bot.commands.handle_ask(interactions[2], "one too many")
        release.set()
        await asyncio.gather(*running)

    try:
        run(body)
    finally:
        release.set()
    assert service.ask.call_count == 2
    busy = interactions[2].response.send_message.call_args
    assert busy.args[0] == BUSY and busy.kwargs["ephemeral"] is True
    interactions[2].response.defer.assert_not_called()
    assert all(i.followup.send.await_count == 1 for i in interactions[:2])
    assert bot.gate.in_flight == 0


def test_one_member_cannot_hold_every_slot() -> None:
    """Asking again as soon as the cooldown allows, while earlier answers still run, used
    to fill every in-flight slot; now a member has one, and others are still answered."""
    now = [0.0]
    service, started, release = blocked_service()
    bot = make_bot(service, clock=lambda: now[0], discord_max_in_flight=8,
                   discord_cooldown_seconds=5)
    hog = [make_interaction() for _ in range(8)]
    other = make_interaction(user_id=USER_ID + 1)

    async def body() -> None:
        running = [asyncio.create_task(bot.commands.handle_ask(hog[0], "question 0"))]
        assert await asyncio.to_thread(started.acquire, True, TIMEOUT)
        for n, interaction in enumerate(hog[1:], 1):
            now[0] += 5.01  # past the cooldown every time
            await bot.commands.handle_ask(interaction, f"question {n}")
        running.append(asyncio.create_task(bot.commands.handle_ask(other, "my turn?")))
        assert await asyncio.to_thread(started.acquire, True, TIMEOUT)
        assert bot.gate.in_flight == 2 and bot.gate.in_flight_for(USER_ID) == 1
        release.set()
        await asyncio.gather(*running)

    try:
        run(body)
    finally:
        release.set()
    assert service.ask.call_count == 2
    for interaction in hog[1:]:
        refusal = interaction.response.send_message.call_args
        assert refusal.args[0] == USER_BUSY and refusal.kwargs["ephemeral"] is True
    assert other.followup.send.call_args.kwargs["content"] == "Pompeo approved it. [1]"
    assert bot.gate.in_flight == 0 and bot.gate.in_flight_for(USER_ID) == 0


def test_channel_allow_list_refuses_elsewhere_and_counts_threads_as_their_parent() -> None:
    service = fake_service()
    bot = make_bot(service, discord_channel_ids=[CHANNEL_ID])
    outside = make_interaction(channel=make_text_channel(OTHER_CHANNEL_ID))
    in_thread = make_interaction(channel=make_thread(parent_id=CHANNEL_ID),
                                 user_id=USER_ID + 1)
    thread_elsewhere = make_interaction(channel=make_thread(parent_id=OTHER_CHANNEL_ID,
                                                            thread_id=THREAD_ID + 1),
                                        user_id=USER_ID + 2)

    async def body() -> None:
        await slash(bot, outside, "ask", question="question outside")
        await slash(bot, in_thread, "ask", question="question in a thread")
        await slash(bot, thread_elsewhere, "ask", question="question in another thread")
        await slash(bot, make_interaction(channel=make_text_channel(OTHER_CHANNEL_ID)),
                     "sources")

    run(body)
    assert service.ask.call_count == 1
    refusal = outside.response.send_message.call_args
    assert refusal.kwargs["ephemeral"] is True and f"<#{CHANNEL_ID}>" in refusal.args[0]
    assert thread_elsewhere.response.send_message.call_args.kwargs["ephemeral"] is True
    in_thread.followup.send.assert_awaited()
    service.status.assert_not_called()


def test_the_channel_refusal_stays_short_however_many_channels_are_allowed() -> None:
    service = fake_service()
    bot = make_bot(service, discord_channel_ids=list(range(CHANNEL_ID, CHANNEL_ID + 300)))
    outside = make_interaction(channel=make_text_channel(OTHER_CHANNEL_ID))
    run(lambda: slash(bot, outside, "ask", question="question outside"))
    text = outside.response.send_message.call_args.args[0]
    assert text.endswith(" and 290 more.") and text.count("<#") == 10 and len(text) < 400


def test_mentions_outside_allowed_channels_are_ignored() -> None:
    service = fake_service()
    bot = make_bot(service, discord_channel_ids=[CHANNEL_ID])
    channel = make_text_channel(OTHER_CHANNEL_ID)
    message = make_message(f"<@{BOT_ID}> who approved it?", channel, mentions=[bot.user])
    run(lambda: bot.on_message(message))
    service.ask.assert_not_called()
    channel.send.assert_not_called()


def test_mention_syntax_from_documents_and_questions_is_neutralised() -> None:
    hostile = (
        "@everyone look [1] @here <@123456789012345678> <@!123456789012345678> "
        "<@&876543210987654321> <#123456789012345678> https://evil.example/x"
    )
    citation = Citation(n=1, source="@everyone.txt", title="<@&876543210987654321> title", quote=hostile, start=0, end=10)
    answer = make_answer(text=hostile + " [1]", citations=[citation],
                         passages=[passage("@everyone.txt", hostile, 0)])
    service = fake_service(answer=answer)
    bot = make_bot(service)
    interaction = make_interaction()

    run(lambda: bot.commands.handle_ask(interaction, "<@123456789012345678> @everyone why?"))

    texts = sent_texts(interaction.followup.send, interaction.channel.create_thread)
    assert texts
    raw = re.compile(r"@everyone|@here|<@!?\d|<@&\d|<#\d")
    for text in texts:
        assert not raw.search(text), text
    content = interaction.followup.send.call_args.kwargs["content"]
    assert "`https://evil.example/x`" in content  # shown, not linked, no preview
    assert "[1]" in content
    for call in interaction.followup.send.call_args_list:
        assert call.kwargs["allowed_mentions"] is NO_MENTIONS

    click = make_interaction(kind=discord.InteractionType.component)
    button = interaction.followup.send.call_args.kwargs["view"].children[0]
    run(lambda: button.callback(click))
    for text in sent_texts(click.response.send_message):
        assert not raw.search(text), text


def test_errors_become_a_short_generic_message_without_leaks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = fake_service()
    service.ask.side_effect = RuntimeError(
        "token=MTIzNDU2Nzg5MDEyMzQ1Njc4.secret at /home/bot/.attache/chroma/db.sqlite3")
    bot = make_bot(service)
    interaction = make_interaction()

    with caplog.at_level("ERROR", logger="attache.discord"):
        run(lambda: bot.commands.handle_ask(interaction, "What happens now?"))

    texts = sent_texts(*all_sends(interaction), interaction.channel.create_thread)
    assert texts == [GENERIC_ERROR]
    assert interaction.followup.send.call_args.kwargs["ephemeral"] is True
    interaction.delete_original_response.assert_awaited_once()  # no public "thinking…" left
    for text in texts:
        assert "Traceback" not in text and "/" not in text and "token" not in text
    interaction.channel.create_thread.assert_not_called()
    assert any(r.exc_info for r in caplog.records)  # logged, with its stack trace
    assert bot.gate.in_flight == 0


def test_an_error_after_part_of_the_answer_keeps_that_part() -> None:
    bot = make_bot(fake_service(answer=many_citations(30)))
    interaction = make_interaction()
    original = interaction.followup.send.side_effect

    def send(*args: Any, **kwargs: Any) -> Any:
        if interaction.followup.send.call_count == 2:
            raise RuntimeError("the connection dropped")
        return original(*args, **kwargs)

    interaction.followup.send.side_effect = send
    run(lambda: bot.commands.handle_ask(interaction, "Many sources?"))
    interaction.delete_original_response.assert_not_called()  # the first part stays
    last = interaction.followup.send.call_args
    assert last.args == (GENERIC_ERROR,) and last.kwargs["ephemeral"] is True
    assert bot.gate.in_flight == 0


def test_nothing_indexed_yet_says_how_to_fix_it() -> None:
    service = fake_service()
    service.ask.side_effect = NoIndex("nothing is indexed yet: run `attache index rebuild`")
    bot = make_bot(service)
    interaction = make_interaction()
    run(lambda: bot.commands.handle_ask(interaction, "Anything there?"))
    assert interaction.followup.send.call_args.args[0] == NoIndex.public_message
    assert interaction.followup.send.call_args.kwargs["ephemeral"] is True


def test_a_failing_defer_is_logged_and_releases_the_slot(caplog: pytest.LogCaptureFixture) -> None:
    service = fake_service()
    bot = make_bot(service)
    interaction = make_interaction()
    response = create_autospec(aiohttp.ClientResponse, instance=True)
    response.status, response.reason = 404, "Not Found"
    interaction.response.defer.side_effect = discord.NotFound(response, "Unknown interaction")
    interaction.response.send_message.side_effect = discord.NotFound(response,
                                                                     "Unknown interaction")
    with caplog.at_level("WARNING", logger="attache.discord"):
        run(lambda: bot.commands.handle_ask(interaction, "too late?"))
    service.ask.assert_not_called()
    assert "failed" in caplog.text and any(r.exc_info for r in caplog.records)
    assert bot.gate.in_flight == 0


def test_refusals_are_shown_with_the_closest_passages() -> None:
    answer = make_answer(answered=False, passages=[passage("000_a.txt", "Close text.", 0)])
    bot = make_bot(fake_service(answer=answer))
    interaction = make_interaction()
    run(lambda: bot.commands.handle_ask(interaction, "What is the budget?"))
    kwargs = interaction.followup.send.call_args.kwargs
    assert kwargs["content"] == NO_ANSWER and "view" not in kwargs
    assert kwargs["embeds"][0].title == "Closest passages (not an answer)"


# --------------------------------------------------------------------------- buttons


def test_passage_button_shows_the_covering_passage_to_the_clicker_only() -> None:
    bot = make_bot()
    interaction = make_interaction()
    run(lambda: bot.commands.handle_ask(interaction, "Who approved it?"))
    button = interaction.followup.send.call_args.kwargs["view"].children[0]
    click = make_interaction(kind=discord.InteractionType.component,
                             data={"custom_id": button.custom_id})
    click.client = bot

    async def body() -> None:
        # as discord.py routes a click: a new item from the custom id, then its callback
        match = PassageButton.__discord_ui_compiled_template__.fullmatch(button.custom_id)
        routed = await PassageButton.from_custom_id(click, button.item, match)
        assert await routed.interaction_check(click)
        await routed.callback(click)

    run(body)
    click.response.send_message.assert_awaited_once()
    kwargs = click.response.send_message.call_args.kwargs
    assert kwargs["ephemeral"] is True and kwargs["allowed_mentions"] is NO_MENTIONS
    assert kwargs["embed"].description == "Before. Pompeo approved it. After."
    assert kwargs["embed"].footer.text == "000_a.txt"


def test_expired_passage_button_says_so() -> None:
    bot = make_bot()
    custom_id = f"{CITE_PREFIX}0123456789abcdef:1"  # from before a restart
    click = make_interaction(kind=discord.InteractionType.component,
                             data={"custom_id": custom_id})
    click.client = bot
    match = PassageButton.__discord_ui_compiled_template__.fullmatch(custom_id)
    assert match is not None

    async def body() -> None:
        routed = await PassageButton.from_custom_id(click, discord.ui.Button(), match)
        await routed.callback(click)

    run(body)
    assert click.response.send_message.call_args.args[0] == EXPIRED_SOURCES
    assert click.response.send_message.call_args.kwargs["ephemeral"] is True


def test_passage_for_finds_the_passage_covering_the_quote() -> None:
    citation = Citation(n=1, source="a.txt", title="T", quote="quote", start=50, end=55)
    passages = [
        passage("b.txt", "x" * 100, 0),  # other source
        passage("a.txt", "y" * 20, 0),  # same source, does not cover
        passage("a.txt", "z" * 40, 40),  # covers 40..80
    ]
    assert make_answer(citations=[citation], passages=passages).passage_for(citation) \
        == "z" * 40
    assert make_answer(citations=[citation], passages=passages[:2]).passage_for(citation) \
        == "quote"


# --------------------------------------------------------------------------- threads, mentions


def test_follow_up_in_a_bot_thread_continues_its_conversation() -> None:
    service = fake_service()
    bot = make_bot(service)
    conversation = Conversation()
    conversation.add("Who announced the office?", "Who announced the office?", "Blinken.", True)
    bot.conversations.add(THREAD_ID, conversation, USER_ID)
    thread = make_thread()
    message = make_message("What will it focus on?", thread)

    run(lambda: bot.on_message(message))

    assert service.ask.call_args.args == ("What will it focus on?", conversation)
    kwargs = thread.send.call_args.kwargs
    assert kwargs["content"] == "Pompeo approved it. [1]"
    assert kwargs["allowed_mentions"] is NO_MENTIONS
    assert kwargs["reference"] is message.to_reference.return_value
    assert len(bot.conversations) == 1  # no new thread inside a thread


def test_ask_inside_a_bot_thread_continues_its_conversation() -> None:
    service = fake_service()
    bot = make_bot(service)
    conversation = Conversation()
    bot.conversations.add(THREAD_ID, conversation)
    interaction = make_interaction(channel=make_thread())
    run(lambda: bot.commands.handle_ask(interaction, "And then?"))
    assert service.ask.call_args.args == ("And then?", conversation)
    interaction.followup.send.assert_awaited_once()
    assert len(bot.conversations) == 1


def test_mention_in_a_channel_is_answered_without_the_mention_and_opens_a_thread() -> None:
    service = fake_service()
    bot = make_bot(service)
    channel = make_text_channel()
    message = make_message(f"<@{BOT_ID}>   Who approved   CSET?", channel, mentions=[bot.user])

    run(lambda: bot.on_message(message))

    question, conversation = service.ask.call_args.args
    assert question == "Who approved CSET?"
    assert channel.send.call_args.kwargs["allowed_mentions"] is NO_MENTIONS
    assert channel.create_thread.call_args.kwargs["name"] == "Who approved CSET?"
    assert bot.conversations.get(THREAD_ID).conversation is conversation


def test_other_messages_are_ignored() -> None:
    service = fake_service()
    bot = make_bot(service)
    channel = make_text_channel()

    async def body() -> None:
        await bot.on_message(make_message("just chatting", channel))
        await bot.on_message(make_message(f"<@{BOT_ID}> hi", channel, bot_author=True,
                                          mentions=[bot.user]))

    run(body)
    service.ask.assert_not_called()
    channel.send.assert_not_called()


def test_message_questions_get_the_same_checks() -> None:
    now = [50.0]
    service = fake_service()
    bot = make_bot(service, clock=lambda: now[0], discord_max_question_chars=30)
    bot.conversations.add(THREAD_ID, Conversation(), USER_ID)
    thread = make_thread()
    channel = make_text_channel()

    async def body() -> None:
        await bot.on_message(make_message("why " * 10 + "?", thread))
        await bot.on_message(make_message("A fine question?", thread))
        await bot.on_message(make_message("Another one right away?", thread))  # silent
        await bot.on_message(make_message(f"<@{BOT_ID}> And in a channel?", channel,
                                          mentions=[bot.user]))

    run(body)
    assert service.ask.call_count == 1
    replies = [c.args[0] for c in thread.send.call_args_list if c.args]
    assert len(replies) == 1 and "30 characters" in replies[0]
    assert channel.send.call_args.args[0].startswith("Please wait")  # told where it was asked
    for call in thread.send.call_args_list:
        assert call.kwargs["allowed_mentions"] is NO_MENTIONS


def test_in_its_threads_the_bot_answers_only_questions() -> None:
    now = [100.0]
    service = fake_service()
    bot = make_bot(service, clock=lambda: now[0])
    bot.conversations.add(THREAD_ID, Conversation(), USER_ID)
    thread = make_thread()
    other = USER_ID + 7
    earlier = create_autospec(discord.Message, instance=True, spec_set=True)
    earlier.author = bot.user
    reply_to_bot = make_message("the budget, then", thread, author_id=other)
    reply_to_bot.reference = create_autospec(discord.MessageReference, instance=True,
                                             spec_set=True)
    reply_to_bot.reference.resolved = earlier

    async def say(message: Any) -> None:
        now[0] += 6.0  # past the cooldown each time
        await bot.on_message(message)

    async def body() -> None:
        await say(make_message("thanks!", thread))  # the asker, not a question
        await say(make_message("", thread))  # an attachment alone
        await say(make_message("What about the budget?", thread, author_id=other))  # not theirs
        await say(make_message("ok, noted", thread))
        asked = service.ask.call_count
        assert asked == 0 and thread.send.call_count == 0
        await say(make_message("What will it focus on?", thread))  # the asker's question
        await say(make_message("how much did it cost", thread))  # reads as one too
        await say(make_message(f"<@{BOT_ID}> and the budget", thread, author_id=other,
                               mentions=[bot.user]))  # addressed to the bot
        await say(reply_to_bot)  # a reply to the bot
        assert service.ask.call_count == 4
        burst = [make_message(f"Question {n}?", thread) for n in range(5)]
        for message in burst:  # all within the cooldown
            await bot.on_message(message)

    run(body)
    assert [c.args[0] for c in service.ask.call_args_list] == [
        "What will it focus on?", "how much did it cost", "and the budget", "the budget, then",
        "Question 0?"]
    assert thread.send.call_count == 5  # the answers, and not one "please wait"
    assert all(not c.args for c in thread.send.call_args_list)


@pytest.mark.parametrize(("text", "question"), [
    ("What will it focus on?", True), ("who approved it", True), ("Tell me more", True),
    ("explain the budget", True), ("and the budget?", True), ("thanks!", False),
    ("Thank you, that helps.", False), ("", False), ("ok", False), ("whoa", False),
])
def test_reads_as_question(text: str, question: bool) -> None:
    from attache.bot.discord.messages import reads_as_question

    assert reads_as_question(text) is question


def test_thread_conversations_are_bounded_least_recently_used_first() -> None:
    threads = ThreadConversations(capacity=3)
    for n in range(3):
        threads.add(n, Conversation())
    assert threads.get(0) is not None  # 0 is now the most recent
    threads.add(3, Conversation())
    assert len(threads) == 3 and 1 not in threads and 0 in threads and 3 in threads


def test_gate_counts_and_cools_down() -> None:
    now = [0.0]
    gate = Gate(cooldown=5, max_in_flight=1, clock=lambda: now[0])
    assert gate.refusal(1) is None
    gate.enter(1)
    assert gate.refusal(2) == BUSY
    assert gate.refusal(1) == "Please wait 5 s before asking again."
    gate.leave(1)
    now[0] = 5.0
    assert gate.refusal(1) is None


# --------------------------------------------------------------------------- /reindex


def make_report(**values: Any) -> RebuildReport:
    base: dict[str, Any] = {"added": 1, "updated": 0, "removed": 0, "unchanged": 2,
                            "documents": 3, "chunks": 12, "seconds": 1.5, "version": 3,
                            "switched": True}
    base.update(values)
    return RebuildReport(**base)


def reindex(bot: AttacheBot, interaction: Any) -> Callable[[], Awaitable[None]]:
    async def body() -> None:
        await bot.commands.handle_reindex(interaction)
        if bot.commands._reindex_task is not None:
            await bot.commands._reindex_task

    return body


@pytest.mark.parametrize(("permissions", "roles", "admin", "allowed"), [
    (discord.Permissions(manage_guild=True), (), {}, True),
    (discord.Permissions(administrator=True), (), {}, True),
    (discord.Permissions.none(), (make_role(42, "Archivists"),),
     {"discord_admin_role_ids": [7, 42]}, True),
    (discord.Permissions.none(), (make_role(42, "Archivists"),), {"discord_admin_role": "42"},
     True),  # the older setting, holding an id
    # a role created with the admin role's name is not the admin role
    (discord.Permissions.none(), (make_role(43, "Archivists"),),
     {"discord_admin_role_ids": [42]}, False),
    (discord.Permissions.none(), (make_role(43, "Archivists"),),
     {"discord_admin_role": "Archivists"}, False),
    (discord.Permissions.none(), (make_role(43, "Readers"),), {"discord_admin_role": "42"}, False),
    (discord.Permissions(send_messages=True, manage_messages=True, manage_roles=True), (), {},
     False),
])
def test_reindex_permissions(permissions: discord.Permissions, roles: tuple[Any, ...],
                             admin: dict[str, Any], allowed: bool) -> None:
    service = fake_service()
    service.rebuild.return_value = make_report()
    bot = make_bot(service, **admin)
    interaction = make_interaction(permissions=permissions, roles=roles)

    run(reindex(bot, interaction))

    if allowed:
        service.rebuild.assert_called_once()
        started = interaction.response.send_message.call_args
        assert started.args[0] == REINDEX_STARTED and started.kwargs["ephemeral"] is True
        report = interaction.followup.send.call_args
        assert report.args[0].startswith("Reindex done in 1.5 s: 1 added, 0 updated, 0 removed")
        assert report.kwargs["ephemeral"] is True  # skipped files are named: the admin only
    else:
        service.rebuild.assert_not_called()
        refusal = interaction.response.send_message.call_args
        assert refusal.kwargs["ephemeral"] is True
        assert refusal.args[0].startswith("Sorry, /reindex is for members with the Manage Server")


def test_second_reindex_while_one_runs_says_so_and_answers_keep_coming() -> None:
    release = threading.Event()
    service = fake_service()

    def slow_rebuild(progress: Any = None) -> RebuildReport:
        progress("embedding", 3, 10)
        assert release.wait(TIMEOUT)
        return make_report()

    service.rebuild.side_effect = slow_rebuild
    bot = make_bot(service)
    admin = discord.Permissions(manage_guild=True)
    first, second = make_interaction(permissions=admin), make_interaction(permissions=admin)
    question = make_interaction(user_id=USER_ID + 1)

    async def body() -> None:
        await bot.commands.handle_reindex(first)
        while bot.commands._reindex_progress is None:
            await asyncio.sleep(0.01)
        await bot.commands.handle_reindex(second)
        await bot.commands.handle_ask(question, "Still answering?")
        release.set()
        assert bot.commands._reindex_task is not None
        await bot.commands._reindex_task

    try:
        run(body)
    finally:
        release.set()
    busy = second.response.send_message.call_args
    assert busy.kwargs["ephemeral"] is True
    assert busy.args[0].startswith("A reindex is already running (embedding 3/10)")
    assert question.followup.send.call_args.kwargs["content"] == "Pompeo approved it. [1]"
    assert service.rebuild.call_count == 1
    assert "1 added" in first.followup.send.call_args.args[0]


@pytest.mark.parametrize(("error", "expected"), [
    (RebuildBusy("another rebuild holds /srv/data/rebuild.lock"), REINDEX_BUSY),
    (DocumentsFolderError("documents folder not found: /home/me/secret-docs"), "missing"),
    (RuntimeError("boom at /home/me/.attache token=abc"), "failed"),
])
def test_reindex_failures_are_reported_without_paths(error: Exception, expected: str) -> None:
    service = fake_service()
    service.rebuild.side_effect = error
    bot = make_bot(service)
    interaction = make_interaction(permissions=discord.Permissions(manage_guild=True))
    run(reindex(bot, interaction))
    report = interaction.followup.send.call_args.args[0]
    assert expected in report
    assert "/home" not in report and "/srv" not in report and "token" not in report


def test_an_admin_role_given_by_name_is_ignored_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING", logger="attache.discord"):
        bot = make_bot(discord_admin_role="Archivists")
    assert "ATTACHE_DISCORD_ADMIN_ROLE_IDS" in caplog.text
    assert bot.commands.admin_role_ids() == set()


def test_reindex_report_truncates_skipped_reasons() -> None:
    skipped = [{"path": f"folder/file_{n:03d}.bin", "reason": "binary content " * 12}
               for n in range(40)]
    text = fmt.reindex_report(make_report(skipped=skipped))
    assert len(text) <= fmt.CONTENT_LIMIT
    assert "40 skipped" in text and "Skipped:" in text
    assert re.search(r"… and \d+ more", text)


# --------------------------------------------------------------------------- /sources, /help


def test_sources_lists_documents_and_build_time_ephemerally() -> None:
    service = fake_service()
    bot = make_bot(service)
    interaction = make_interaction()
    run(lambda: bot.commands.handle_sources(interaction))
    assert interaction.response.defer.call_args.kwargs == {"ephemeral": True, "thinking": True}
    kwargs = interaction.followup.send.call_args.kwargs
    assert kwargs["ephemeral"] is True and kwargs["allowed_mentions"] is NO_MENTIONS
    embed = kwargs["embed"]
    assert "**State Department** `000_a.txt` · 7 chunks" in embed.description
    assert "<t:1714557600:f>" in embed.description
    assert "2 documents · 10 chunks" in embed.footer.text
    assert "/secret" not in str(embed.to_dict())


def test_help_says_what_the_bot_knows_and_how_to_ask() -> None:
    bot = make_bot()
    interaction = make_interaction()
    run(lambda: bot.commands.handle_help(interaction))
    embed = interaction.followup.send.call_args.kwargs["embed"]
    assert "**2 documents**" in embed.description and "*State Department*" in embed.description
    assert "/ask" in embed.description and "thread" in embed.description


def test_sources_embed_stays_within_limits_for_many_documents() -> None:
    documents = [DocumentInfo(source=f"folder/{'long_name_' * 10}{n}.txt", title="T" * 300,
                              chunks=n, kind="txt", sha256=str(n))
                 for n in range(500)]
    embed = fmt.sources_embed(IndexStatus(documents=documents, chunks=9, version=1,
                                          built_at="2024-05-01T10:00:00+00:00",
                                          embedding_model="m", store="s"))
    assert_embed_limits([embed])
    assert re.search(r"… and \d+ more$", embed.description)


# --------------------------------------------------------------------------- lifecycle


def test_setup_hook_loads_once_and_syncs_to_each_guild(caplog: pytest.LogCaptureFixture) -> None:
    service = fake_service()
    service.warm_up.side_effect = NoIndex("nothing is indexed yet")
    bot = make_bot(service, discord_guild_ids=[1, 2])
    sync = AsyncMock(return_value=[])
    bot.tree.sync = sync  # type: ignore[method-assign]

    async def body() -> None:
        with caplog.at_level("WARNING", logger="attache.discord"):
            await bot.setup_hook()
        await bot.on_ready()
        await bot.on_ready()  # after a reconnect: nothing again

    run(body)
    service.warm_up.assert_called_once()
    assert [c.kwargs["guild"].id for c in sync.call_args_list] == [1, 2]
    assert bot.tree.get_command("ask", guild=discord.Object(id=2)) is not None
    assert "nothing is indexed yet" in caplog.text
    assert bot.setup_count == 1 and bot.ready_count == 2


def test_setup_hook_syncs_globally_without_guilds() -> None:
    service = fake_service()
    bot = make_bot(service)
    sync = AsyncMock(return_value=[])
    bot.tree.sync = sync  # type: ignore[method-assign]
    run(bot.setup_hook)
    sync.assert_awaited_once_with()
    service.warm_up.assert_called_once()


def test_run_bot_without_a_token_says_how_to_set_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_bot(settings()) == 2
    err = capsys.readouterr().err
    assert "DISCORD_TOKEN" in err and ".env" in err and "Traceback" not in err


# --------------------------------------------------------------------------- split_message


MARKER = re.compile(r"\[\d+\]")


def assert_split(text: str, chunks: list[str], limit: int) -> None:
    assert chunks, "nothing came out"
    assert all(0 < len(c) <= limit for c in chunks), [len(c) for c in chunks]
    assert all(c == c.strip() for c in chunks)
    assert MARKER.findall(text) == [m for c in chunks for m in MARKER.findall(c)]
    for chunk in chunks:  # no marker cut in two at either end
        assert not re.search(r"\[\d*$", chunk) and not re.match(r"^\d*\]", chunk), chunk


def sentences_text(rng: random.Random, count: int) -> str:
    words = ["cyber", "diplomacy", "bureau", "State", "Department", "approved", "the", "new",
             "office", "will", "focus", "on", "three", "key", "sectors", "Pompeo", "Blinken"]
    parts = []
    for n in range(count):
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(3, 25)))
        end = rng.choice([".", "!", "?", "."])
        parts.append(f"{sentence.capitalize()}{end} [{n + 1}]" if rng.random() < 0.6
                     else f"{sentence.capitalize()}{end}")
    return " ".join(parts)


def test_short_text_is_one_message() -> None:
    assert fmt.split_message("Short answer. [1]") == ["Short answer. [1]"]
    assert fmt.split_message("x" * 2000) == ["x" * 2000]
    assert fmt.split_message("  ") == []


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("limit", [40, 97, 300, 2000])
def test_split_message_keeps_limits_words_and_markers(seed: int, limit: int) -> None:
    rng = random.Random(seed * 1000 + limit)
    text = sentences_text(rng, rng.randint(5, 200))
    chunks = fmt.split_message(text, limit)
    assert_split(text, chunks, limit)
    assert " ".join(chunks).split() == text.split()


@pytest.mark.parametrize("seed", range(10))
def test_split_message_ends_chunks_at_sentence_ends(seed: int) -> None:
    rng = random.Random(seed)
    text = sentences_text(rng, 120)
    limit = 500
    chunks = fmt.split_message(text, limit)
    assert len(chunks) > 1
    ending = re.compile(r"[.!?](?: \[\d+\])?$")
    for chunk in chunks:  # sentences here are far shorter than the limit
        assert ending.search(chunk), chunk[-40:]
    # a chunk never holds a marker without its sentence
    for chunk in chunks:
        assert not MARKER.match(chunk), chunk[:20]


def test_a_sentence_longer_than_the_limit_is_split_between_words() -> None:
    words = [f"word{n}" for n in range(400)]
    for n in range(0, 400, 7):
        words[n] += f" [{n}]"
    sentence = " ".join(words) + "."
    text = f"Short one. [1] {sentence} [2] Another short one. [3]"
    chunks = fmt.split_message(text, 100)
    assert_split(text, chunks, 100)
    assert chunks[0] == "Short one. [1]"
    assert chunks[-1].endswith("Another short one. [3]")
    assert " ".join(chunks).split() == text.split()  # no word broken
    for chunk in chunks:  # a marker stays with the word before it
        assert not MARKER.match(chunk), chunk


def test_a_word_longer_than_the_limit_is_cut_but_not_inside_a_marker() -> None:
    word = "x" * 95 + "[123]" + "y" * 150 + "[4]"
    chunks = fmt.split_message(f"Start. {word} End.", 100)
    assert_split(f"Start. {word} End.", chunks, 100)
    assert "".join(chunks).replace(" ", "").replace("Start.", "").replace("End.", "") == word


def test_split_message_keeps_line_breaks_as_boundaries() -> None:
    text = "\n".join(f"Line {n} has no final stop" for n in range(100))
    chunks = fmt.split_message(text, 120)
    assert_split(text, chunks, 120)
    assert all(c.endswith("stop") for c in chunks)


# --------------------------------------------------------------------------- embed limits


def assert_embed_limits(embeds: list[discord.Embed]) -> None:
    assert len(embeds) <= fmt.EMBEDS_PER_MESSAGE
    assert sum(len(e) for e in embeds) <= fmt.EMBED_TOTAL_LIMIT
    for embed in embeds:
        data = embed.to_dict()
        assert len(data.get("title", "")) <= fmt.TITLE_LIMIT
        assert len(data.get("description", "")) <= fmt.DESCRIPTION_LIMIT
        assert len(data.get("footer", {}).get("text", "")) <= fmt.FOOTER_LIMIT
        assert len(data.get("fields", [])) <= fmt.FIELDS_LIMIT
        for item in data.get("fields", []):
            assert 0 < len(item["name"]) <= fmt.FIELD_NAME_LIMIT
            assert 0 < len(item["value"]) <= fmt.FIELD_VALUE_LIMIT


def many_citations(count: int) -> Answer:
    citations = [
        Citation(n=n, source=f"{'deep/' * 30}source_{n}.txt",
                 title=f"Title {n} " + "very long title " * 40,
                 quote=f"Quote {n} " + "a very long verbatim quote " * 150,
                 start=1000 * n, end=1000 * n + 4000)
        for n in range(1, count + 1)
    ]
    text = " ".join(f"Sentence number {n} says something. [{n}]" for n in range(1, count + 1))
    return make_answer(text=text * 3, citations=citations, passages=[])


def test_answer_with_many_long_citations_respects_every_limit() -> None:
    answer = many_citations(30)
    messages = fmt.answer_messages(answer)
    shown = [c.n for m in messages for c in m.citations]
    assert shown == list(range(1, 31))  # every citation once, in order
    for message in messages:
        assert message.content is None or len(message.content) <= fmt.CONTENT_LIMIT
        assert_embed_limits(message.embeds)
        assert len(message.citations) <= fmt.BUTTONS_PER_MESSAGE
        assert message.suppress_embeds == (not message.embeds)
    fields = [f for m in messages for e in m.embeds for f in e.fields]
    assert len(fields) == 30 and all(f.value.count("“") == 1 for f in fields)


def test_long_answer_is_split_and_sources_follow_the_text() -> None:
    answer = make_answer(text=" ".join(f"Sentence {n} of a long answer. [1]" for n in range(300)))
    messages = fmt.answer_messages(answer)
    contents = [m for m in messages if m.content]
    assert len(contents) > 1
    assert all(not m.embeds and m.suppress_embeds for m in contents[:-1])
    assert contents[-1].embeds and not contents[-1].suppress_embeds


def test_bot_views_stay_within_component_limits() -> None:
    answer = many_citations(30)
    bot = make_bot(fake_service(answer=answer))
    interaction = make_interaction()
    run(lambda: bot.commands.handle_ask(interaction, "Many sources?"))
    ids = []
    for call in interaction.followup.send.call_args_list:
        kwargs = call.kwargs
        assert len(kwargs.get("content", "")) <= fmt.CONTENT_LIMIT
        assert_embed_limits(kwargs.get("embeds", []))
        view = kwargs.get("view")
        if view is not None:
            assert len(view.children) <= 25
            for button in view.children:
                assert len(button.item.label) <= 80 and len(button.custom_id) <= 100
                ids.append(button.custom_id)
    assert len(ids) == len(set(ids)) == 30


def test_long_passages_are_shown_in_parts_within_limits() -> None:
    citation = Citation(n=1, source="a.txt", title="T" * 300, quote="q", start=0, end=1)
    text = " ".join(f"Sentence {n} of a very long passage." for n in range(600))
    embeds = fmt.passage_embeds(citation, text)
    assert len(embeds) > 1
    for embed in embeds:
        assert_embed_limits([embed])
    assert " ".join(e.description for e in embeds).split() == text.split()


def test_thread_names_are_short_and_inert() -> None:
    name = fmt.thread_name("<@123456789012345678> " + "Why does it matter so much? " * 10)
    assert len(name) <= 100 and "<@" not in name and name.startswith("Why does")
    assert fmt.thread_name("<@123456789012345678>") == "Attaché"


def test_urls_are_shown_as_code_never_as_links() -> None:
    text = ("See https://a.example/x, and <https://b.example/y> or (http://c.example). "
            "Join discord.gg/abc!")
    assert fmt.no_previews(text) == (
        "See `https://a.example/x`, and `https://b.example/y` or (`http://c.example`). "
        "Join `discord.gg/abc`!")


def test_module_imports_no_retrieval_code() -> None:
    import subprocess
    import sys

    code = ("import sys, attache.bot.discord.client, attache.bot.discord.commands, "
            "attache.bot.discord.messages; "
            "print(sorted(m for m in sys.modules if m.startswith(('attache.retrieval.service', "
            "'attache.retrieval.search', 'attache.index', 'chromadb', 'onnxruntime', "
            "'llama_index', 'tiktoken', 'bm25s'))))")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- markdown


HOSTILE = (
    "# Urgent: the ambassador resigned\n"
    "-# posted by the press office\n"
    "> quoted from nowhere\n"
    "- a list item\n"
    "Read [the official notice](https://evil.example/phish) and [1](https://evil.example/1) "
    "now. The review is ||secret until March|| and **loud** __under__ ~~gone~~ `code`; "
    "join discord.gg/evilcorp or <https://evil.example/x>."
)


def test_markdown_from_documents_questions_and_the_llm_arrives_inert() -> None:
    citation = Citation(n=1, source="notes/[x](https://evil.example/p).txt",
                        title="# Budget [notice](https://evil.example/t) ||s||",
                        quote=HOSTILE, start=0, end=len(HOSTILE))
    answer = make_answer(text=HOSTILE + " [1]", citations=[citation],
                         passages=[passage(citation.source, HOSTILE, 0, title=citation.title)])
    refusal = make_answer(answered=False, passages=[passage("a.txt", HOSTILE, 0,
                                                            title=citation.title)])
    messages = fmt.answer_messages(answer) + fmt.answer_messages(refusal)
    texts = [m.content or "" for m in messages]
    for message in messages:
        for embed in message.embeds:
            data = embed.to_dict()
            texts += [data.get("title", ""), data.get("description", "")]
            texts += [f["name"] for f in data.get("fields", [])]
            texts += [f["value"] for f in data.get("fields", [])]
    for embed in fmt.passage_embeds(citation, HOSTILE):
        texts += [embed.title or "", embed.description or ""]
    for text in texts:
        assert live_markdown(text) == [], text
    content = texts[0]
    # the words are all still there, only inert
    for words in ("Urgent: the ambassador resigned", "posted by the press office",
                  "the official notice", "secret until March", "`https://evil.example/phish`",
                  "`discord.gg/evilcorp`", "[1]"):
        assert words in content.replace("\\", ""), words


def test_the_checker_sees_live_markdown() -> None:
    assert set(live_markdown(HOSTILE)) == {"masked link", "heading, subtext or quote", "list",
                                           "spoiler", "bold", "underline", "strike", "link"}
    assert live_markdown(fmt.safe_text(HOSTILE)) == []


def test_a_cut_never_leaves_a_url_code_span_open() -> None:
    text = fmt.safe_text("word " * 10 + "https://evil.example/" + "a" * 200 + " tail")
    clipped = fmt.clip(text, 80)
    assert clipped.count("`") % 2 == 0 and len(clipped) <= 80
    assert "evil.example" not in clipped


def test_passage_embeds_stay_within_6000_with_long_paths() -> None:
    source = "deep/" * 600 + "source.txt"  # 3,010 characters
    citation = Citation(n=1, source=source, title="T" * 400, quote="q", start=0, end=1)
    text = " ".join(f"Sentence {n} of a very long passage." for n in range(900))
    embeds = fmt.passage_embeds(citation, text)
    for embed in embeds:
        assert len(embed) <= fmt.EMBED_TOTAL_LIMIT
        assert_embed_limits([embed])
    answer = make_answer(text="Yes. [1]", citations=[citation], passages=[])
    for message in fmt.answer_messages(answer):
        assert sum(len(e) for e in message.embeds) <= fmt.EMBED_TOTAL_LIMIT


def test_split_message_takes_linear_time() -> None:
    """4 MB of answer once took 1.5 s to split; eight times the text now takes about eight
    times as long, far from the 64 of a quadratic split (best of five runs each, compared
    within this run)."""
    import timeit

    def best(text: str) -> float:
        return min(timeit.repeat(lambda: fmt.split_message(text), number=1, repeat=5))

    small = sentences_text(random.Random(3), 1000)
    assert best(small * 8) < 24 * best(small)
    word = "x" * 200_000  # one word, cut in pieces
    assert best(word * 8) < 24 * best(word)


def test_messages_are_made_off_the_event_loop() -> None:
    seen: list[str] = []
    original = fmt.answer_messages

    def recording(answer: Answer) -> list[fmt.OutgoingMessage]:
        seen.append(threading.current_thread().name)
        return original(answer)

    bot = make_bot()
    interaction = make_interaction()
    fmt.answer_messages = recording  # type: ignore[assignment]
    try:
        run(lambda: bot.commands.handle_ask(interaction, "Who approved it?"))
    finally:
        fmt.answer_messages = original  # type: ignore[assignment]
    assert seen and all(name != threading.main_thread().name for name in seen)
    assert interaction.followup.send.call_args.kwargs["content"] == "Pompeo approved it. [1]"


# --------------------------------------------------------------------------- feedback


def _routed_vote(custom_id: str, click: Any) -> Any:
    """A click routed as discord.py does: a new item from the custom id."""
    match = VoteButton.__discord_ui_compiled_template__.fullmatch(custom_id)
    assert match is not None
    return run(lambda: VoteButton.from_custom_id(click, discord.ui.Button(), match))


def _press(custom_id: str, click: Any) -> None:
    """The click routed, its checks passed, its callback run."""
    routed = _routed_vote(custom_id, click)
    assert run(lambda: routed.interaction_check(click))
    run(lambda: routed.callback(click))


def test_a_logged_answer_gets_vote_buttons_after_its_passage_buttons() -> None:
    from dataclasses import replace

    service = fake_service(answer=replace(make_answer(), log_id=4242))
    bot = make_bot(service)
    interaction = make_interaction()
    run(lambda: bot.commands.handle_ask(interaction, "Who approved it?"))
    assert service.ask.call_args.kwargs["origin"].user == USER_ID
    view = interaction.followup.send.call_args.kwargs["view"]
    assert view.timeout is None
    assert [type(b) for b in view.children] == [PassageButton, VoteButton, VoteButton]
    up, down = view.children[1:]
    assert (up.custom_id, down.custom_id) == ("attache:vote:4242:up", "attache:vote:4242:down")
    assert (str(up.item.emoji), str(down.item.emoji)) == ("👍", "👎")


def test_votes_go_to_the_service_for_the_clicker_and_can_change() -> None:
    service = fake_service()
    service.vote.return_value = True
    bot = make_bot(service)

    click = make_interaction(kind=discord.InteractionType.component)
    click.client = bot
    _press("attache:vote:77:up", click)
    service.vote.assert_called_once_with(77, USER_ID, True, None)
    assert click.response.send_message.call_args.args[0] == THANKS_UP
    assert click.response.send_message.call_args.kwargs["ephemeral"] is True

    change = make_interaction(kind=discord.InteractionType.component)
    change.client = bot
    _press("attache:vote:77:down", change)
    modal = change.response.send_modal.call_args.args[0]
    assert isinstance(modal, WhyModal) and modal.question_id == 77
    assert modal.title == "What was wrong?" and modal.why.max_length == MAX_COMMENT_CHARS
    assert modal.why.required is False
    assert service.vote.call_args.args == (77, USER_ID, False, None)  # counted at once
    change.response.send_message.assert_not_called()


def test_the_form_stores_what_was_wrong_with_the_vote() -> None:
    service = fake_service()
    service.vote.return_value = True
    bot = make_bot(service)
    modal = WhyModal(77)
    submit = make_interaction(kind=discord.InteractionType.modal_submit)
    submit.client = bot
    components = [{"type": 1, "components": [
        {"type": 4, "custom_id": "why", "value": "  It names the wrong person  "}]}]
    modal._refresh(submit, components, {})  # as discord.py fills a submitted form
    run(lambda: modal.on_submit(submit))
    service.vote.assert_called_once_with(77, USER_ID, False, "It names the wrong person")
    assert submit.response.send_message.call_args.args[0] == THANKS_COMMENT

    empty = make_interaction(kind=discord.InteractionType.modal_submit)
    empty.client = bot
    blank = WhyModal(78)
    blank._refresh(empty, [{"type": 1, "components": [
        {"type": 4, "custom_id": "why", "value": ""}]}], {})
    run(lambda: blank.on_submit(empty))
    assert service.vote.call_args.args == (78, USER_ID, False, None)


def test_a_vote_on_a_question_no_longer_logged_says_so() -> None:
    service = fake_service()
    service.vote.return_value = False
    bot = make_bot(service)
    click = make_interaction(kind=discord.InteractionType.component)
    click.client = bot
    _press("attache:vote:5:up", click)
    assert click.response.send_message.call_args.args[0] == VOTE_EXPIRED


def test_gaps_and_stats_are_for_admins_only_and_shown_privately() -> None:
    from attache.models import Gap, GapsReport, SourceCount, StatsReport, UsageFigures

    service = fake_service()
    hostile = "Who is **@everyone** <@123> at https://example.com?"
    service.gaps.return_value = GapsReport(gaps=[
        Gap(question=hostile, count=3, last_asked="2026-11-24T10:00:00Z",
            examples=[hostile, "x" * 3000], kind="refused"),
        Gap(question="Why Blinken?", count=1, last_asked="2026-11-24T10:00:00Z",
            examples=["Why Blinken?"], kind="downvoted", comments=["Wrong `name` @here"]),
    ])
    figures = UsageFigures(questions=6, refused=4, refusal_rate=0.6667, votes_up=1,
                           votes_down=2, top_sources=[SourceCount(source="a.txt", count=2)],
                           latency_ms_p50=12.0, latency_ms_p95=40.0)
    service.stats.return_value = StatsReport(**figures.model_dump(),
                                             by_front_end={"discord": figures})
    bot = make_bot(service)

    member = make_interaction()
    run(lambda: slash(bot, member, "gaps"))
    service.gaps.assert_not_called()
    assert "/gaps is for members with the Manage Server" in (
        member.response.send_message.call_args.args[0])
    assert member.response.send_message.call_args.kwargs["ephemeral"] is True

    admin = make_interaction(permissions=discord.Permissions(manage_guild=True))
    run(lambda: slash(bot, admin, "gaps"))
    admin.response.defer.assert_awaited_once_with(ephemeral=True, thinking=True)
    kwargs = admin.followup.send.call_args.kwargs
    assert kwargs["ephemeral"] is True and kwargs["allowed_mentions"] is NO_MENTIONS
    assert_embed_limits([kwargs["embed"]])
    shown = kwargs["embed"].description
    assert "**3×** refused" in shown and "**1×** 👎" in shown
    assert "<@123>" not in shown and "@everyone" not in shown and "@here" not in shown
    for line in shown.splitlines():  # the bot's own bold count aside, nothing is live
        assert live_markdown(line.split(" · ", 1)[-1]) == [], line
    assert "Wrong" in shown and "name" in shown

    admin = make_interaction(permissions=discord.Permissions(manage_guild=True))
    run(lambda: slash(bot, admin, "stats"))
    embed = admin.followup.send.call_args.kwargs["embed"]
    assert_embed_limits([embed])
    assert embed.description.startswith("6 questions · 4 refused (67%) · 👍 1 · 👎 2")
    assert [f.name for f in embed.fields] == ["discord", "Most cited"]


def test_log_lines_carry_no_colour_codes_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from attache.bot.discord.client import configure_logging

    monkeypatch.setattr(discord.utils, "is_docker", lambda: True)  # discord.py colours there
    loggers = [logging.getLogger("discord"), logging.getLogger("attache")]
    before = [list(log.handlers) for log in loggers]
    try:
        configure_logging()  # standard error is pytest's capture: no terminal
        added = [h for h in loggers[0].handlers if h not in before[0]]
        record = logging.LogRecord("discord", logging.WARNING, __file__, 1, "hello", None, None)
        assert added and all("\x1b[" not in h.format(record) for h in added)
    finally:
        for log, handlers in zip(loggers, before):
            log.handlers[:] = handlers
