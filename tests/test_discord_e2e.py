"""The Discord bot end to end: the real discord.py client logged in to the local
Discord stand-in on 127.0.0.1, over the real service and a real index of the seeds
(real model, embedded Chroma). Each test runs its own event loop under a hard timeout."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import discord
import pytest

from attache.bot.discord.client import BAD_TOKEN, AttacheBot, create_bot, serve
from attache.bot.discord.commands import REINDEX_STARTED
from attache.index.documents import discover, load, read
from attache.index.settings import Settings
from attache.retrieval.conversation import Conversation
from attache.retrieval.service import Attache

try:
    from tests.discord_standin import OP_IDENTIFY, OP_RESUME, DiscordStandIn, RecordedRequest
    from tests.inert_markdown import live_markdown
except ImportError:  # tests/ is on sys.path
    from discord_standin import OP_IDENTIFY, OP_RESUME, DiscordStandIn, RecordedRequest
    from inert_markdown import live_markdown

POMPEO = "000_a92a2212d4dbd9c6.txt"
BLINKEN = "004_703d1c81ffbf0c84.txt"
CSET = "Who approved the creation of CSET?"
OFFICE = "Who announced the new digital policy office?"
FOLLOWUP_PATH = r"^/webhooks/\d+/[^/]+$"
TEST_TIMEOUT = 20.0
EPHEMERAL = 64


def run(test: Callable[[], Awaitable[Any]], timeout: float = TEST_TIMEOUT) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(test(), timeout)

    return asyncio.run(main())


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def own_index(seeds_index: Settings, tmp_path: Path) -> Settings:
    """A copy of the seeds index this test may change."""
    shutil.copytree(seeds_index.docs_dir, tmp_path / "own" / "docs")
    shutil.copytree(seeds_index.data_dir, tmp_path / "own" / "data")
    return seeds_index.model_copy(update={"docs_dir": tmp_path / "own" / "docs",
                                          "data_dir": tmp_path / "own" / "data"})


@pytest.fixture(autouse=True)
def _quiet_discord_logs() -> None:
    logging.getLogger("discord").setLevel(logging.WARNING)


class ObservedAttache(Attache):
    """The real service; it counts warm-ups, and can slow answers down or hold a rebuild
    just before it publishes the new version."""

    def __init__(self, *args: Any, ask_delay: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.warm_ups = 0
        self.ask_delay = ask_delay
        self.rebuild_paused = threading.Event()
        self.resume_rebuild = threading.Event()
        self.resume_rebuild.set()

    def warm_up(self) -> None:
        self.warm_ups += 1
        super().warm_up()

    def ask(self, question: str, conversation: Conversation | None = None,
            origin: Any = None) -> Any:
        if self.ask_delay:
            time.sleep(self.ask_delay)
        return super().ask(question, conversation, origin)

    def rebuild(self, progress: Any = None) -> Any:
        def observed(stage: str, done: int, total: int) -> None:
            if stage == "lexical" and done == 0:
                self.rebuild_paused.set()
                if not self.resume_rebuild.wait(15):
                    raise TimeoutError("the test never resumed the rebuild")
            if progress is not None:
                progress(stage, done, total)

        return super().rebuild(observed)


def make_service(settings: Settings, embedder: Any, **kwargs: Any) -> ObservedAttache:
    return ObservedAttache(settings, embedder=embedder, **kwargs)


def bot_settings(settings: Settings, standin: DiscordStandIn, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"discord_token": None, "discord_guild_ids": [standin.guild_id]}
    values.update(overrides)
    return settings.model_copy(update=values)


def new_bot(standin: DiscordStandIn, settings: Settings, service: Attache) -> AttacheBot:
    return create_bot(settings, service, guild_ready_timeout=0.1, **standin.client_kwargs())


def document_texts(folder: Path) -> dict[str, str]:
    files, _ = discover(folder, 10**7)
    return {f.source: load(f, read(f)).text for f in files}


async def callback_of(standin: DiscordStandIn, interaction: dict[str, Any]) -> RecordedRequest:
    token = re.escape(interaction["token"])
    return await standin.wait_for_request(
        method="POST", path=rf"^/interactions/{interaction['id']}/{token}/callback$", timeout=10)


async def followups_of(standin: DiscordStandIn, interaction: dict[str, Any], count: int = 1,
                       timeout: float = 10) -> list[RecordedRequest]:
    token = interaction["token"]

    def delivered() -> list[RecordedRequest]:
        return standin.find_requests(lambda r: token in r.path and r.status == 200,
                                     method="POST", path=FOLLOWUP_PATH)

    deadline = time.monotonic() + timeout
    while len(delivered()) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(delivered())} follow-ups for {interaction['id']}, "
                                 f"expected {count}")
        await asyncio.sleep(0.02)
    return delivered()


async def ask(standin: DiscordStandIn, question: str, **kwargs: Any
              ) -> tuple[dict[str, Any], RecordedRequest, RecordedRequest]:
    """Send /ask; check the deferral; return the interaction, callback and answer."""
    interaction = await standin.send_interaction("ask", {"question": question}, **kwargs)
    callback = await callback_of(standin, interaction)
    assert callback.status == 200, callback.response
    assert callback.json["type"] == 5  # deferred: "thinking…"
    assert callback.time - standin.interactions[interaction["id"]].created_at < 3.0
    (answer,) = await followups_of(standin, interaction)
    assert answer.time > callback.time
    assert answer.json["allowed_mentions"] == {"parse": []}
    return interaction, callback, answer


def assert_cites_verbatim(answer: RecordedRequest, source: str, texts: dict[str, str]) -> None:
    fields = answer.json["embeds"][0]["fields"]
    cited = [f for f in fields if source in f["value"]]
    assert cited, fields
    quote = re.match(r"“(.*)”\n", cited[0]["value"], re.S)
    assert quote is not None and quote.group(1) in " ".join(texts[source].split())


# --------------------------------------------------------------------------- tests


def test_ask_answers_with_sources_a_thread_follow_ups_and_passage_buttons(
    seeds_index: Settings, embedder: Any,
) -> None:
    texts = document_texts(seeds_index.docs_dir)

    async def body() -> None:
        async with DiscordStandIn(heartbeat_interval=1000) as standin:
            service = make_service(seeds_index, embedder)
            # no cooldown: the asker's follow-up comes at once (in a thread, a question
            # within the cooldown gets no reply at all)
            settings = bot_settings(seeds_index, standin, discord_cooldown_seconds=0)
            bot = new_bot(standin, settings, service)
            async with standin.running(bot):
                assert len(standin.identifies) == 1
                assert standin.identifies[0]["intents"] & (1 << 15)  # message content
                (sync,) = standin.command_syncs
                assert sync["scope"] == str(standin.guild_id)
                assert {c["name"] for c in sync["payload"]} == {"ask", "sources", "help",
                                                                "reindex", "add", "upload",
                                                                "gaps", "stats"}
                assert service.warm_ups == 1

                interaction, _, answer = await ask(standin, CSET)
                assert "Pompeo" in answer.json["content"] and "[1]" in answer.json["content"]
                assert_cites_verbatim(answer, POMPEO, texts)
                message_id = answer.response["id"]

                thread_request = await standin.wait_for_request(
                    method="POST", path=rf"^/channels/{standin.channel_id}/messages/"
                                        rf"{message_id}/threads$")
                assert thread_request.status == 201
                assert thread_request.json["name"] == CSET
                thread_id = thread_request.response["id"]

                # the passage button: the full passage, to the clicker only
                button = answer.json["components"][0]["components"][0]
                assert button["custom_id"].startswith("attache:cite:")
                click = await standin.send_component_interaction(button["custom_id"], message_id)
                reply = await callback_of(standin, click)
                assert reply.status == 200
                assert reply.json["type"] == 4 and reply.json["data"]["flags"] & EPHEMERAL
                assert reply.json["data"]["allowed_mentions"] == {"parse": []}
                shown = reply.json["data"]["embeds"][0]
                quote = re.match(r"“(.*)”\n", answer.json["embeds"][0]["fields"][0]["value"],
                                 re.S)
                assert quote is not None and quote.group(1) in shown["description"]
                assert shown["footer"]["text"] == POMPEO
                assert len(shown["description"]) > len(quote.group(1))

                # a second question, then a follow-up in its thread
                asker = standin.snowflake()
                _, _, office = await ask(standin, OFFICE, user_id=asker)
                assert "Blinken" in office.json["content"]
                office_thread = await standin.wait_for_request(
                    method="POST", path=rf"/messages/{office.response['id']}/threads$")
                office_thread_id = office_thread.response["id"]
                assert office_thread_id != thread_id
                mark = standin.mark()
                await standin.send_message_create("thanks!", channel_id=office_thread_id,
                                                  author=asker)  # not a question: no reply
                await standin.send_message_create("What will it focus on?",
                                                  channel_id=office_thread_id,
                                                  author=asker)
                follow = await standin.wait_for_request(
                    method="POST", path=rf"^/channels/{office_thread_id}/messages$", since=mark)
                assert follow.status == 200
                assert "three key sectors" in follow.json["content"]
                assert len(standin.find_requests(
                    method="POST", path=rf"^/channels/{office_thread_id}/messages$")) == 1
                assert follow.json["allowed_mentions"] == {"parse": []}
                assert follow.json["embeds"][0]["fields"]

                # a mention in the channel is answered in place
                mark = standin.mark()
                await standin.send_message_create(f"<@{standin.bot_user_id}> {CSET}",
                                                  author=standin.snowflake())
                mention = await standin.wait_for_request(
                    method="POST", path=rf"^/channels/{standin.channel_id}/messages$",
                    since=mark)
                assert "Pompeo" in mention.json["content"]
                assert mention.json["allowed_mentions"] == {"parse": []}
                assert mention.json["message_reference"]["message_id"]
                mention_thread = await standin.wait_for_request(
                    method="POST", path=rf"/messages/{mention.response['id']}/threads$")
                assert mention_thread.json["name"] == CSET

    run(body)


def test_drop_resume_and_rate_limited_follow_up(seeds_index: Settings, embedder: Any) -> None:
    async def body() -> None:
        async with DiscordStandIn(heartbeat_interval=1000) as standin:
            service = make_service(seeds_index, embedder)
            bot = new_bot(standin, bot_settings(seeds_index, standin), service)
            async with standin.running(bot):
                session = standin.current_session
                assert session is not None
                mark = len(standin.gateway_received)
                await standin.drop_connection(4000)
                resume = await standin.wait_for_gateway(op=OP_RESUME, since=mark, timeout=10)
                assert resume.d["session_id"] == session.session_id
                await standin.wait_for_sent(event="RESUMED", timeout=10)
                assert not [f for f in standin.gateway_received[mark:] if f.op == OP_IDENTIFY]
                assert len(standin.identifies) == 1

                _, _, answer = await ask(standin, CSET)
                assert "Pompeo" in answer.json["content"]
                # loaded and synced once: not again on the reconnect
                assert service.warm_ups == 1 and len(standin.command_syncs) == 1
                assert bot.setup_count == 1 and bot.ready_count == 1

                rule = standin.fail_next("POST", FOLLOWUP_PATH, status=429, retry_after=0.5)
                interaction = await standin.send_interaction("ask", {"question": CSET},
                                                             user_id=standin.snowflake())
                callback = await callback_of(standin, interaction)
                assert callback.json["type"] == 5
                (delivered,) = await followups_of(standin, interaction)
                assert "Pompeo" in delivered.json["content"]
                attempts = standin.find_requests(lambda r: interaction["token"] in r.path,
                                                 method="POST", path=FOLLOWUP_PATH)
                assert [r.status for r in attempts] == [429, 200]
                assert rule.remaining == 0
                assert delivered.time - rule.hits[0].time >= 0.45

    run(body)


def test_twenty_simultaneous_questions_keep_the_heartbeat(
    seeds_index: Settings, embedder: Any,
) -> None:
    count = 20

    async def body() -> None:
        async with DiscordStandIn(heartbeat_interval=1000) as standin:
            # each answer takes 1.5 s in its worker thread: on the event loop, 20 of them
            # would stall the heartbeat for 30 s
            service = make_service(seeds_index, embedder, ask_delay=1.5)
            settings = bot_settings(seeds_index, standin, discord_max_in_flight=count)
            bot = new_bot(standin, settings, service)
            async with standin.running(bot):
                await standin.wait_for_heartbeats(2, timeout=5)
                started = time.monotonic()
                interactions = [
                    await standin.send_interaction("ask", {"question": CSET},
                                                   user_id=standin.snowflake())
                    for _ in range(count)
                ]
                callbacks = await asyncio.gather(*(callback_of(standin, i) for i in interactions))
                assert all(c.status == 200 and c.json["type"] == 5 for c in callbacks)
                answers = await asyncio.gather(*(followups_of(standin, i, timeout=15)
                                                 for i in interactions))
                assert all(len(a) == 1 and "Pompeo" in a[0].json["content"] for a in answers)
                finished = time.monotonic()
                assert finished - started < 10  # in parallel, not one after another
                beats_before = len(standin.heartbeats)
                await standin.wait_for_heartbeats(beats_before + 1, timeout=5)

                beats = standin.heartbeats
                gaps = [b - a for a, b in zip(beats, beats[1:], strict=False)]
                assert max(gaps) < 2.5 * standin.heartbeat_interval / 1000, gaps
                assert sum(1 for b in beats if started <= b <= finished) >= 1
                assert bot.gate.in_flight == 0

    run(body, timeout=40)


def test_sources_and_reindex_while_answering(own_index: Settings, embedder: Any) -> None:
    docs = own_index.docs_dir
    (docs / "notes").mkdir()
    (docs / "notes" / "lisbon.md").write_text(
        "# The Lisbon cyber desk\n\nThe embassy opened a cyber desk in Lisbon in March, "
        "staffed by two attachés who brief the ambassador every week on ransomware cases.\n",
        encoding="utf-8")
    (docs / "empty.txt").write_text("", encoding="utf-8")
    admin = str(discord.Permissions(manage_guild=True, send_messages=True,
                                    use_application_commands=True).value)

    async def body() -> None:
        async with DiscordStandIn(heartbeat_interval=1000) as standin:
            service = make_service(own_index, embedder)
            bot = new_bot(standin, bot_settings(own_index, standin), service)
            async with standin.running(bot):
                listing = await standin.send_interaction("sources")
                callback = await callback_of(standin, listing)
                assert callback.json == {"type": 5, "data": {"flags": EPHEMERAL}}
                (sources,) = await followups_of(standin, listing)
                embed = sources.json["embeds"][0]
                assert POMPEO in embed["description"] and BLINKEN in embed["description"]
                assert "Index built <t:" in embed["description"]
                assert embed["footer"]["text"].startswith("2 documents")

                refused = await standin.send_interaction("reindex", user_id=standin.snowflake())
                no = await callback_of(standin, refused)
                assert no.json["type"] == 4 and no.json["data"]["flags"] & EPHEMERAL
                assert "Manage Server" in no.json["data"]["content"]

                service.resume_rebuild.clear()
                started = await standin.send_interaction("reindex", member_permissions=admin)
                ack = await callback_of(standin, started)
                assert ack.json["type"] == 4 and ack.json["data"]["content"] == REINDEX_STARTED
                assert ack.json["data"]["flags"] & EPHEMERAL
                assert await asyncio.to_thread(service.rebuild_paused.wait, 10)

                again = await standin.send_interaction("reindex", member_permissions=admin,
                                                       user_id=standin.snowflake())
                busy = await callback_of(standin, again)
                assert busy.json["data"]["flags"] & EPHEMERAL
                assert busy.json["data"]["content"].startswith("A reindex is already running")

                # the old index keeps answering while the new one is built
                _, _, during = await ask(standin, CSET, user_id=standin.snowflake())
                assert "Pompeo" in during.json["content"]
                service.resume_rebuild.set()

                (report,) = await followups_of(standin, started, timeout=15)
                text = report.json["content"]
                assert "1 added, 0 updated, 0 removed, 2 unchanged, 1 skipped" in text
                assert "empty.txt" in text and "Skipped:" in text
                assert report.json["allowed_mentions"] == {"parse": []}
                assert report.json["flags"] & EPHEMERAL  # only the admin sees the file names

                _, _, after = await ask(standin, "Where did the embassy open a cyber desk?",
                                        user_id=standin.snowflake())
                assert "Lisbon" in after.json["content"]
                assert "notes/lisbon.md" in str(after.json["embeds"])

    run(body)


HOSTILE_DOCUMENT = """Cyber desk budget

The embassy cyber desk has a budget of four million dollars, as [the official notice](https://evil.example/phish) explains.
# Urgent: the ambassador resigned
-# posted by the press office
The budget review stays ||secret until March|| and invites go to discord.gg/evilcorp today.
"""


def message_texts(payload: dict[str, Any]) -> list[str]:
    """Every piece of text Discord would render from a message payload."""
    texts = [payload.get("content") or ""]
    for embed in payload.get("embeds") or []:
        texts += [embed.get("title", ""), embed.get("description", "")]
        for item in embed.get("fields", []):
            texts += [item["name"], item["value"]]
    return texts


def test_markdown_in_a_document_arrives_as_plain_inert_text(
    tmp_path: Path, embedder: Any,
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "budget.txt").write_text(HOSTILE_DOCUMENT, encoding="utf-8")
    settings = Settings(docs_dir=docs, data_dir=tmp_path / "data")
    Attache(settings, embedder=embedder).rebuild()

    async def body() -> None:
        async with DiscordStandIn(heartbeat_interval=1000) as standin:
            service = make_service(settings, embedder)
            bot = new_bot(standin, bot_settings(settings, standin), service)
            async with standin.running(bot):
                _, _, answer = await ask(standin, "What is the budget of the embassy cyber desk?")
                texts = message_texts(answer.json)
                assert "four million dollars" in texts[0]
                button = answer.json["components"][0]["components"][0]
                click = await standin.send_component_interaction(button["custom_id"],
                                                                 answer.response["id"])
                shown = (await callback_of(standin, click)).json["data"]
                passage = message_texts(shown)
                whole = " ".join(passage).replace("\\", "")
                for words in ("Urgent: the ambassador resigned", "posted by the press office",
                              "secret until March", "the official notice",
                              "`https://evil.example/phish`", "`discord.gg/evilcorp`"):
                    assert words in whole, words
                for text in texts + passage:
                    assert live_markdown(text) == [], text

    run(body)


def test_rejected_token_is_a_clear_error(
    seeds_index: Settings, capsys: pytest.CaptureFixture[str],
) -> None:
    async def body() -> int:
        async with DiscordStandIn() as standin:
            with standin.patch_discord():
                return await serve(bot_settings(seeds_index, standin), "not-the-token",
                                   **standin.client_kwargs())

    assert run(body) == 2
    err = capsys.readouterr().err
    assert BAD_TOKEN in err and "Traceback" not in err and "not-the-token" not in err


def test_attache_discord_without_a_token(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    work = tmp_path / "empty-workdir"
    work.mkdir()
    result = run_cli("discord", cwd=work, timeout=120)
    assert result.returncode == 2
    assert "DISCORD_TOKEN" in result.stderr and ".env" in result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_votes_and_the_what_was_wrong_form_reach_gaps_and_survive_a_restart(
    own_index: Settings, embedder: Any,
) -> None:
    """👎 opens the form; its text is stored with the vote and shows in gaps; the buttons
    of an answer still work for a new client (a restart); /gaps and /stats for admins."""
    from attache.retrieval.questionlog import LOG_FILE, read_questions

    admin = str(discord.Permissions(manage_guild=True, send_messages=True,
                                    use_application_commands=True).value)
    reader, other = 41_000_001, 41_000_002
    logged = own_index.model_copy(update={"log_questions": True})
    for path in own_index.data_dir.glob("questions.sqlite3*"):  # copied from the shared index
        path.unlink()
    why = "It should say who *proposed* it <@&1> too"

    async def body() -> None:
        async with DiscordStandIn(heartbeat_interval=1000) as standin:
            service = make_service(logged, embedder)
            async with standin.running(new_bot(standin, bot_settings(logged, standin),
                                               service)):
                _, _, answer = await ask(standin, CSET, user_id=reader)
                message_id = answer.response["id"]
                buttons = {b["custom_id"]: b for row in answer.json["components"]
                           for b in row["components"]}
                votes = [c for c in buttons if c.startswith("attache:vote:")]
                assert len(votes) == 2 and any(c.startswith("attache:cite:") for c in buttons)
                down = next(c for c in votes if c.endswith(":down"))
                up = next(c for c in votes if c.endswith(":up"))
                assert buttons[down]["emoji"]["name"] == "👎"

                press = await standin.send_component_interaction(down, message_id,
                                                                 user_id=reader)
                opened = await callback_of(standin, press)
                assert opened.status == 200 and opened.json["type"] == 9
                modal = standin.modal_of(press)
                assert modal is not None and modal["title"] == "What was wrong?"
                submit = await standin.send_modal_submit(modal, {"why": why}, user_id=reader)
                thanks = await callback_of(standin, submit)
                assert thanks.json["type"] == 4 and thanks.json["data"]["flags"] & EPHEMERAL
                assert "recorded" in thanks.json["data"]["content"]

                liked = await standin.send_component_interaction(up, message_id, user_id=other)
                assert "👍" in (await callback_of(standin, liked)).json["data"]["content"]

                refused = await standin.send_interaction("gaps", user_id=other)
                no = await callback_of(standin, refused)
                assert no.json["data"]["flags"] & EPHEMERAL
                assert "Manage Server" in no.json["data"]["content"]

            # A new client (a restart): the old answer's buttons still count.
            fresh = make_service(logged, embedder)
            async with standin.running(new_bot(standin, bot_settings(logged, standin),
                                               fresh)):
                late = await standin.send_component_interaction(up, message_id,
                                                                user_id=standin.snowflake())
                assert "👍" in (await callback_of(standin, late)).json["data"]["content"]

                listing = await standin.send_interaction("gaps", member_permissions=admin)
                assert (await callback_of(standin, listing)).json["data"]["flags"] & EPHEMERAL
                (gaps,) = await followups_of(standin, listing)
                shown = gaps.json["embeds"][0]["description"]
                assert CSET in shown and "👎" in shown
                assert "\\*proposed\\*" in shown and "<@&1>" not in shown

                usage = await standin.send_interaction("stats", member_permissions=admin)
                await callback_of(standin, usage)
                (stats,) = await followups_of(standin, usage)
                assert "👍 2 · 👎 1" in stats.json["embeds"][0]["description"]

        [row] = read_questions([own_index.data_dir / LOG_FILE])
        assert row.front_end == "discord" and row.question == CSET and row.answered
        assert (row.votes_up, row.votes_down, row.comments) == (2, 1, [why])
        report = fresh.gaps()
        assert [(g.kind, g.question, g.count, g.comments) for g in report.gaps] == [
            ("downvoted", CSET, 1, [why])]

    run(body, timeout=40)
