"""The Discord stand-in works with the real discord.py client (no project code).

Each test runs its own event loop with ``asyncio.run`` under a hard timeout,
so a broken handshake fails the test instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import discord
import discord.gateway
import discord.http
import pytest
from discord import app_commands
from discord.ext import commands

try:
    from tests.discord_standin import OP_IDENTIFY, OP_RESUME, DiscordStandIn
except ImportError:  # tests/ is on sys.path (pytest rootdir-less import mode)
    from discord_standin import OP_IDENTIFY, OP_RESUME, DiscordStandIn

TEST_TIMEOUT = 18.0
FOLLOWUP_PATH = r"^/webhooks/\d+/[^/]+$"


def run(test: Callable[[], Awaitable[Any]], timeout: float = TEST_TIMEOUT) -> Any:
    """Run one async test body in a fresh loop, bounded by ``timeout`` seconds."""

    async def main() -> Any:
        return await asyncio.wait_for(test(), timeout)

    return asyncio.run(main())


class Probe:
    """What the test bot saw."""

    def __init__(self) -> None:
        self.ready = 0
        self.resumed = 0
        self.messages: list[discord.Message] = []
        self.errors: list[BaseException] = []


def make_bot(standin: DiscordStandIn, probe: Probe, *, intents: discord.Intents | None = None) -> commands.Bot:
    bot = commands.Bot(
        command_prefix="!",
        intents=intents or discord.Intents.default(),
        guild_ready_timeout=0.1,  # do not wait 2 s for more GUILD_CREATEs before on_ready
        **standin.client_kwargs(),  # loopback-only connector + URL trace
    )

    @bot.tree.command(name="ping", description="Replies with pong")
    @app_commands.describe(text="Something to echo")
    async def ping(interaction: discord.Interaction, text: str | None = None) -> None:
        await interaction.response.defer()
        await interaction.followup.send(f"pong {text}" if text else "pong")

    @bot.tree.error
    async def on_tree_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        probe.errors.append(error)

    async def setup_hook() -> None:
        await bot.tree.sync()

    bot.setup_hook = setup_hook  # type: ignore[method-assign]

    @bot.event
    async def on_ready() -> None:
        probe.ready += 1

    @bot.event
    async def on_resumed() -> None:
        probe.resumed += 1

    @bot.event
    async def on_message(message: discord.Message) -> None:
        probe.messages.append(message)

    return bot


async def assert_ping_answered(standin: DiscordStandIn, text: str, *, interaction: dict[str, Any] | None = None
                               ) -> tuple[Any, Any]:
    """Send /ping text (unless ``interaction`` was already sent) and check defer + follow-up."""
    if interaction is None:
        interaction = await standin.send_interaction("ping", {"text": text})
    token = interaction["token"]
    callback = await standin.wait_for_request(
        method="POST", path=rf"^/interactions/{interaction['id']}/{re.escape(token)}/callback$", timeout=10)
    assert callback.status == 200, callback.response
    assert callback.json == {"type": 5}  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    followup = await standin.wait_for_request(
        lambda r: token in r.path and r.status == 200, method="POST", path=FOLLOWUP_PATH, timeout=10)
    assert followup.json["content"] == f"pong {text}"
    assert followup.query.get("wait") in ("1", "true")
    assert followup.time > callback.time
    return callback, followup


# ---------------------------------------------------------------------------- tests


def test_login_ready_and_command_sync() -> None:
    original_base = discord.http.Route.BASE
    original_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY

    async def body() -> None:
        async with DiscordStandIn(heartbeat_interval=1000) as standin:
            probe = Probe()
            bot = make_bot(standin, probe)
            async with standin.running(bot):
                assert discord.http.Route.BASE == standin.api_base
                assert probe.ready == 1
                assert bot.user is not None and bot.user.id == standin.bot_user_id
                assert bot.application_id == standin.application_id
                channel = bot.get_channel(standin.channel_id)
                assert isinstance(channel, discord.TextChannel)
                assert channel.guild.id == standin.guild_id

                # login and sync went through the REST stand-in
                paths = [(r.method, r.path) for r in standin.requests]
                assert ("GET", "/users/@me") in paths
                assert ("GET", "/oauth2/applications/@me") in paths
                sync = standin.find_requests(method="PUT", path=rf"^/applications/{standin.application_id}/commands$")
                assert len(sync) == 1 and sync[0].status == 200
                assert [c["name"] for c in sync[0].json] == ["ping"]
                assert sync[0].headers["Authorization"] == f"Bot {standin.token}"
                assert standin.global_commands["ping"]["options"][0]["name"] == "text"

                # one IDENTIFY with the client's intents, on a zlib-stream connection
                assert len(standin.identifies) == 1
                assert standin.identifies[0]["intents"] == discord.Intents.default().value
                conn = standin.connections[0]
                assert conn.path == "/gateway"
                assert conn.compress == discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE
                assert conn.query.get("v") == "10" and conn.query.get("encoding") == "json"
                sent = [f.t for f in standin.gateway_sent if f.op == 0]
                assert sent[:2] == ["READY", "GUILD_CREATE"]

            # everything discord.py requested stayed on 127.0.0.1
            assert standin.client_urls and all(u.startswith(f"http://127.0.0.1:{standin.port}/")
                                               or u.startswith(f"ws://127.0.0.1:{standin.port}/")
                                               for u in standin.client_urls)
            assert not standin.non_loopback_attempts
            # the gateway itself was the stand-in's, not wss://gateway.discord.gg
            assert any(u.startswith(standin.gateway_url + "?") for u in standin.client_urls)

    run(body)
    assert discord.http.Route.BASE == original_base
    assert discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY == original_gateway


def test_slash_command_defer_then_followup() -> None:
    async def body() -> None:
        async with DiscordStandIn() as standin:
            probe = Probe()
            async with standin.running(make_bot(standin, probe)):
                interaction = await standin.send_interaction("ping", {"text": "hello"})
                data = interaction["data"]
                assert data["id"] == standin.global_commands["ping"]["id"]
                assert interaction["member"]["user"]["id"] == str(standin.default_user["id"])
                callback, followup = await assert_ping_answered(standin, "hello", interaction=interaction)
                # callback answered with an InteractionCallback object (with_response=1)
                assert callback.query.get("with_response") == "1"
                assert callback.response["interaction"]["response_message_loading"] is True
                # Discord: the first follow-up after a defer edits the "thinking" message
                state = standin.interactions[interaction["id"]]
                assert followup.response["id"] == state.original_message_id
                assert standin.messages[state.original_message_id]["content"] == "pong hello"
                # the webhook follow-up carries no bot token, like on Discord
                assert "Authorization" not in followup.headers
                # a second interaction gets its own answer
                await assert_ping_answered(standin, "again")
                assert not probe.errors

    run(body)


def test_drop_connection_resumes_and_replays_missed_events() -> None:
    async def body() -> None:
        async with DiscordStandIn() as standin:
            probe = Probe()
            async with standin.running(make_bot(standin, probe)):
                session = standin.current_session
                assert session is not None
                mark = len(standin.gateway_received)

                # close frame 4000: reconnectable; hold the reconnect so an event is missed
                async with standin.gateway_paused():
                    await standin.drop_connection(4000)
                    assert not session.connected
                    missed = await standin.send_interaction("ping", {"text": "missed"})
                    missed_seq = session.seq
                resume = await standin.wait_for_gateway(op=OP_RESUME, since=mark, timeout=10)
                assert resume.d["session_id"] == session.session_id
                assert resume.d["seq"] == missed_seq - 1  # the last event the client had seen
                await standin.wait_for_sent(event="RESUMED", timeout=10)
                assert standin.resumes[-1]["ok"] and standin.resumes[-1]["replayed"] == [missed_seq]
                assert standin.connections[-1].path == "/resume-gateway"  # used resume_gateway_url
                assert len(standin.identifies) == 1  # resumed, not re-identified
                assert not [f for f in standin.gateway_received[mark:] if f.op == OP_IDENTIFY]

                await assert_ping_answered(standin, "missed", interaction=missed)
                await assert_ping_answered(standin, "after-resume")
                assert probe.resumed >= 1 and probe.ready == 1

                # an abrupt drop (no close frame) also ends in a RESUME
                mark = len(standin.gateway_received)
                await standin.drop_connection(abrupt=True)
                await standin.wait_for_gateway(op=OP_RESUME, since=mark, timeout=10)
                await assert_ping_answered(standin, "after-abrupt-drop")
                assert len(standin.identifies) == 1
                assert len(standin.connections) == 3

    run(body)


def test_rate_limited_followup_is_retried() -> None:
    async def body() -> None:
        async with DiscordStandIn() as standin:
            async with standin.running(make_bot(standin, Probe())):
                rule = standin.fail_next("POST", FOLLOWUP_PATH, status=429, retry_after=0.5)
                interaction = await standin.send_interaction("ping", {"text": "limited"})
                _, delivered = await assert_ping_answered(standin, "limited", interaction=interaction)
                assert rule.remaining == 0 and len(rule.hits) == 1
                limited = rule.hits[0]
                assert limited.status == 429 and interaction["token"] in limited.path
                assert limited.response == {"message": "You are being rate limited.", "retry_after": 0.5,
                                            "global": False}
                assert delivered.time - limited.time >= 0.45  # waited retry_after before retrying
                attempts = standin.find_requests(lambda r: interaction["token"] in r.path, method="POST",
                                                 path=FOLLOWUP_PATH)
                assert [r.status for r in attempts] == [429, 200]

    run(body)


def test_heartbeats_follow_the_interval() -> None:
    async def body() -> None:
        async with DiscordStandIn(heartbeat_interval=1000) as standin:
            async with standin.running(make_bot(standin, Probe())):
                beats = await standin.wait_for_heartbeats(4, timeout=8)
                hello = next(f for f in standin.gateway_sent if f.op == 10)
                assert hello.d["heartbeat_interval"] == 1000
                assert beats[0] - hello.time < 0.5  # discord.py beats right after HELLO
                gaps = [b - a for a, b in zip(beats[1:4], beats[2:4])] + [beats[1] - beats[0]]
                assert all(0.8 <= g <= 1.6 for g in gaps), gaps
                acks = [f for f in standin.gateway_sent if f.op == 11]
                assert len(acks) >= 4
                # heartbeats carry the last sequence number seen
                last = [f for f in standin.gateway_received if f.op == 1][-1]
                assert last.d == standin.current_session.seq

    run(body)


def test_messages_threads_channels_and_unknown_routes() -> None:
    async def body() -> None:
        async with DiscordStandIn() as standin:
            probe = Probe()
            async with standin.running(make_bot(standin, probe)) as bot:
                # default intents lack MESSAGE_CONTENT: content only arrives when the bot is mentioned
                await standin.send_message_create("hello everyone")
                await standin.send_message_create(f"<@{standin.bot_user_id}> what is up?")
                await _until(lambda: len(probe.messages) == 2)
                assert probe.messages[0].content == ""
                assert probe.messages[1].content.endswith("what is up?")
                assert bot.user in probe.messages[1].mentions
                assert probe.messages[1].channel.id == standin.channel_id

                channel = bot.get_channel(standin.channel_id)
                assert isinstance(channel, discord.TextChannel)
                sent = await channel.send("bot says hi")
                rec = await standin.wait_for_request(method="POST", path=rf"^/channels/{standin.channel_id}/messages$")
                assert rec.json["content"] == "bot says hi" and sent.id == int(rec.response["id"])

                thread = await sent.create_thread(name="follow-up")
                assert isinstance(thread, discord.Thread) and thread.id == sent.id
                assert thread.parent_id == standin.channel_id
                rec = await standin.wait_for_request(method="POST", path=rf"/messages/{sent.id}/threads$")
                assert rec.response["type"] == 11
                other = await channel.create_thread(name="standalone", type=discord.ChannelType.public_thread)
                assert other.type is discord.ChannelType.public_thread

                fetched = await bot.fetch_channel(thread.id)
                assert isinstance(fetched, discord.Thread) and fetched.name == "follow-up"
                await thread.send("inside the thread")
                await standin.wait_for_request(method="POST", path=rf"^/channels/{thread.id}/messages$")

                # unknown routes are recorded and answered with a Discord-style 404
                with pytest.raises(discord.NotFound):
                    await bot.http.request(discord.http.Route("GET", "/no/such/route"))
                miss = standin.find_requests(path=r"^/no/such/route$")
                assert miss and miss[0].status == 404 and miss[0].response == {"message": "404: Not Found",
                                                                               "code": 0}

    run(body)


def test_component_interaction_and_multipart_followup() -> None:
    class Buttons(discord.ui.View):
        def __init__(self) -> None:
            super().__init__(timeout=None)

        @discord.ui.button(label="More", custom_id="standin:more")
        async def more(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
            await interaction.response.edit_message(content="clicked", view=None)
            await interaction.followup.send("here is a file", file=discord.File(__file__, filename="t.py"),
                                            ephemeral=True)

    async def body() -> None:
        async with DiscordStandIn() as standin:
            bot = make_bot(standin, Probe())
            bot.add_view(Buttons())
            async with standin.running(bot):
                channel = bot.get_channel(standin.channel_id)
                assert isinstance(channel, discord.TextChannel)
                sent = await channel.send("choose", view=Buttons())
                stored = standin.messages[str(sent.id)]
                assert stored["components"][0]["components"][0]["custom_id"] == "standin:more"

                interaction = await standin.send_component_interaction("standin:more", sent.id)
                callback = await standin.wait_for_request(method="POST", path=rf"/interactions/{interaction['id']}/")
                assert callback.json["type"] == 7 and callback.json["data"]["content"] == "clicked"
                assert standin.messages[str(sent.id)]["content"] == "clicked"

                followup = await standin.wait_for_request(lambda r: interaction["token"] in r.path,
                                                          method="POST", path=FOLLOWUP_PATH)
                assert followup.status == 200
                assert followup.content_type.startswith("multipart/form-data")
                assert followup.json["content"] == "here is a file"  # from payload_json
                assert followup.json["flags"] & 64
                assert followup.files[0]["filename"] == "t.py" and followup.files[0]["data"].startswith(b'"""')
                assert followup.response["attachments"][0]["filename"] == "t.py"

    run(body)


def test_invalid_session_leads_to_fresh_identify() -> None:
    async def body() -> None:
        async with DiscordStandIn() as standin:
            probe = Probe()
            async with standin.running(make_bot(standin, probe)):
                first = standin.current_session
                mark_recv, mark_sent = len(standin.gateway_received), len(standin.gateway_sent)
                await standin.invalidate_session(resumable=False)
                # discord.py sleeps 5 s before a non-initial IDENTIFY
                await standin.wait_for_gateway(op=OP_IDENTIFY, since=mark_recv, timeout=12)
                await standin.wait_for_sent(event="GUILD_CREATE", since=mark_sent, timeout=5)
                assert len(standin.identifies) == 2
                assert standin.current_session is not first
                assert standin.connections[-1].path == "/gateway"  # DEFAULT_GATEWAY, patched
                await assert_ping_answered(standin, "new-session")

    run(body)


def test_zstd_stream_compression() -> None:
    pytest.importorskip("zstandard")
    if discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE != "zstd-stream":
        pytest.skip("discord.py did not pick zstd")

    async def body() -> None:
        async with DiscordStandIn() as standin:
            async with standin.running(make_bot(standin, Probe())):
                assert standin.connections[0].compress == "zstd-stream"
                await assert_ping_answered(standin, "zstd")

    run(body)


async def _until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest.fixture(autouse=True)
def _quiet_discord_logs() -> None:
    logging.getLogger("discord").setLevel(logging.WARNING)
