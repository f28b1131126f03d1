"""A local stand-in for Discord's HTTP API and gateway, for end-to-end tests.

The *real* discord.py client (2.x) logs in to it over 127.0.0.1: REST calls go
to ``api_base`` and the websocket to ``gateway_url``.  Nothing here imports
discord.py except :meth:`DiscordStandIn.patch_discord`, which points
discord.py at the stand-in for the duration of a ``with`` block.

Typical use (inside a running event loop)::

    async with DiscordStandIn(heartbeat_interval=1000) as standin:
        with standin.patch_discord():
            bot = commands.Bot(command_prefix="!", intents=discord.Intents.default(),
                               guild_ready_timeout=0.1, **standin.client_kwargs())
            await bot.login(standin.token)
            task = asyncio.create_task(bot.connect())
            ...
            await standin.send_interaction("ping", {"text": "hi"})
            req = await standin.wait_for_request(method="POST", path=r"/webhooks/")
            ...
            await bot.close()

What discord.py 2.7 does on the wire, and what the stand-in mirrors:

* ``Client.login`` -> ``GET /users/@me`` then ``GET /oauth2/applications/@me``.
* A non-sharded ``Client.connect`` does **not** call ``GET /gateway/bot``: it
  connects to the class attribute ``DiscordWebSocket.DEFAULT_GATEWAY``
  (``wss://gateway.discord.gg/``), so that attribute must be patched as well
  as ``Route.BASE`` (``patch_discord`` does both).  ``AutoShardedClient``
  does use ``GET /gateway/bot``, which is served too.
* The websocket URL carries ``?v=10&encoding=json&compress=zlib-stream``
  (or ``zstd-stream`` when ``zstandard`` / ``compression.zstd`` is importable
  on the client side).  The stand-in honours that query: one zlib compression
  context per connection, each message flushed with ``Z_SYNC_FLUSH`` (the
  client waits for the ``00 00 ff ff`` suffix), or one zstd stream per
  connection with a block flush per message.
* Interaction callbacks are ``POST /interactions/{id}/{token}/callback
  ?with_response=1`` and need an ``InteractionCallback`` JSON body back.
* A 429 is only treated as a rate limit when the response carries a ``Via``
  header and a JSON body with ``retry_after`` (otherwise discord.py assumes a
  Cloudflare ban and raises), so every response here carries ``Via``.

Discord behaviours reproduced because they catch real bugs:

* an interaction must be acknowledged within ``interaction_ack_deadline``
  seconds (3 s, like Discord) and only once (``40060`` otherwise);
* follow-ups (``POST /webhooks/{app}/{token}``) before the acknowledgement get
  ``404 Unknown Webhook``; the first follow-up after a type-5 defer edits the
  "thinking" message instead of creating a new one (its ephemeral flag is
  ignored), as Discord documents;
* without the MESSAGE_CONTENT intent a guild ``MESSAGE_CREATE`` that does not
  mention the bot arrives with empty content; without GUILD_MESSAGES /
  DIRECT_MESSAGES it is not delivered at all;
* application command bulk overwrites keep command ids stable by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import hashlib
import inspect
import itertools
import json
import re
import secrets
import socket
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import yarl
from aiohttp import web
from aiohttp.abc import AbstractResolver

__all__ = [
    "DiscordStandIn",
    "FaultRule",
    "GatewayConnection",
    "GatewayFrame",
    "GatewaySession",
    "InteractionState",
    "LoopbackOnlyResolver",
    "NonLoopbackConnection",
    "RecordedRequest",
]

DISCORD_EPOCH_MS = 1420070400000
API_VERSION = 10

# Gateway opcodes
OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE = 3
OP_VOICE_STATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

# Intents
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

# Interaction types / callback types
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_MESSAGE_COMPONENT = 3
INTERACTION_MODAL_SUBMIT = 5
CALLBACK_CHANNEL_MESSAGE = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE_MESSAGE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_MODAL = 9

MESSAGE_FLAG_EPHEMERAL = 1 << 6
MESSAGE_FLAG_LOADING = 1 << 7
MESSAGE_FLAG_HAS_THREAD = 1 << 5

# A plausible permission set for a bot / member in the test guild:
# add_reactions, view_channel, send_messages, embed_links, attach_files,
# read_message_history, use_application_commands, create_public_threads,
# send_messages_in_threads, use_external_emojis, mention_everyone (no admin).
DEFAULT_PERMISSIONS = str(
    (1 << 6) | (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16)
    | (1 << 17) | (1 << 18) | (1 << 31) | (1 << 35) | (1 << 38)
)

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

Handler = Callable[..., Any]


def _now_iso(offset: float = 0.0) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=offset)).isoformat()


def _json_dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- records


@dataclasses.dataclass
class RecordedRequest:
    """One HTTP request the client made, and what the stand-in answered."""

    method: str
    path: str  # API-relative, e.g. "/channels/1/messages" (no "/api/v10")
    raw_path: str  # as requested, e.g. "/api/v10/channels/1/messages"
    query: dict[str, str]
    headers: dict[str, str]
    json: Any  # parsed JSON body, or parsed ``payload_json`` of a multipart body
    body: bytes  # raw body (empty for multipart; see ``files`` / ``form``)
    files: list[dict[str, Any]]  # multipart file parts: name, filename, content_type, data
    form: dict[str, str]  # multipart non-file parts (text)
    time: float  # time.monotonic() when received
    wall_time: float  # time.time() when received
    status: int | None = None
    response: Any = None  # the JSON the stand-in answered (None for 204)
    fault: FaultRule | None = None  # the injected fault that answered, if any

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def __repr__(self) -> str:  # compact, for timeout messages
        return f"<{self.method} {self.path} -> {self.status}>"


@dataclasses.dataclass
class GatewayFrame:
    """One gateway payload received from, or sent to, the client."""

    op: int | None
    d: Any
    t: str | None
    s: int | None
    time: float  # time.monotonic()
    connection_id: int
    direction: str  # "recv" (client -> stand-in) or "send"

    def __repr__(self) -> str:
        name = f" {self.t}" if self.t else ""
        return f"<{self.direction} op={self.op}{name} s={self.s} conn={self.connection_id}>"


@dataclasses.dataclass
class FaultRule:
    """An injected failure; see :meth:`DiscordStandIn.fail_next`."""

    method: str
    pattern: re.Pattern[str]
    status: int
    retry_after: float
    times: int
    is_global: bool = False
    body: Any = None
    hits: list[RecordedRequest] = dataclasses.field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.times - len(self.hits)

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and self.pattern.search(path) is not None


class GatewayConnection:
    """Server side of one websocket connection."""

    def __init__(self, conn_id: int, ws: web.WebSocketResponse, request: web.Request, compress: str | None,
                 encoding: str, version: str | None, standin: DiscordStandIn) -> None:
        self.id = conn_id
        self.ws = ws
        self.request = request
        self.path = request.path
        self.query = dict(request.query)
        self.compress = compress
        self.encoding = encoding
        self.version = version
        self.opened_at = time.monotonic()
        self.closed_at: float | None = None
        self.close_code: int | None = None
        self.session: GatewaySession | None = None
        self._standin = standin
        self._lock = asyncio.Lock()
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self._zstd: Any = None
        self._zstd_flush: Any = None
        if compress == "zstd-stream":
            self._zstd, self._zstd_flush = _make_zstd_compressor()

    @property
    def closed(self) -> bool:
        return self.closed_at is not None or self.ws.closed

    async def send(self, payload: dict[str, Any]) -> None:
        raw = _json_dumps(payload)
        async with self._lock:
            if self.closed:
                raise ConnectionResetError("gateway connection is closed")
            if self._zlib is not None:
                data = self._zlib.compress(raw.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)
            elif self._zstd is not None:
                await self.ws.send_bytes(self._zstd_flush(raw.encode()))
            else:
                await self.ws.send_str(raw)
        self._standin._record_frame(self, payload, "send")

    def __repr__(self) -> str:
        return f"<GatewayConnection id={self.id} path={self.path} compress={self.compress} closed={self.closed}>"


def _make_zstd_compressor() -> tuple[Any, Callable[[bytes], bytes]]:
    try:
        import zstandard  # type: ignore

        cobj = zstandard.ZstdCompressor().compressobj()

        def flush(data: bytes) -> bytes:
            return cobj.compress(data) + cobj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)

        return cobj, flush
    except ImportError:
        from compression.zstd import ZstdCompressor  # type: ignore  # Python 3.14+

        comp = ZstdCompressor()

        def flush(data: bytes) -> bytes:
            return comp.compress(data, mode=ZstdCompressor.FLUSH_BLOCK)

        return comp, flush


@dataclasses.dataclass
class GatewaySession:
    """A gateway session (created by IDENTIFY, continued by RESUME)."""

    session_id: str
    identify: dict[str, Any]
    intents: int
    shard: list[int] | None
    seq: int = 0
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    conn: GatewayConnection | None = None
    invalidated: bool = False
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)

    @property
    def connected(self) -> bool:
        return self.conn is not None and not self.conn.closed


@dataclasses.dataclass
class InteractionState:
    """What the stand-in knows about one interaction it sent."""

    payload: dict[str, Any]
    created_at: float
    response_type: int | None = None
    callback: RecordedRequest | None = None
    original_message_id: str | None = None
    original_loading: bool = False
    followup_message_ids: list[str] = dataclasses.field(default_factory=list)

    @property
    def id(self) -> str:
        return self.payload["id"]

    @property
    def token(self) -> str:
        return self.payload["token"]

    @property
    def channel_id(self) -> str:
        return self.payload["channel_id"]


class NonLoopbackConnection(ConnectionError):
    """Raised by the client guard when discord.py tries to leave 127.0.0.1."""


class LoopbackOnlyResolver(AbstractResolver):
    """aiohttp resolver that refuses every host name except ``localhost``."""

    def __init__(self, blocked: list[str] | None = None) -> None:
        self.blocked = blocked if blocked is not None else []

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[Any]:
        if host == "localhost":
            return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET,
                     "proto": 0, "flags": socket.AI_NUMERICHOST}]
        self.blocked.append(host)
        raise NonLoopbackConnection(f"discord stand-in: refusing to resolve non-loopback host {host!r}")

    async def close(self) -> None:
        return None


class _Waiter:
    __slots__ = ("source", "pred", "future")

    def __init__(self, source: list[Any], pred: Callable[[Any], bool], future: asyncio.Future[Any]) -> None:
        self.source = source
        self.pred = pred
        self.future = future


def _error(status: int, message: str, code: int = 0, **extra: Any) -> tuple[int, dict[str, Any]]:
    body = {"message": message, "code": code}
    body.update(extra)
    return status, body


# --------------------------------------------------------------------------- the stand-in


class DiscordStandIn:
    """A local Discord (REST + gateway) on 127.0.0.1 for the real discord.py client."""

    def __init__(
        self,
        *,
        token: str | None = "standin.bot.token",
        heartbeat_interval: int = 1000,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_name: str = "Attache",
        application_flags: int = 0,
        guild_name: str = "Stand-in Guild",
        channel_name: str = "general",
        interaction_ack_deadline: float | None = 3.0,
        echo_bot_messages: bool = False,
        dispatch_thread_create: bool = True,
        enforce_intents: bool = True,
        ack_heartbeats: bool = True,
        api_version: int = API_VERSION,
    ) -> None:
        """
        token: the bot token the client must present (``Authorization: Bot <token>``
            and in IDENTIFY); ``None`` accepts any token.
        heartbeat_interval: milliseconds, sent in HELLO.
        interaction_ack_deadline: seconds within which an interaction callback must
            arrive (Discord: 3); ``None`` disables the check.
        echo_bot_messages: dispatch MESSAGE_CREATE for non-ephemeral messages the
            bot creates (channel messages, follow-ups, type-4 responses).
        dispatch_thread_create: dispatch THREAD_CREATE when the bot creates a thread.
        enforce_intents: apply Discord's intent rules to the helper-built events.
        ack_heartbeats: answer HEARTBEAT with HEARTBEAT_ACK (set False to play a zombie).
        """
        self.token = token
        self.heartbeat_interval = heartbeat_interval
        self.host = host
        self.port = port
        self.interaction_ack_deadline = interaction_ack_deadline
        self.echo_bot_messages = echo_bot_messages
        self.dispatch_thread_create = dispatch_thread_create
        self.enforce_intents = enforce_intents
        self.ack_heartbeats = ack_heartbeats
        self.api_version = api_version
        self.application_flags = application_flags

        self._snowflake_counter = itertools.count(1)
        self._conn_counter = itertools.count(1)

        # --- world state
        self.bot_user_id = self.snowflake()
        self.application_id = self.bot_user_id  # as on Discord: application id == bot user id
        self.owner_user_id = self.snowflake()
        self.guild_id = self.snowflake()
        self.channel_id = self.snowflake()
        self.users: dict[str, dict[str, Any]] = {}
        self.members: dict[str, dict[str, Any]] = {}  # guild members of the (single) guild, by user id
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.bot_user = self._add_user_payload(self.bot_user_id, bot_name, bot=True)
        self.default_user = self.add_user("tester", user_id=self.owner_user_id, global_name="Tester")
        self.guild: dict[str, Any] = {
            "id": str(self.guild_id),
            "name": guild_name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_user_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "system_channel_id": str(self.channel_id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "features": [],
            "roles": [{
                "id": str(self.guild_id),  # @everyone
                "name": "@everyone",
                "permissions": DEFAULT_PERMISSIONS,
                "position": 0,
                "color": 0,
                "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "icon": None,
                "unicode_emoji": None,
                "flags": 0,
            }],
            "emojis": [],
            "stickers": [],
        }
        self.add_text_channel(channel_name, channel_id=self.channel_id)

        # --- application commands: {name -> command}, per scope
        self.global_commands: dict[str, dict[str, Any]] = {}
        self.guild_commands: dict[str, dict[str, dict[str, Any]]] = {}
        self.command_syncs: list[dict[str, Any]] = []  # {"scope": "global"|guild_id, "payload", "time"}

        # --- interactions
        self.interactions: dict[str, InteractionState] = {}
        self._interactions_by_token: dict[str, InteractionState] = {}

        # --- recordings
        self.requests: list[RecordedRequest] = []
        self.gateway_received: list[GatewayFrame] = []
        self.gateway_sent: list[GatewayFrame] = []
        self.heartbeats: list[float] = []  # monotonic time of each HEARTBEAT received
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []  # {"d", "ok", "replayed": [seq...], "time"}
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.current_session: GatewaySession | None = None
        self.client_urls: list[str] = []  # every URL the guarded discord.py client requested
        self.non_loopback_attempts: list[str] = []

        self.faults: list[FaultRule] = []
        self._user_routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._waiters: list[_Waiter] = []
        self._gateway_open: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._routes = self._builtin_routes()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> DiscordStandIn:
        if self._runner is not None:
            return self
        self._gateway_open = asyncio.Event()
        self._gateway_open.set()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self.port = runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is None:
            return
        if self._gateway_open is not None:
            self._gateway_open.set()
        for conn in list(self.connections):
            if not conn.closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.ws.close(code=1001, message=b"stand-in stopping"), 2.0)
        for w in self._waiters:
            if not w.future.done():
                w.future.cancel()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> DiscordStandIn:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    # ------------------------------------------------------------------ addresses

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return f"{self.base_url}/api/v{self.api_version}"

    @property
    def gateway_url(self) -> str:
        """The websocket URL (also returned by GET /gateway and /gateway/bot)."""
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """The ``resume_gateway_url`` sent in READY (a distinct path, to tell resumes apart)."""
        return f"ws://{self.host}:{self.port}/resume-gateway"

    # ------------------------------------------------------------------ discord.py wiring

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[DiscordStandIn]:
        """Point discord.py at the stand-in for the ``with`` block, then restore.

        Patches ``discord.http.Route.BASE`` (REST) and
        ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (the gateway a
        non-sharded client connects to -- it does not ask GET /gateway/bot --
        and falls back to after an INVALID_SESSION).
        """
        import discord.gateway
        import discord.http

        route = discord.http.Route
        dws = discord.gateway.DiscordWebSocket
        old_base = route.__dict__["BASE"]
        old_gateway = dws.__dict__["DEFAULT_GATEWAY"]
        route.BASE = self.api_base
        dws.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield self
        finally:
            route.BASE = old_base
            dws.DEFAULT_GATEWAY = old_gateway

    @contextlib.asynccontextmanager
    async def running(self, client: Any, ready_timeout: float = 10.0) -> AsyncIterator[Any]:
        """A discord.py client logged in to the stand-in (setup_hook included) and
        connected for the block; closed, and every address checked, after it."""
        with self.patch_discord():
            connect: asyncio.Task[None] | None = None
            try:
                await client.login(self.token)
                connect = asyncio.create_task(client.connect(reconnect=True))
                ready = asyncio.create_task(client.wait_until_ready())
                done, _ = await asyncio.wait({connect, ready}, timeout=ready_timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
                if ready not in done:
                    ready.cancel()
                    if connect in done:
                        connect.result()  # raises what broke the connection
                    raise AssertionError(f"client did not become ready within {ready_timeout} s")
                yield client
            finally:
                await client.close()
                if connect is not None:
                    try:
                        await asyncio.wait_for(connect, 5)
                    except (TimeoutError, asyncio.CancelledError):
                        connect.cancel()
        self.assert_loopback_only()

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``discord.Client`` / ``commands.Bot`` that keep it on 127.0.0.1.

        Call from inside the running event loop.  Returns ``connector`` (aiohttp
        connector whose resolver refuses every host but ``localhost``) and
        ``http_trace`` (records every URL into ``client_urls`` and aborts any
        request, REST or websocket, to a non-loopback host).
        """
        return {"connector": self.make_loopback_connector(), "http_trace": self.make_trace_config()}

    def make_loopback_connector(self) -> aiohttp.TCPConnector:
        return aiohttp.TCPConnector(limit=0, resolver=LoopbackOnlyResolver(self.non_loopback_attempts))

    def make_trace_config(self) -> aiohttp.TraceConfig:
        trace = aiohttp.TraceConfig()

        async def on_request_start(session: Any, ctx: Any, params: Any) -> None:
            url = str(params.url)
            self.client_urls.append(url)
            if params.url.host not in _LOOPBACK_HOSTS:
                self.non_loopback_attempts.append(url)
                raise NonLoopbackConnection(f"discord stand-in: blocked request to non-loopback URL {url}")

        trace.on_request_start.append(on_request_start)
        return trace

    def assert_loopback_only(self) -> None:
        bad = list(self.non_loopback_attempts)
        bad += [u for u in self.client_urls if (yarl.URL(u).host or "") not in _LOOPBACK_HOSTS]
        if bad:
            raise AssertionError(f"discord.py tried to leave 127.0.0.1: {bad}")

    # ------------------------------------------------------------------ ids, users, channels

    def snowflake(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._snowflake_counter) & 0x3FFFFF)

    def _add_user_payload(self, user_id: int | str, username: str, *, bot: bool = False,
                          global_name: str | None = None) -> dict[str, Any]:
        user = {
            "id": str(user_id),
            "username": username,
            "discriminator": "0",
            "global_name": global_name,
            "avatar": None,
            "bot": bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
        }
        if bot:
            user["verified"] = True
            user["mfa_enabled"] = False
            user["locale"] = "en-US"
        self.users[str(user_id)] = user
        self.members[str(user_id)] = {
            "user": user,
            "nick": None,
            "avatar": None,
            "banner": None,
            "roles": [],
            "joined_at": _now_iso(-86400),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        return user

    def add_user(self, username: str, *, user_id: int | None = None, global_name: str | None = None,
                 bot: bool = False) -> dict[str, Any]:
        """Add a user (and guild member); returns the user payload."""
        return self._add_user_payload(user_id or self.snowflake(), username, bot=bot, global_name=global_name)

    def add_text_channel(self, name: str, *, channel_id: int | None = None, topic: str | None = None) -> dict[str, Any]:
        """Add a guild text channel (only sent to a client in later GUILD_CREATEs); returns it."""
        cid = str(channel_id or self.snowflake())
        channel = {
            "id": cid,
            "type": 0,
            "guild_id": str(self.guild_id),
            "name": name,
            "position": sum(1 for c in self.channels.values() if c["type"] == 0),
            "permission_overwrites": [],
            "parent_id": None,
            "topic": topic,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "default_auto_archive_duration": 1440,
            "default_thread_rate_limit_per_user": 0,
            "flags": 0,
        }
        self.channels[cid] = channel
        return channel

    def _user(self, user: int | str | Mapping[str, Any] | None) -> dict[str, Any]:
        if user is None:
            return self.default_user
        if isinstance(user, Mapping):
            u = dict(user)
            if str(u["id"]) not in self.users:
                self._add_user_payload(u["id"], u.get("username", f"user{u['id']}"), bot=u.get("bot", False),
                                       global_name=u.get("global_name"))
            return self.users[str(u["id"])]
        key = str(user)
        if key not in self.users:
            self._add_user_payload(key, f"user{key}")
        return self.users[key]

    def _member(self, user: dict[str, Any], *, with_user: bool = True, permissions: str | None = None) -> dict[str, Any]:
        member = dict(self.members[user["id"]])
        if not with_user:
            member.pop("user", None)
        else:
            member["user"] = user
        if permissions is not None:
            member["permissions"] = permissions
        return member

    def _dm_channel(self, user: dict[str, Any]) -> dict[str, Any]:
        for channel in self.channels.values():
            if channel["type"] == 1 and channel["recipients"][0]["id"] == user["id"]:
                return channel
        cid = str(self.snowflake())
        channel = {"id": cid, "type": 1, "last_message_id": None, "flags": 0, "recipients": [user]}
        self.channels[cid] = channel
        return channel

    def guild_create_payload(self, intents: int | None = None) -> dict[str, Any]:
        """The GUILD_CREATE payload for the test guild, as Discord would send it."""
        channels = [copy.deepcopy(c) for c in self.channels.values() if c.get("guild_id") and c["type"] not in (10, 11, 12)]
        for c in channels:
            c.pop("guild_id", None)  # absent in GUILD_CREATE channel objects
        threads = [copy.deepcopy(c) for c in self.channels.values() if c["type"] in (10, 11, 12)]
        if intents is not None and intents & INTENT_GUILD_MEMBERS:
            members = [self._member(u) for uid, u in self.users.items() if uid in self.members]
        else:
            members = [self._member(self.bot_user)]
        data = copy.deepcopy(self.guild)
        data.update({
            "unavailable": False,
            "joined_at": self.members[str(self.bot_user_id)]["joined_at"],
            "large": False,
            "member_count": len(self.members),
            "members": members,
            "channels": channels,
            "threads": threads,
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "lazy": True,
            "application_command_counts": {},
            "max_members": 500000,
            "max_video_channel_users": 25,
        })
        return data

    # ------------------------------------------------------------------ waiting

    def _append(self, source: list[Any], item: Any) -> None:
        source.append(item)
        for waiter in list(self._waiters):
            if waiter.source is not source or waiter.future.done():
                continue
            try:
                ok = waiter.pred(item)
            except Exception as exc:  # surface predicate bugs to the waiting test
                waiter.future.set_exception(exc)
                continue
            if ok:
                waiter.future.set_result(item)

    async def _wait_in(self, source: list[Any], pred: Callable[[Any], bool], timeout: float, since: int,
                       what: str) -> Any:
        for item in source[since:]:
            if pred(item):
                return item
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(source, pred, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            recent = source[max(since, len(source) - 15):]
            raise TimeoutError(f"discord stand-in: no {what} matched within {timeout}s; "
                               f"last ones seen: {recent!r}") from None
        finally:
            self._waiters.remove(waiter)

    def mark(self) -> int:
        """Current number of recorded requests; pass as ``since=`` to ignore older ones."""
        return len(self.requests)

    def find_requests(self, pred: Callable[[RecordedRequest], bool] | None = None, *, method: str | None = None,
                      path: str | None = None, since: int = 0) -> list[RecordedRequest]:
        match = self._request_matcher(pred, method, path)
        return [r for r in self.requests[since:] if match(r)]

    @staticmethod
    def _request_matcher(pred: Callable[[RecordedRequest], bool] | None, method: str | None,
                         path: str | None) -> Callable[[RecordedRequest], bool]:
        rx = re.compile(path) if path is not None else None

        def match(r: RecordedRequest) -> bool:
            if method is not None and r.method != method.upper():
                return False
            if rx is not None and not rx.search(r.path):
                return False
            return pred(r) if pred is not None else True

        return match

    async def wait_for_request(self, pred: Callable[[RecordedRequest], bool] | None = None, *,
                               method: str | None = None, path: str | None = None, timeout: float = 10.0,
                               since: int = 0) -> RecordedRequest:
        """Wait for a recorded request (already recorded ones from index ``since`` count).

        ``path`` is a regex searched in the API-relative path.  Requests are recorded
        once answered, so ``status`` / ``response`` are set.
        """
        return await self._wait_in(self.requests, self._request_matcher(pred, method, path), timeout, since,
                                   "request")

    async def wait_for_gateway(self, pred: Callable[[GatewayFrame], bool] | None = None, *, op: int | None = None,
                               timeout: float = 10.0, since: int = 0) -> GatewayFrame:
        """Wait for a payload received from the client (e.g. ``op=6`` for RESUME)."""

        def match(f: GatewayFrame) -> bool:
            return (op is None or f.op == op) and (pred is None or pred(f))

        return await self._wait_in(self.gateway_received, match, timeout, since, "gateway payload")

    async def wait_for_sent(self, pred: Callable[[GatewayFrame], bool] | None = None, *, event: str | None = None,
                            timeout: float = 10.0, since: int = 0) -> GatewayFrame:
        """Wait for a payload the stand-in sent (e.g. ``event="RESUMED"``)."""

        def match(f: GatewayFrame) -> bool:
            return (event is None or f.t == event) and (pred is None or pred(f))

        return await self._wait_in(self.gateway_sent, match, timeout, since, "sent gateway payload")

    async def wait_for_heartbeats(self, count: int, *, timeout: float = 10.0) -> list[float]:
        """Wait until ``count`` heartbeats in total have been received; returns their times."""
        await self._wait_in(self.heartbeats, lambda _: len(self.heartbeats) >= count, timeout, 0, "heartbeat")
        return list(self.heartbeats)

    async def wait_until_ready(self, *, timeout: float = 10.0) -> GatewaySession:
        """Wait until READY (and GUILD_CREATE, if the GUILDS intent is on) went out."""
        await self.wait_for_sent(event="READY", timeout=timeout)
        session = self.current_session
        assert session is not None
        if session.intents & INTENT_GUILDS:
            await self.wait_for_sent(event="GUILD_CREATE", timeout=timeout)
        return session

    # ------------------------------------------------------------------ fault injection / overrides

    def fail_next(self, method: str, path_regex: str, status: int = 429, retry_after: float = 0.5, times: int = 1,
                  *, is_global: bool = False, body: Any = None) -> FaultRule:
        """Answer the next ``times`` requests matching (method, regex searched in the
        API-relative path) with ``status``.

        429 comes with Discord's headers (Retry-After, X-RateLimit-*, Via) and body
        ``{"message": "You are being rate limited.", "retry_after": .., "global": ..}``,
        which discord.py sleeps on and retries.  Other statuses answer ``body`` or
        a Discord-style ``{"message", "code"}`` error.  ``method="*"`` matches any.
        """
        rule = FaultRule(method=method.upper(), pattern=re.compile(path_regex), status=status,
                         retry_after=retry_after, times=times, is_global=is_global, body=body)
        self.faults.append(rule)
        return rule

    def add_route(self, method: str, path_regex: str, handler: Handler) -> None:
        """Override/extend the API: ``handler(request: RecordedRequest, **groups)`` (sync or
        async) returns a dict/list (200 JSON), ``(status, json_or_None)``, or an
        ``aiohttp.web.Response``.  ``path_regex`` must fully match the API-relative
        path; later additions win over earlier ones and over built-in routes."""
        self._user_routes.insert(0, (method.upper(), re.compile(path_regex), handler))

    # ------------------------------------------------------------------ HTTP plumbing

    def _headers(self, rec: RecordedRequest | None = None) -> dict[str, str]:
        bucket = hashlib.sha1((rec.method + rec.path).encode()).hexdigest()[:16] if rec else "standin"
        return {
            "Via": "1.1 google",
            "X-RateLimit-Bucket": bucket,
            "X-RateLimit-Limit": "50",
            "X-RateLimit-Remaining": "49",
            "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
            "X-RateLimit-Reset-After": "1.000",
        }

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path in ("/gateway", "/resume-gateway", "/gateway/", "/resume-gateway/"):
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return await self._gateway_handler(request)
        return await self._http_handler(request)

    async def _http_handler(self, request: web.Request) -> web.StreamResponse:
        received = time.monotonic()
        wall = time.time()
        raw_path = request.path
        m = re.match(r"^/api(?:/v\d+)?(/.*)?$", raw_path)
        path = (m.group(1) or "/") if m else raw_path
        json_body: Any = None
        files: list[dict[str, Any]] = []
        form: dict[str, str] = {}
        body = b""
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if part is None:
                    break
                data = await part.read(decode=False)
                if part.filename is not None:
                    files.append({"name": part.name, "filename": part.filename,
                                  "content_type": part.headers.get("Content-Type"), "data": bytes(data)})
                else:
                    text = bytes(data).decode("utf-8", "replace")
                    form[part.name or ""] = text
                    if part.name == "payload_json":
                        json_body = json.loads(text)
        else:
            body = await request.read()
            if body and "json" in request.content_type:
                try:
                    json_body = json.loads(body)
                except ValueError:
                    json_body = None
        rec = RecordedRequest(
            method=request.method, path=path, raw_path=raw_path, query=dict(request.query),
            headers=dict(request.headers), json=json_body, body=body, files=files, form=form,
            time=received, wall_time=wall,
        )
        try:
            response = await self._respond(rec, is_api=m is not None)
        except Exception as exc:  # a stand-in bug must not look like a client bug
            rec.status = 500
            rec.response = {"message": f"stand-in error: {exc!r}", "code": 0}
            self._append(self.requests, rec)
            raise
        self._append(self.requests, rec)
        return response

    def _build_response(self, rec: RecordedRequest, status: int, payload: Any,
                        headers: dict[str, str] | None = None) -> web.Response:
        rec.status = status
        rec.response = payload
        hdrs = self._headers(rec)
        if headers:
            hdrs.update(headers)
        if status == 204 or payload is None:
            return web.Response(status=status, headers=hdrs)
        # exactly "application/json": discord.py's json_or_text compares the header verbatim
        hdrs["Content-Type"] = "application/json"
        return web.Response(status=status, body=_json_dumps(payload).encode(), headers=hdrs)

    def _fault_response(self, rec: RecordedRequest, rule: FaultRule) -> web.Response:
        rule.hits.append(rec)
        rec.fault = rule
        if rule.status == 429:
            body = rule.body if rule.body is not None else {
                "message": "You are being rate limited.",
                "retry_after": rule.retry_after,
                "global": rule.is_global,
            }
            headers = {
                "Retry-After": str(max(1, int(-(-rule.retry_after // 1)))),  # header is whole seconds
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + rule.retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{rule.retry_after:.3f}",
                "X-RateLimit-Scope": "global" if rule.is_global else "user",
            }
            if rule.is_global:
                headers["X-RateLimit-Global"] = "true"
            return self._build_response(rec, 429, body, headers)
        body = rule.body if rule.body is not None else {"message": f"{rule.status}: injected failure", "code": 0}
        return self._build_response(rec, rule.status, body)

    async def _respond(self, rec: RecordedRequest, *, is_api: bool) -> web.Response:
        for rule in self.faults:
            if rule.remaining > 0 and rule.matches(rec.method, rec.path):
                return self._fault_response(rec, rule)

        if not is_api:
            return self._build_response(rec, *_error(404, "404: Not Found"))

        for method, rx, handler in self._user_routes:
            if method in ("*", rec.method) and (mm := rx.fullmatch(rec.path)):
                result = handler(rec, **mm.groupdict())
                if inspect.isawaitable(result):
                    result = await result
                return self._coerce_result(rec, result)

        for method, rx, handler, needs_auth in self._routes:
            if method == rec.method and (mm := rx.fullmatch(rec.path)):
                if needs_auth and self.token is not None:
                    if rec.headers.get("Authorization") != f"Bot {self.token}":
                        return self._build_response(rec, *_error(401, "401: Unauthorized"))
                result = await handler(rec, **mm.groupdict())
                return self._coerce_result(rec, result)

        return self._build_response(rec, *_error(404, "404: Not Found"))

    def _coerce_result(self, rec: RecordedRequest, result: Any) -> web.Response:
        if isinstance(result, web.Response):
            rec.status = result.status
            return result
        if isinstance(result, tuple):
            status, payload = result
            return self._build_response(rec, status, payload)
        return self._build_response(rec, 200, result)

    def _builtin_routes(self) -> list[tuple[str, re.Pattern[str], Handler, bool]]:
        app = r"(?P<app_id>\d+)"
        tok = r"(?P<token>[^/]+)"
        cid = r"(?P<channel_id>\d+)"
        mid = r"(?P<message_id>\d+)"
        gid = r"(?P<guild_id>\d+)"
        table: list[tuple[str, str, Handler, bool]] = [
            ("GET", r"/users/@me", self._h_me, True),
            ("GET", r"/users/(?P<user_id>\d+)", self._h_user, True),
            ("GET", r"/gateway", self._h_gateway, False),
            ("GET", r"/gateway/bot", self._h_gateway_bot, True),
            ("GET", r"/oauth2/applications/@me", self._h_application, True),
            ("GET", r"/applications/@me", self._h_application, True),
            ("GET", rf"/applications/{app}/commands", self._h_get_commands, True),
            ("PUT", rf"/applications/{app}/commands", self._h_put_commands, True),
            ("POST", rf"/applications/{app}/commands", self._h_post_command, True),
            ("GET", rf"/applications/{app}/commands/(?P<command_id>\d+)", self._h_get_command, True),
            ("PATCH", rf"/applications/{app}/commands/(?P<command_id>\d+)", self._h_patch_command, True),
            ("DELETE", rf"/applications/{app}/commands/(?P<command_id>\d+)", self._h_delete_command, True),
            ("GET", rf"/applications/{app}/guilds/{gid}/commands", self._h_get_commands, True),
            ("PUT", rf"/applications/{app}/guilds/{gid}/commands", self._h_put_commands, True),
            ("POST", rf"/applications/{app}/guilds/{gid}/commands", self._h_post_command, True),
            ("GET", rf"/applications/{app}/guilds/{gid}/commands/(?P<command_id>\d+)", self._h_get_command, True),
            ("PATCH", rf"/applications/{app}/guilds/{gid}/commands/(?P<command_id>\d+)", self._h_patch_command,
             True),
            ("DELETE", rf"/applications/{app}/guilds/{gid}/commands/(?P<command_id>\d+)", self._h_delete_command,
             True),
            ("POST", rf"/interactions/(?P<interaction_id>\d+)/{tok}/callback", self._h_callback, False),
            ("POST", rf"/webhooks/{app}/{tok}", self._h_followup, False),
            ("GET", rf"/webhooks/{app}/{tok}", self._h_get_webhook, False),
            ("PATCH", rf"/webhooks/{app}/{tok}", self._h_get_webhook, False),
            ("DELETE", rf"/webhooks/{app}/{tok}", self._h_delete_webhook, False),
            ("GET", rf"/webhooks/{app}/{tok}/messages/(?P<message_id>@original|\d+)", self._h_get_wh_message, False),
            ("PATCH", rf"/webhooks/{app}/{tok}/messages/(?P<message_id>@original|\d+)", self._h_edit_wh_message,
             False),
            ("DELETE", rf"/webhooks/{app}/{tok}/messages/(?P<message_id>@original|\d+)", self._h_delete_wh_message,
             False),
            ("GET", rf"/channels/{cid}", self._h_get_channel, True),
            ("POST", rf"/channels/{cid}/messages", self._h_post_message, True),
            ("GET", rf"/channels/{cid}/messages/{mid}", self._h_get_message, True),
            ("PATCH", rf"/channels/{cid}/messages/{mid}", self._h_edit_message, True),
            ("DELETE", rf"/channels/{cid}/messages/{mid}", self._h_delete_message, True),
            ("POST", rf"/channels/{cid}/messages/{mid}/threads", self._h_thread_from_message, True),
            ("POST", rf"/channels/{cid}/threads", self._h_thread, True),
            ("POST", rf"/channels/{cid}/typing", self._h_no_content, True),
            ("PUT", rf"/channels/{cid}/messages/{mid}/reactions/(?P<emoji>[^/]+)/@me", self._h_no_content, True),
            ("DELETE", rf"/channels/{cid}/messages/{mid}/reactions/(?P<emoji>[^/]+)/@me", self._h_no_content, True),
            ("GET", rf"/guilds/{gid}", self._h_get_guild, True),
            ("GET", rf"/guilds/{gid}/channels", self._h_guild_channels, True),
            ("GET", rf"/guilds/{gid}/members/(?P<user_id>\d+)", self._h_guild_member, True),
        ]
        return [(m, re.compile(p), h, a) for m, p, h, a in table]

    # ------------------------------------------------------------------ HTTP handlers: identity

    async def _h_me(self, rec: RecordedRequest) -> Any:
        return self.bot_user

    async def _h_user(self, rec: RecordedRequest, user_id: str) -> Any:
        if user_id in self.users:
            return self.users[user_id]
        return _error(404, "Unknown User", 10013)

    async def _h_gateway(self, rec: RecordedRequest) -> Any:
        return {"url": self.gateway_url}

    async def _h_gateway_bot(self, rec: RecordedRequest) -> Any:
        return {
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000,
                                    "max_concurrency": 1},
        }

    def application_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot_user["username"],
            "icon": None,
            "description": "Discord stand-in application",
            "summary": "",
            "type": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": self.application_flags,
            "owner": self.default_user,
            "team": None,
            "bot": self.bot_user,
            "rpc_origins": [],
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "approximate_guild_count": 1,
            "integration_types_config": {"0": {}},
        }

    async def _h_application(self, rec: RecordedRequest) -> Any:
        return self.application_payload()

    # ------------------------------------------------------------------ HTTP handlers: commands

    def _command_store(self, guild_id: str | None) -> dict[str, dict[str, Any]]:
        if guild_id is None:
            return self.global_commands
        return self.guild_commands.setdefault(guild_id, {})

    @staticmethod
    def _validate_command(cmd: Any, where: str) -> str | None:
        if not isinstance(cmd, dict):
            return f"{where}: expected an object"
        name = cmd.get("name")
        ctype = cmd.get("type", 1)
        if not isinstance(name, str) or not 1 <= len(name) <= 32:
            return f"{where}.name: must be 1-32 characters"
        if ctype == 1:
            if not re.fullmatch(r"[-_\w]{1,32}", name) or name != name.lower():
                return f"{where}.name: invalid chat input command name {name!r}"
            desc = cmd.get("description", "")
            if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
                return f"{where}.description: must be 1-100 characters"
        for i, opt in enumerate(cmd.get("options") or []):
            if not isinstance(opt, dict) or not re.fullmatch(r"[-_\w]{1,32}", str(opt.get("name", ""))):
                return f"{where}.options.{i}.name: invalid"
            if not 1 <= len(str(opt.get("description", ""))) <= 100:
                return f"{where}.options.{i}.description: must be 1-100 characters"
            if opt.get("options"):
                err = DiscordStandIn._validate_command({"name": opt["name"], "type": 1,
                                                        "description": opt.get("description", ""),
                                                        "options": opt["options"]}, f"{where}.options.{i}")
                if err:
                    return err
        return None

    def _command_object(self, payload: dict[str, Any], guild_id: str | None,
                        existing: dict[str, Any] | None) -> dict[str, Any]:
        cmd = {
            "id": existing["id"] if existing else str(self.snowflake()),
            "application_id": str(self.application_id),
            "version": str(self.snowflake()),
            "type": payload.get("type", 1),
            "name": payload["name"],
            "name_localizations": payload.get("name_localizations"),
            "description": payload.get("description", ""),
            "description_localizations": payload.get("description_localizations"),
            "options": payload.get("options", []),
            "default_member_permissions": payload.get("default_member_permissions"),
            "dm_permission": payload.get("dm_permission", True),
            "nsfw": payload.get("nsfw", False),
            "contexts": payload.get("contexts"),
            "integration_types": payload.get("integration_types", [0]),
        }
        if guild_id is not None:
            cmd["guild_id"] = guild_id
        return cmd

    async def _h_get_commands(self, rec: RecordedRequest, app_id: str, guild_id: str | None = None) -> Any:
        return list(self._command_store(guild_id).values())

    async def _h_put_commands(self, rec: RecordedRequest, app_id: str, guild_id: str | None = None) -> Any:
        if app_id != str(self.application_id):
            return _error(404, "Unknown Application", 10002)
        payload = rec.json
        if not isinstance(payload, list):
            return _error(400, "Invalid Form Body", 50035)
        names: set[tuple[int, str]] = set()
        for i, cmd in enumerate(payload):
            err = self._validate_command(cmd, str(i))
            if err is None and (cmd.get("type", 1), cmd["name"]) in names:
                err = f"{i}.name: duplicate command name {cmd['name']!r}"
            if err:
                return _error(400, "Invalid Form Body", 50035, errors={"_errors": [{"message": err}]})
            names.add((cmd.get("type", 1), cmd["name"]))
        store = self._command_store(guild_id)
        old = dict(store)
        store.clear()
        for cmd in payload:
            store[cmd["name"]] = self._command_object(cmd, guild_id, old.get(cmd["name"]))
        self.command_syncs.append({"scope": guild_id or "global", "payload": payload, "time": rec.time})
        return list(store.values())

    async def _h_post_command(self, rec: RecordedRequest, app_id: str, guild_id: str | None = None) -> Any:
        err = self._validate_command(rec.json, "body")
        if err:
            return _error(400, "Invalid Form Body", 50035, errors={"_errors": [{"message": err}]})
        store = self._command_store(guild_id)
        existing = store.get(rec.json["name"])
        store[rec.json["name"]] = cmd = self._command_object(rec.json, guild_id, existing)
        return (200 if existing else 201), cmd

    def _find_command_by_id(self, guild_id: str | None, command_id: str) -> dict[str, Any] | None:
        return next((c for c in self._command_store(guild_id).values() if c["id"] == command_id), None)

    async def _h_get_command(self, rec: RecordedRequest, app_id: str, command_id: str,
                             guild_id: str | None = None) -> Any:
        cmd = self._find_command_by_id(guild_id, command_id)
        return cmd if cmd is not None else _error(404, "Unknown application command", 10063)

    async def _h_patch_command(self, rec: RecordedRequest, app_id: str, command_id: str,
                               guild_id: str | None = None) -> Any:
        cmd = self._find_command_by_id(guild_id, command_id)
        if cmd is None:
            return _error(404, "Unknown application command", 10063)
        store = self._command_store(guild_id)
        del store[cmd["name"]]
        merged = {**cmd, **(rec.json or {})}
        store[merged["name"]] = new = self._command_object(merged, guild_id, cmd)
        return new

    async def _h_delete_command(self, rec: RecordedRequest, app_id: str, command_id: str,
                                guild_id: str | None = None) -> Any:
        cmd = self._find_command_by_id(guild_id, command_id)
        if cmd is None:
            return _error(404, "Unknown application command", 10063)
        del self._command_store(guild_id)[cmd["name"]]
        return 204, None

    # ------------------------------------------------------------------ messages

    _MENTION_RX = re.compile(r"<@!?(\d+)>")

    def _make_message(self, channel_id: str, body: Mapping[str, Any], *, author: dict[str, Any] | None = None,
                      msg_type: int = 0, webhook_id: str | None = None, files: Iterable[dict[str, Any]] = (),
                      message_id: str | None = None, extra_mentions: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
        channel = self.channels.get(str(channel_id))
        guild_id = channel.get("guild_id") if channel else None
        content = body.get("content") or ""
        mentions: list[dict[str, Any]] = []
        seen: set[str] = set()
        for user in itertools.chain(extra_mentions,
                                    (self.users[u] for u in self._MENTION_RX.findall(content) if u in self.users)):
            if user["id"] not in seen:
                seen.add(user["id"])
                m = dict(user)
                if guild_id and user["id"] in self.members:
                    m["member"] = self._member(user, with_user=False)
                mentions.append(m)
        attachments = []
        for f in files:
            aid = str(self.snowflake())
            attachments.append({
                "id": aid, "filename": f["filename"], "size": len(f["data"]),
                "content_type": f.get("content_type"),
                "url": f"{self.base_url}/attachments/{channel_id}/{aid}/{f['filename']}",
                "proxy_url": f"{self.base_url}/attachments/{channel_id}/{aid}/{f['filename']}",
            })
        msg: dict[str, Any] = {
            "id": str(message_id or self.snowflake()),
            "channel_id": str(channel_id),
            "type": msg_type,
            "content": content,
            "author": author or self.bot_user,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": mentions,
            "mention_roles": [],
            "attachments": attachments,
            "embeds": list(body.get("embeds") or []),
            "components": list(body.get("components") or []),
            "pinned": False,
            "flags": int(body.get("flags") or 0),
        }
        if body.get("nonce") is not None:
            msg["nonce"] = body["nonce"]
        if guild_id:
            msg["guild_id"] = str(guild_id)
        if webhook_id:
            msg["webhook_id"] = str(webhook_id)
            msg["application_id"] = str(self.application_id)
        ref = body.get("message_reference")
        if ref and ref.get("message_id"):
            msg["message_reference"] = {"type": 0, "message_id": str(ref["message_id"]),
                                        "channel_id": str(ref.get("channel_id") or channel_id)}
            if guild_id:
                msg["message_reference"]["guild_id"] = str(guild_id)
            referenced = self.messages.get(str(ref["message_id"]))
            if referenced is not None:
                msg["referenced_message"] = referenced
            if msg_type == 0:
                msg["type"] = 19  # REPLY
        self.messages[msg["id"]] = msg
        if channel is not None:
            channel["last_message_id"] = msg["id"]
            if channel["type"] in (10, 11, 12):
                channel["message_count"] = channel.get("message_count", 0) + 1
                channel["total_message_sent"] = channel.get("total_message_sent", 0) + 1
        return msg

    def _edit_message(self, msg: dict[str, Any], body: Mapping[str, Any], files: Iterable[dict[str, Any]] = ()
                      ) -> dict[str, Any]:
        for key in ("content", "embeds", "components"):
            if key in body and body[key] is not None:
                msg[key] = body[key]
        if "flags" in body and body["flags"] is not None:
            # ephemeral and loading are not editable; keep them
            keep = msg["flags"] & (MESSAGE_FLAG_EPHEMERAL | MESSAGE_FLAG_HAS_THREAD)
            msg["flags"] = (int(body["flags"]) & ~(MESSAGE_FLAG_EPHEMERAL | MESSAGE_FLAG_LOADING)) | keep
        if "attachments" in body or files:
            kept_ids = {str(a.get("id")) for a in body.get("attachments") or []}
            msg["attachments"] = [a for a in msg["attachments"] if a["id"] in kept_ids]
            for f in files:
                aid = str(self.snowflake())
                msg["attachments"].append({
                    "id": aid, "filename": f["filename"], "size": len(f["data"]),
                    "content_type": f.get("content_type"),
                    "url": f"{self.base_url}/attachments/{msg['channel_id']}/{aid}/{f['filename']}",
                    "proxy_url": f"{self.base_url}/attachments/{msg['channel_id']}/{aid}/{f['filename']}",
                })
        msg["edited_timestamp"] = _now_iso()
        return msg

    async def _maybe_echo(self, msg: dict[str, Any]) -> None:
        if not self.echo_bot_messages or msg["flags"] & MESSAGE_FLAG_EPHEMERAL:
            return
        if msg["flags"] & MESSAGE_FLAG_LOADING:
            return
        session = self.current_session
        if session is None:
            return
        data = copy.deepcopy(msg)
        if data.get("guild_id"):
            data["member"] = self._member(self.bot_user, with_user=False)
            wanted = INTENT_GUILD_MESSAGES
        else:
            wanted = INTENT_DIRECT_MESSAGES
        if self.enforce_intents and not session.intents & wanted:
            return
        await self.dispatch("MESSAGE_CREATE", data)

    # ------------------------------------------------------------------ HTTP handlers: interactions

    async def _h_callback(self, rec: RecordedRequest, interaction_id: str, token: str) -> Any:
        state = self.interactions.get(interaction_id)
        if state is None or state.token != token:
            return _error(404, "Unknown interaction", 10062)
        if self.interaction_ack_deadline is not None and rec.time - state.created_at > self.interaction_ack_deadline:
            return _error(404, "Unknown interaction", 10062)
        if state.response_type is not None:
            return _error(400, "Interaction has already been acknowledged.", 40060)
        body = rec.json or {}
        rtype = body.get("type")
        if not isinstance(rtype, int):
            return _error(400, "Invalid Form Body", 50035)
        data = body.get("data") or {}
        if rtype == CALLBACK_MODAL:
            problem = self._modal_problem(state, data)
            if problem:
                return _error(400, problem, 50035)
        state.response_type = rtype
        state.callback = rec
        is_component = state.payload["type"] == INTERACTION_MESSAGE_COMPONENT
        interaction_obj: dict[str, Any] = {"id": state.id, "type": state.payload["type"]}
        resource: dict[str, Any] = {"type": rtype}
        msg: dict[str, Any] | None = None
        if rtype == CALLBACK_CHANNEL_MESSAGE:
            msg = self._make_message(state.channel_id, data, msg_type=20 if not is_component else 0,
                                     webhook_id=str(self.application_id), files=rec.files)
            state.original_message_id = msg["id"]
        elif rtype == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            flags = MESSAGE_FLAG_LOADING | (int(data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL)
            msg = self._make_message(state.channel_id, {"content": "", "flags": flags},
                                     msg_type=20 if not is_component else 0, webhook_id=str(self.application_id))
            state.original_message_id = msg["id"]
            state.original_loading = True
            interaction_obj["response_message_loading"] = True
        elif rtype in (CALLBACK_DEFERRED_UPDATE_MESSAGE, CALLBACK_UPDATE_MESSAGE):
            source = state.payload.get("message")
            if source is not None:
                state.original_message_id = source["id"]
                stored = self.messages.setdefault(source["id"], source)
                if rtype == CALLBACK_UPDATE_MESSAGE:
                    msg = self._edit_message(stored, data, rec.files)
        if msg is not None:
            interaction_obj["response_message_id"] = msg["id"]
            interaction_obj["response_message_ephemeral"] = bool(msg["flags"] & MESSAGE_FLAG_EPHEMERAL)
            resource["message"] = msg
            if rtype == CALLBACK_CHANNEL_MESSAGE:
                await self._maybe_echo(msg)
        if rec.query.get("with_response", "").lower() in ("1", "true"):
            return {"interaction": interaction_obj, "resource": resource}
        return 204, None

    @staticmethod
    def _modal_problem(state: InteractionState, data: Mapping[str, Any]) -> str | None:
        """Why Discord would reject this modal response (type 9), or None: not after a
        modal submit; a custom id and a title of at most 45 characters; 1 to 5 rows or
        labels holding text inputs with labels of at most 45 characters and lengths
        within 0..4000."""
        if state.payload["type"] == INTERACTION_MODAL_SUBMIT:
            return "Interaction response type not allowed for a modal submit"
        title = data.get("title")
        if not data.get("custom_id") or not isinstance(title, str) or not 0 < len(title) <= 45:
            return "Invalid Form Body: modal custom_id or title"
        rows = data.get("components") or []
        if not 1 <= len(rows) <= 5:
            return "Invalid Form Body: a modal holds 1 to 5 components"
        for row in rows:
            inner = row.get("components") if row.get("type") == 1 else [row.get("component")]
            label = row.get("label") if row.get("type") == 18 else None
            for item in inner or []:
                if not isinstance(item, dict) or item.get("type") != 4 or not item.get("custom_id"):
                    return "Invalid Form Body: modal components must be text inputs"
                label = label if label is not None else item.get("label")
                if not isinstance(label, str) or not 0 < len(label) <= 45:
                    return "Invalid Form Body: text input label"
                if not 0 <= int(item.get("min_length") or 0) <= int(item.get("max_length") or 4000) <= 4000:
                    return "Invalid Form Body: text input lengths"
        return None

    def modal_of(self, interaction: Mapping[str, Any]) -> dict[str, Any] | None:
        """The modal the client opened in response to `interaction`, if it did."""
        state = self.interactions.get(str(interaction["id"]))
        if state is None or state.response_type != CALLBACK_MODAL or state.callback is None:
            return None
        return copy.deepcopy((state.callback.json or {}).get("data") or {})

    def _webhook_state(self, app_id: str, token: str) -> InteractionState | None:
        if app_id != str(self.application_id):
            return None
        return self._interactions_by_token.get(token)

    async def _h_followup(self, rec: RecordedRequest, app_id: str, token: str) -> Any:
        state = self._webhook_state(app_id, token)
        if state is None or state.response_type is None:
            return _error(404, "Unknown Webhook", 10015)
        body = rec.json or {}
        if state.response_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE and state.original_loading:
            # Discord: the first follow-up after a type-5 defer edits the loading message
            # (ephemeral-ness stays as chosen at defer time).
            msg = self.messages[state.original_message_id]  # type: ignore[index]
            msg["flags"] &= ~MESSAGE_FLAG_LOADING
            self._edit_message(msg, body, rec.files)
            msg["edited_timestamp"] = None
            state.original_loading = False
        else:
            msg = self._make_message(state.channel_id, body, msg_type=0, webhook_id=str(self.application_id),
                                     files=rec.files)
        state.followup_message_ids.append(msg["id"])
        await self._maybe_echo(msg)
        if rec.query.get("wait", "").lower() in ("1", "true"):
            return msg
        return 204, None

    async def _h_get_webhook(self, rec: RecordedRequest, app_id: str, token: str) -> Any:
        state = self._webhook_state(app_id, token)
        if state is None:
            return _error(404, "Unknown Webhook", 10015)
        return {
            "id": str(self.application_id), "type": 3, "application_id": str(self.application_id),
            "name": self.bot_user["username"], "avatar": None, "channel_id": state.channel_id,
            "guild_id": state.payload.get("guild_id"), "token": token,
        }

    async def _h_delete_webhook(self, rec: RecordedRequest, app_id: str, token: str) -> Any:
        if self._webhook_state(app_id, token) is None:
            return _error(404, "Unknown Webhook", 10015)
        return 204, None

    def _wh_message(self, app_id: str, token: str, message_id: str) -> tuple[InteractionState | None, Any]:
        state = self._webhook_state(app_id, token)
        if state is None:
            return None, _error(404, "Unknown Webhook", 10015)
        mid = state.original_message_id if message_id == "@original" else message_id
        allowed = {state.original_message_id, *state.followup_message_ids}
        if mid is None or mid not in allowed or mid not in self.messages:
            return state, _error(404, "Unknown Message", 10008)
        return state, self.messages[mid]

    async def _h_get_wh_message(self, rec: RecordedRequest, app_id: str, token: str, message_id: str) -> Any:
        return self._wh_message(app_id, token, message_id)[1]

    async def _h_edit_wh_message(self, rec: RecordedRequest, app_id: str, token: str, message_id: str) -> Any:
        state, found = self._wh_message(app_id, token, message_id)
        if isinstance(found, tuple):
            return found
        assert state is not None
        if found["id"] == state.original_message_id and state.original_loading:
            found["flags"] &= ~MESSAGE_FLAG_LOADING
            state.original_loading = False
        return self._edit_message(found, rec.json or {}, rec.files)

    async def _h_delete_wh_message(self, rec: RecordedRequest, app_id: str, token: str, message_id: str) -> Any:
        state, found = self._wh_message(app_id, token, message_id)
        if isinstance(found, tuple):
            return found
        del self.messages[found["id"]]
        return 204, None

    # ------------------------------------------------------------------ HTTP handlers: channels, guild

    async def _h_get_channel(self, rec: RecordedRequest, channel_id: str) -> Any:
        channel = self.channels.get(channel_id)
        return channel if channel is not None else _error(404, "Unknown Channel", 10003)

    async def _h_post_message(self, rec: RecordedRequest, channel_id: str) -> Any:
        if channel_id not in self.channels:
            return _error(404, "Unknown Channel", 10003)
        body = rec.json or {}
        if not (body.get("content") or body.get("embeds") or rec.files or body.get("components")
                or body.get("sticker_ids") or body.get("poll")):
            return _error(400, "Cannot send an empty message", 50006)
        if len(body.get("content") or "") > 2000:
            return _error(400, "Invalid Form Body", 50035,
                          errors={"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                                           "message": "Must be 2000 or fewer in length."}]}})
        msg = self._make_message(channel_id, body, files=rec.files)
        await self._maybe_echo(msg)
        return msg

    async def _h_get_message(self, rec: RecordedRequest, channel_id: str, message_id: str) -> Any:
        msg = self.messages.get(message_id)
        if msg is None or msg["channel_id"] != channel_id:
            return _error(404, "Unknown Message", 10008)
        return msg

    async def _h_edit_message(self, rec: RecordedRequest, channel_id: str, message_id: str) -> Any:
        msg = self.messages.get(message_id)
        if msg is None or msg["channel_id"] != channel_id:
            return _error(404, "Unknown Message", 10008)
        return self._edit_message(msg, rec.json or {}, rec.files)

    async def _h_delete_message(self, rec: RecordedRequest, channel_id: str, message_id: str) -> Any:
        msg = self.messages.get(message_id)
        if msg is None or msg["channel_id"] != channel_id:
            return _error(404, "Unknown Message", 10008)
        del self.messages[message_id]
        return 204, None

    def _make_thread(self, parent_id: str, body: Mapping[str, Any], *, thread_id: str | None = None,
                     thread_type: int = 11) -> dict[str, Any]:
        now = _now_iso()
        thread = {
            "id": str(thread_id or self.snowflake()),
            "type": thread_type,
            "guild_id": str(self.guild_id),
            "parent_id": str(parent_id),
            "owner_id": str(self.bot_user_id),
            "name": body.get("name") or "thread",
            "last_message_id": None,
            "rate_limit_per_user": int(body.get("rate_limit_per_user") or 0),
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "flags": 0,
            "applied_tags": [],
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": int(body.get("auto_archive_duration") or 4320),
                "archive_timestamp": now,
                "locked": False,
                "invitable": bool(body.get("invitable", True)),
                "create_timestamp": now,
            },
            "member": {"id": str(thread_id or ""), "user_id": str(self.bot_user_id), "join_timestamp": now,
                       "flags": 0},
        }
        thread["member"]["id"] = thread["id"]
        self.channels[thread["id"]] = thread
        return thread

    async def _announce_thread(self, thread: dict[str, Any]) -> None:
        session = self.current_session
        if not self.dispatch_thread_create or session is None:
            return
        if self.enforce_intents and not session.intents & INTENT_GUILDS:
            return
        await self.dispatch("THREAD_CREATE", {**copy.deepcopy(thread), "newly_created": True})

    async def _h_thread_from_message(self, rec: RecordedRequest, channel_id: str, message_id: str) -> Any:
        parent = self.channels.get(channel_id)
        if parent is None:
            return _error(404, "Unknown Channel", 10003)
        if parent["type"] not in (0, 5):
            return _error(400, "Cannot execute action on this channel type", 50024)
        msg = self.messages.get(message_id)
        if msg is None or msg["channel_id"] != channel_id:
            return _error(404, "Unknown Message", 10008)
        if message_id in self.channels:
            return _error(400, "A thread has already been created for this message", 160004)
        body = rec.json or {}
        if not body.get("name"):
            return _error(400, "Invalid Form Body", 50035)
        thread = self._make_thread(channel_id, body, thread_id=message_id,
                                   thread_type=10 if parent["type"] == 5 else 11)
        msg["flags"] |= MESSAGE_FLAG_HAS_THREAD
        msg["thread"] = thread
        await self._announce_thread(thread)
        return 201, thread

    async def _h_thread(self, rec: RecordedRequest, channel_id: str) -> Any:
        parent = self.channels.get(channel_id)
        if parent is None:
            return _error(404, "Unknown Channel", 10003)
        if parent["type"] not in (0, 5):
            return _error(400, "Cannot execute action on this channel type", 50024)
        body = rec.json or {}
        if not body.get("name"):
            return _error(400, "Invalid Form Body", 50035)
        thread = self._make_thread(channel_id, body, thread_type=int(body.get("type") or 11))
        await self._announce_thread(thread)
        return 201, thread

    async def _h_no_content(self, rec: RecordedRequest, **_: str) -> Any:
        return 204, None

    async def _h_get_guild(self, rec: RecordedRequest, guild_id: str) -> Any:
        if guild_id != str(self.guild_id):
            return _error(404, "Unknown Guild", 10004)
        return self.guild

    async def _h_guild_channels(self, rec: RecordedRequest, guild_id: str) -> Any:
        if guild_id != str(self.guild_id):
            return _error(404, "Unknown Guild", 10004)
        return [c for c in self.channels.values() if c.get("guild_id") and c["type"] not in (10, 11, 12)]

    async def _h_guild_member(self, rec: RecordedRequest, guild_id: str, user_id: str) -> Any:
        if guild_id != str(self.guild_id):
            return _error(404, "Unknown Guild", 10004)
        if user_id not in self.members:
            return _error(404, "Unknown Member", 10007)
        return self._member(self.users[user_id])

    # ------------------------------------------------------------------ gateway: server

    @contextlib.asynccontextmanager
    async def gateway_paused(self) -> Any:
        """While inside, new websocket connections are held before HELLO (so events
        dispatched meanwhile must be replayed on RESUME)."""
        assert self._gateway_open is not None, "start() the stand-in first"
        self._gateway_open.clear()
        try:
            yield self
        finally:
            self._gateway_open.set()

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        assert self._gateway_open is not None
        await self._gateway_open.wait()
        ws = web.WebSocketResponse(compress=False, max_msg_size=0, autoclose=True, autoping=True, timeout=5.0)
        await ws.prepare(request)
        compress = request.query.get("compress")
        encoding = request.query.get("encoding", "json")
        conn = GatewayConnection(next(self._conn_counter), ws, request, compress, encoding,
                                 request.query.get("v"), self)
        self.connections.append(conn)
        try:
            if encoding != "json":
                await ws.close(code=4002, message=b"stand-in only speaks encoding=json")
                return ws
            if compress not in (None, "zlib-stream", "zstd-stream"):
                await ws.close(code=4000, message=b"unknown compress value")
                return ws
            await conn.send({"op": OP_HELLO, "d": {"heartbeat_interval": self.heartbeat_interval,
                                                   "_trace": ["[\"discord-standin\"]"]}, "s": None, "t": None})
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    try:
                        payload = json.loads(msg.data)
                    except ValueError:
                        await ws.close(code=4002, message=b"Error while decoding payload.")
                        break
                    await self._on_gateway_payload(conn, payload)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    await ws.close(code=4002, message=b"binary payloads are not supported")
                    break
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    break
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            conn.closed_at = time.monotonic()
            conn.close_code = ws.close_code
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
        return ws

    def _record_frame(self, conn: GatewayConnection, payload: Mapping[str, Any], direction: str) -> None:
        frame = GatewayFrame(op=payload.get("op"), d=payload.get("d"), t=payload.get("t"), s=payload.get("s"),
                             time=time.monotonic(), connection_id=conn.id, direction=direction)
        self._append(self.gateway_sent if direction == "send" else self.gateway_received, frame)

    async def _on_gateway_payload(self, conn: GatewayConnection, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        d = payload.get("d")
        if op == OP_HEARTBEAT:
            self._append(self.heartbeats, time.monotonic())
        self._record_frame(conn, payload, "recv")
        if op == OP_HEARTBEAT:
            if self.ack_heartbeats:
                await conn.send({"op": OP_HEARTBEAT_ACK})
        elif op == OP_IDENTIFY:
            await self._on_identify(conn, d or {})
        elif op == OP_RESUME:
            await self._on_resume(conn, d or {})
        elif op == OP_REQUEST_MEMBERS:
            await self._on_request_members(conn, d or {})
        # PRESENCE (3), VOICE_STATE (4), ...: recorded only

    def ready_payload(self, session: GatewaySession) -> dict[str, Any]:
        data: dict[str, Any] = {
            "v": self.api_version,
            "user": self.bot_user,
            "user_settings": {},
            "guilds": [{"id": str(self.guild_id), "unavailable": True}],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "application": {"id": str(self.application_id), "flags": self.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["local"],
            "auth": {},
            "_trace": ["[\"discord-standin\"]"],
        }
        if session.shard is not None:
            data["shard"] = session.shard
        return data

    async def _on_identify(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        if self.token is not None and d.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        intents = d.get("intents")
        if not isinstance(intents, int):
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        self.identifies.append(d)
        session = GatewaySession(session_id=secrets.token_hex(16), identify=d, intents=intents,
                                 shard=d.get("shard"))
        self.sessions[session.session_id] = session
        self.current_session = session
        async with session.lock:
            session.conn = conn
            conn.session = session
            await self._dispatch_locked(session, "READY", self.ready_payload(session))
            if intents & INTENT_GUILDS:
                await self._dispatch_locked(session, "GUILD_CREATE", self.guild_create_payload(intents))

    async def _on_resume(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        session = self.sessions.get(str(d.get("session_id")))
        record = {"d": d, "ok": False, "replayed": [], "time": time.monotonic(), "connection_id": conn.id}
        self.resumes.append(record)
        if self.token is not None and d.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if session is None or session.invalidated:
            await conn.send({"op": OP_INVALID_SESSION, "d": False})
            return
        seq = d.get("seq") or 0
        if seq > session.seq:
            await conn.ws.close(code=4007, message=b"Invalid seq.")
            return
        async with session.lock:
            old = session.conn
            session.conn = conn
            conn.session = session
            if old is not None and old is not conn and not old.closed:
                with contextlib.suppress(Exception):
                    await old.ws.close(code=4000, message=b"session resumed elsewhere")
            for event in session.events:
                if event["s"] > seq:
                    await conn.send(event)
                    record["replayed"].append(event["s"])
            await self._dispatch_locked(session, "RESUMED", {"_trace": ["[\"discord-standin\"]"]})
        record["ok"] = True
        self.current_session = session

    async def _on_request_members(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        session = conn.session
        if session is None:
            return
        query = d.get("query")
        user_ids = d.get("user_ids")
        limit = d.get("limit") or 0
        members = []
        for uid, user in self.users.items():
            if user_ids is not None:
                ids = {str(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])}
                if uid not in ids:
                    continue
            elif query and not user["username"].lower().startswith(str(query).lower()):
                continue
            members.append(self._member(user))
        if limit:
            members = members[:limit]
        data = {"guild_id": str(d.get("guild_id")), "members": members, "chunk_index": 0, "chunk_count": 1,
                "not_found": []}
        if d.get("nonce") is not None:
            data["nonce"] = d["nonce"]
        if d.get("presences"):
            data["presences"] = []
        async with session.lock:
            await self._dispatch_locked(session, "GUILD_MEMBERS_CHUNK", data)

    async def _dispatch_locked(self, session: GatewaySession, event: str, data: Any) -> int:
        session.seq += 1
        payload = {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}
        session.events.append(payload)
        conn = session.conn
        if conn is not None and not conn.closed:
            try:
                await conn.send(payload)
            except (ConnectionError, RuntimeError):
                pass  # kept in session.events; replayed on RESUME
        return session.seq

    # ------------------------------------------------------------------ gateway: test controls

    def _session(self, session: GatewaySession | None) -> GatewaySession:
        session = session or self.current_session
        if session is None:
            raise RuntimeError("discord stand-in: no client has IDENTIFYed yet")
        return session

    async def dispatch(self, event_name: str, data: Any, *, session: GatewaySession | None = None) -> int:
        """Send a DISPATCH event with the next sequence number; returns that number.

        If the client is disconnected the event is kept and replayed on RESUME.
        """
        session = self._session(session)
        async with session.lock:
            return await self._dispatch_locked(session, event_name, data)

    async def send_op(self, op: int, d: Any = None, *, session: GatewaySession | None = None) -> None:
        """Send a raw non-dispatch opcode to the current connection."""
        conn = self._session(session).conn
        if conn is None or conn.closed:
            raise RuntimeError("discord stand-in: client is not connected")
        await conn.send({"op": op, "d": d})

    async def request_reconnect(self, *, session: GatewaySession | None = None) -> None:
        """Send op 7 RECONNECT; discord.py closes and RESUMEs."""
        await self.send_op(OP_RECONNECT, None, session=session)

    async def invalidate_session(self, resumable: bool = False, *, session: GatewaySession | None = None) -> None:
        """Send op 9 INVALID_SESSION.  ``resumable=False`` kills the session, so the
        client re-IDENTIFYs (discord.py waits 5 s before a non-initial IDENTIFY)."""
        session = self._session(session)
        if not resumable:
            session.invalidated = True
        await self.send_op(OP_INVALID_SESSION, resumable, session=session)

    async def drop_connection(self, code: int = 4000, *, abrupt: bool = False,
                              session: GatewaySession | None = None) -> GatewayConnection:
        """Close the current session's websocket so the client reconnects and RESUMEs.

        ``abrupt=True`` aborts the TCP connection without a close frame (like a network
        drop, 1006); otherwise a close frame with ``code`` (4000: reconnectable) is sent.
        """
        conn = self._session(session).conn
        if conn is None or conn.closed:
            raise RuntimeError("discord stand-in: client is not connected")
        conn.closed_at = time.monotonic()  # stop sending on it right away
        if abrupt:
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
            conn.close_code = 1006
        else:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=code, message=b"stand-in drop"), 5.0)
            conn.close_code = code
        return conn

    # ------------------------------------------------------------------ gateway: event builders

    def _channel_for(self, channel_id: int | str | None, guild: bool) -> dict[str, Any]:
        cid = str(channel_id or self.channel_id)
        channel = self.channels.get(cid)
        if channel is None:
            raise KeyError(f"discord stand-in: unknown channel {cid}; add it with add_text_channel()")
        return channel

    def _registered_command(self, name: str, command_type: int, guild_id: str | None
                            ) -> tuple[dict[str, Any] | None, str | None]:
        if guild_id is not None:
            cmd = self.guild_commands.get(guild_id, {}).get(name)
            if cmd is not None and cmd.get("type", 1) == command_type:
                return cmd, guild_id
        cmd = self.global_commands.get(name)
        if cmd is not None and cmd.get("type", 1) == command_type:
            return cmd, None
        return None, None

    @staticmethod
    def _normalize_options(options: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
        if options is None:
            return []
        if isinstance(options, Mapping):
            out = []
            for name, value in options.items():
                if isinstance(value, bool):
                    otype = 5
                elif isinstance(value, int):
                    otype = 4
                elif isinstance(value, float):
                    otype = 10
                else:
                    otype = 3
                out.append({"name": name, "type": otype, "value": value})
            return out
        return [dict(o) for o in options]

    def _base_interaction(self, itype: int, *, user_id: int | str | None, channel_id: int | str | None,
                          dm: bool, locale: str, app_permissions: str | None,
                          member_permissions: str | None) -> dict[str, Any]:
        user = self._user(user_id)
        iid = str(self.snowflake())
        payload: dict[str, Any] = {
            "id": iid,
            "application_id": str(self.application_id),
            "type": itype,
            "token": "standin-" + secrets.token_urlsafe(48),
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "app_permissions": app_permissions or DEFAULT_PERMISSIONS,
        }
        if dm:
            channel = self._dm_channel(user)
            payload.update({
                "channel_id": channel["id"],
                "channel": copy.deepcopy(channel),
                "user": user,
                "context": 1,
                "authorizing_integration_owners": {"0": str(self.guild_id)},
            })
        else:
            channel = self._channel_for(channel_id, guild=True)
            ch = copy.deepcopy(channel)
            ch["permissions"] = member_permissions or DEFAULT_PERMISSIONS
            payload.update({
                "guild_id": str(self.guild_id),
                "guild": {"id": str(self.guild_id), "locale": self.guild["preferred_locale"],
                          "features": list(self.guild["features"])},
                "guild_locale": self.guild["preferred_locale"],
                "channel_id": channel["id"],
                "channel": ch,
                "member": self._member(user, permissions=member_permissions or DEFAULT_PERMISSIONS),
                "context": 0,
                "authorizing_integration_owners": {"0": str(self.guild_id)},
            })
        return payload

    def build_interaction(self, command_name: str, options: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None
                          = None, *, user_id: int | str | None = None, channel_id: int | str | None = None,
                          guild_id: int | str | None = None, dm: bool = False, command_type: int = 1,
                          command_id: int | str | None = None, resolved: Mapping[str, Any] | None = None,
                          target_id: int | str | None = None, locale: str = "en-US",
                          app_permissions: str | None = None, member_permissions: str | None = None
                          ) -> dict[str, Any]:
        """Build (without sending) an APPLICATION_COMMAND interaction payload.

        ``options``: ``{"name": value}`` (types inferred: str 3, int 4, bool 5, float 10)
        or a list of raw Discord option objects (for subcommands, mentions, ...).
        The command id (and ``data.guild_id`` for guild commands) comes from the
        commands the client synced; unknown commands get a fresh id.
        ``guild_id`` only picks which guild's commands to look in (the stand-in has one guild).
        """
        payload = self._base_interaction(INTERACTION_APPLICATION_COMMAND, user_id=user_id, channel_id=channel_id,
                                         dm=dm, locale=locale, app_permissions=app_permissions,
                                         member_permissions=member_permissions)
        scope = None if dm else str(guild_id or self.guild_id)
        cmd, cmd_guild = self._registered_command(command_name, command_type, scope)
        data: dict[str, Any] = {
            "id": str(command_id or (cmd["id"] if cmd else self.snowflake())),
            "name": command_name,
            "type": command_type,
        }
        opts = self._normalize_options(options)
        if opts or command_type == 1:
            data["options"] = opts
        if cmd_guild is not None:
            data["guild_id"] = cmd_guild
        if resolved:
            data["resolved"] = dict(resolved)
        if target_id is not None:
            data["target_id"] = str(target_id)
        payload["data"] = data
        return payload

    async def send_interaction_payload(self, payload: dict[str, Any], *,
                                       session: GatewaySession | None = None) -> dict[str, Any]:
        """Register any interaction payload (so callbacks/follow-ups are accepted) and
        dispatch it as INTERACTION_CREATE."""
        state = InteractionState(payload=payload, created_at=time.monotonic())
        self.interactions[payload["id"]] = state
        self._interactions_by_token[payload["token"]] = state
        await self.dispatch("INTERACTION_CREATE", payload, session=session)
        return payload

    async def send_interaction(self, command_name: str,
                               options: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None = None, *,
                               user_id: int | str | None = None, channel_id: int | str | None = None,
                               guild_id: int | str | None = None, dm: bool = False, **kwargs: Any
                               ) -> dict[str, Any]:
        """Dispatch a slash-command INTERACTION_CREATE (see :meth:`build_interaction`);
        returns the payload (``["id"]``, ``["token"]`` identify it in recorded requests)."""
        payload = self.build_interaction(command_name, options, user_id=user_id, channel_id=channel_id,
                                         guild_id=guild_id, dm=dm, **kwargs)
        return await self.send_interaction_payload(payload)

    async def send_component_interaction(self, custom_id: str, message_id: int | str | None = None, *,
                                         component_type: int = 2, values: list[str] | None = None,
                                         user_id: int | str | None = None, channel_id: int | str | None = None,
                                         dm: bool = False, message: Mapping[str, Any] | None = None,
                                         locale: str = "en-US") -> dict[str, Any]:
        """Dispatch a MESSAGE_COMPONENT (type 3) INTERACTION_CREATE for a button
        (``component_type=2``) or select (3, 5-8, with ``values``) on a message.

        The message is the stored one with ``message_id`` (any message the bot sent
        through the stand-in), ``message`` if given, or a minimal bot message.
        """
        if message is None and message_id is not None:
            message = self.messages.get(str(message_id))
        if message is None:
            cid = str(channel_id or self.channel_id)
            message = self._make_message(cid, {"content": ""}, message_id=str(message_id) if message_id else None)
        message = copy.deepcopy(dict(message))
        payload = self._base_interaction(INTERACTION_MESSAGE_COMPONENT, user_id=user_id,
                                         channel_id=channel_id or message["channel_id"], dm=dm, locale=locale,
                                         app_permissions=None, member_permissions=None)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if component_type != 2:
            data["values"] = list(values or [])
        payload["data"] = data
        payload["message"] = message
        return await self.send_interaction_payload(payload)

    async def send_modal_submit(self, modal: Mapping[str, Any], values: Mapping[str, str], *,
                                user_id: int | str | None = None, channel_id: int | str | None = None,
                                message: Mapping[str, Any] | None = None, locale: str = "en-US"
                                ) -> dict[str, Any]:
        """Dispatch a MODAL_SUBMIT (type 5) INTERACTION_CREATE for `modal` (as returned by
        :meth:`modal_of`), with `values` by text input custom id. Its components keep the
        modal's layout (action rows or labels), each text input with its `value`; inputs
        not in `values` are submitted empty."""
        payload = self._base_interaction(INTERACTION_MODAL_SUBMIT, user_id=user_id,
                                         channel_id=channel_id, dm=False, locale=locale,
                                         app_permissions=None, member_permissions=None)

        def submitted(item: Mapping[str, Any]) -> dict[str, Any]:
            return {"type": 4, "id": item.get("id", 0), "custom_id": item["custom_id"],
                    "value": str(values.get(item["custom_id"], ""))}

        components = []
        for row in modal.get("components") or []:
            if row.get("type") == 18:
                components.append({"type": 18, "id": row.get("id", 0),
                                   "component": submitted(row["component"])})
            else:
                components.append({"type": 1, "id": row.get("id", 0),
                                   "components": [submitted(c) for c in row.get("components", [])]})
        payload["data"] = {"custom_id": modal["custom_id"], "components": components}
        if message is not None:
            payload["message"] = copy.deepcopy(dict(message))
        return await self.send_interaction_payload(payload)

    async def send_message_create(self, content: str, channel_id: int | str | None = None,
                                  author: int | str | Mapping[str, Any] | None = None,
                                  mentions: Iterable[int | str | Mapping[str, Any]] = (), *, dm: bool = False,
                                  message_id: int | str | None = None, reply_to: int | str | None = None,
                                  attachments: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
        """Store a user message and dispatch MESSAGE_CREATE; returns the stored (full) message.

        ``author``: user id, user dict, or None for ``default_user``.  ``mentions``:
        user ids / dicts (``<@id>`` in ``content`` are added automatically).
        With ``enforce_intents``, Discord's rules apply to what is *sent*: no
        GUILD_MESSAGES / DIRECT_MESSAGES intent -> nothing is dispatched; no
        MESSAGE_CONTENT intent and the bot not mentioned (guild) -> content,
        embeds, attachments and components are emptied.
        """
        user = self._user(author)
        if dm:
            channel = self._dm_channel(user)
        else:
            channel = self._channel_for(channel_id, guild=True)
        body: dict[str, Any] = {"content": content}
        if reply_to is not None:
            body["message_reference"] = {"message_id": str(reply_to)}
        extra_mentions = [self._user(m) for m in mentions]
        msg = self._make_message(channel["id"], body, author=user, message_id=str(message_id) if message_id else None,
                                 extra_mentions=extra_mentions)
        if attachments:
            msg["attachments"] = attachments
        msg.update(extra)
        session = self._session(None)
        data = copy.deepcopy(msg)
        if not dm:
            data["member"] = self._member(user, with_user=False)
        if self.enforce_intents:
            wanted = INTENT_DIRECT_MESSAGES if dm else INTENT_GUILD_MESSAGES
            if not session.intents & wanted:
                return msg
            mentioned = any(m["id"] == str(self.bot_user_id) for m in msg["mentions"])
            if (not dm and not mentioned and user["id"] != str(self.bot_user_id)
                    and not session.intents & INTENT_MESSAGE_CONTENT):
                data.update({"content": "", "embeds": [], "attachments": [], "components": []})
                data.pop("poll", None)
        await self.dispatch("MESSAGE_CREATE", data, session=session)
        return msg
