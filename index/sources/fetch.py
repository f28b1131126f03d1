"""Fetching pages and feeds from the web, safely.

- Only `http` and `https` URLs, without credentials in them.
- The host name is resolved here, every address it resolves to is checked, and the
  connection is made to the checked address (the `Host` header and the TLS server name
  stay the host name, so certificates are verified as usual). A name that resolves to a
  public address once and a private one the next time (DNS rebinding) cannot slip
  through: the name is never resolved a second time for the same request.
- Private, loopback, link-local, multicast and otherwise non-public addresses are
  refused unless allowed (`ATTACHE_FETCH_ALLOW_PRIVATE=true`, or `allow_networks`).
- Redirects are followed by hand, at most `MAX_REDIRECTS`, each one checked like the
  first request.
- One deadline for the whole fetch, a size cap (the declared length and the bytes
  actually read), a content-type allow list, a per-host pause between requests, and a
  User-Agent that names Attaché.

Every failure is a `FetchFailed` with a short reason meant for people.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from attache.index.settings import Settings

MAX_REDIRECTS = 5
REDIRECT_STATUSES = {301, 302, 303, 307, 308}

# MIME types accepted for each kind of resource
CONTENT_TYPES: dict[str, frozenset[str]] = {
    "html": frozenset({"text/html", "application/xhtml+xml"}),
    "pdf": frozenset({"application/pdf", "application/x-pdf"}),
    "text": frozenset({"text/plain", "text/markdown", "text/x-markdown"}),
    "feed": frozenset({
        "application/rss+xml", "application/atom+xml", "application/rdf+xml",
        "application/xml", "text/xml", "application/x-rss+xml",
    }),
}
ARTICLE_KINDS = ("html", "pdf", "text")
FEED_KINDS = ("feed",)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> the addresses the name resolves to
Resolver = Callable[[str, int], list[str]]


def user_agent() -> str:
    from attache import __version__

    return f"Attache/{__version__} (Attache question-answering bot; fetches articles its users add)"


class FetchFailed(Exception):
    """A URL that was not fetched, and why (a short reason for people)."""

    def __init__(self, reason: str, transient: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient  # worth trying again later (timeouts, 5xx, no route)


class NotModified(FetchFailed):
    """A conditional GET answered 304: nothing changed since the validators were given."""

    def __init__(self) -> None:
        super().__init__("not modified since the last fetch")


# Response headers that make the next GET of the same URL conditional, and the request
# headers that send them back.
VALIDATORS = {"etag": "If-None-Match", "last-modified": "If-Modified-Since"}
MAX_VALIDATOR = 256


@dataclass(frozen=True)
class Fetched:
    """A response accepted for use."""

    url: str  # the final URL, after redirects
    requested: str
    kind: str  # html, pdf, text or feed
    content_type: str
    charset: str | None
    body: bytes
    # "etag" / "last-modified" as the server sent them, for a conditional GET next time
    validators: dict[str, str] = field(default_factory=dict)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%")[0]
        if address not in seen:
            seen.append(address)
    return seen


def address_problem(address: IPAddress) -> str | None:
    """Why `address` is not a public one ('a loopback address'), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return address_problem(embedded)
        if address.teredo is not None:
            return address_problem(address.teredo[1])
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


class HostRateLimiter:
    """At most one request per `interval` seconds to each host. Thread-safe: a slot is
    reserved under the lock, the wait happens outside it."""

    def __init__(
        self,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str) -> float:
        """Wait for `host`'s turn; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next.get(host, now))
            self._next[host] = start + self.interval
            if len(self._next) > 4096:  # forget hosts whose turn has long come
                self._next = {h: t for h, t in self._next.items() if t > now}
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return max(delay, 0.0)


def _format_mb(n: int) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:.1f} MB" if mb >= 1 else f"{max(n // 1024, 1)} KB"


def _media_type(header: str) -> tuple[str, str | None]:
    """('text/html', 'utf-8') from 'text/html; charset=UTF-8'."""
    parts = [p.strip() for p in header.split(";")]
    charset = None
    for param in parts[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'").lower()[:40]
    return parts[0].lower(), charset


def _sniff(body: bytes) -> str | None:
    """The kind of a body sent without a useful content type."""
    head = body[:1024].lstrip().lower()
    if head.startswith(b"%pdf-"):
        return "pdf"
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if head.startswith(b"<?xml") or head.startswith((b"<rss", b"<feed", b"<rdf")):
        return "feed"
    return None


def short_error(exc: BaseException, limit: int = 120) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class Fetcher:
    """Fetches one URL at a time per call; safe to share between threads."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        max_bytes: int = 10 * 1024 * 1024,
        allow_private: bool = False,
        allow_networks: Iterable[str] = (),
        host_interval: float = 1.0,
        resolver: Resolver | None = None,
        limiter: HostRateLimiter | None = None,
        agent: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.allow_networks: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in allow_networks
        )
        self.resolver = resolver or system_resolver
        self.limiter = limiter or HostRateLimiter(host_interval)
        self.agent = agent or user_agent()
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> Fetcher:
        values: dict[str, Any] = {
            "timeout": settings.fetch_timeout,
            "max_bytes": settings.fetch_max_bytes,
            "allow_private": settings.fetch_allow_private,
            "host_interval": settings.fetch_host_interval,
        }
        values.update(options)
        return cls(**values)

    @property
    def client(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(
                    follow_redirects=False,
                    trust_env=False,  # a proxy would connect to addresses never checked here
                    timeout=httpx.Timeout(self.timeout),
                    headers={"Accept-Encoding": "gzip, deflate"},
                )
            return self._client

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # ------------------------------------------------------------------ checks

    def _allowed(self, address: IPAddress) -> str | None:
        """Why connecting to `address` is refused, or None."""
        if self.allow_private:
            return None
        if any(address in network for network in self.allow_networks):
            return None
        return address_problem(address)

    def _addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for `host`, every one of them checked."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            found = [str(literal)]
        else:
            try:
                found = self.resolver(host, port)
            except (OSError, UnicodeError) as exc:
                raise FetchFailed(
                    f"could not resolve {host}: {short_error(exc)}", transient=True
                ) from None
            if not found:
                raise FetchFailed(f"could not resolve {host}", transient=True)
        for text in found:
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                raise FetchFailed(f"{host} resolved to an invalid address") from None
            problem = self._allowed(address)
            if problem:
                shown = host if literal is not None else f"{host} ({address})"
                raise FetchFailed(
                    f"refused: {shown} is {problem} "
                    "(set ATTACHE_FETCH_ALLOW_PRIVATE=true to allow it)"
                )
        return found

    def _parse(self, url: str) -> httpx.URL:
        import httpx

        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise FetchFailed(f"not a valid URL: {short_error(exc)}") from None
        if parsed.scheme not in ("http", "https"):
            raise FetchFailed("only http and https URLs are fetched")
        if not parsed.raw_host:
            raise FetchFailed("the URL has no host")
        if parsed.userinfo:
            raise FetchFailed("URLs with a user name or password are not fetched")
        return parsed.copy_with(fragment=None)

    # ------------------------------------------------------------------- fetch

    def fetch(self, url: str, kinds: Iterable[str] = ARTICLE_KINDS,
              validators: dict[str, str] | None = None) -> Fetched:
        """GET `url` and return the accepted response, or raise FetchFailed. With the
        `validators` of an earlier response (`Fetched.validators`), the GET is conditional
        and a 304 raises NotModified."""
        import httpx

        kinds = tuple(kinds)
        conditional = {
            VALIDATORS[name]: value for name, value in (validators or {}).items()
            if name in VALIDATORS and _valid_header(value)
        }
        deadline = time.monotonic() + self.timeout
        current = self._parse(url.strip())
        try:
            for hop in range(MAX_REDIRECTS + 1):
                host = current.raw_host.decode("ascii")
                port = current.port or (443 if current.scheme == "https" else 80)
                address = self._addresses(host, port)[0]
                self.limiter.wait(host)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise FetchFailed(f"timed out after {self.timeout:g} s", transient=True)
                request = self.client.build_request(
                    "GET",
                    current.copy_with(host=address),
                    headers={
                        "Host": current.netloc.decode("ascii"),
                        "User-Agent": self.agent,
                        "Accept": _accept_header(kinds),
                        **conditional,
                    },
                    extensions={"sni_hostname": host},
                    timeout=httpx.Timeout(remaining),
                )
                response = self.client.send(request, stream=True)
                try:
                    location = response.headers.get("location")
                    if response.status_code in REDIRECT_STATUSES and location:
                        if hop == MAX_REDIRECTS:
                            raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")
                        try:
                            current = self._parse(str(current.join(location.strip())))
                        except httpx.InvalidURL:
                            raise FetchFailed("redirected to an invalid URL") from None
                        continue
                    if response.status_code == 304 and conditional:
                        raise NotModified()
                    return self._accept(url, current, response, kinds, deadline)
                finally:
                    response.close()
        except httpx.TimeoutException:
            raise FetchFailed(f"timed out after {self.timeout:g} s", transient=True) from None
        except httpx.HTTPError as exc:
            raise FetchFailed(f"could not fetch: {short_error(exc)}", transient=True) from None
        except OSError as exc:
            raise FetchFailed(f"could not connect: {short_error(exc)}", transient=True) from None
        raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")  # pragma: no cover

    def _accept(
        self,
        requested: str,
        url: httpx.URL,
        response: httpx.Response,
        kinds: tuple[str, ...],
        deadline: float,
    ) -> Fetched:
        if response.status_code != 200:
            phrase = response.reason_phrase or ""
            status = response.status_code
            raise FetchFailed(
                f"HTTP {status} {phrase}".strip(), transient=status >= 500 or status == 429
            )
        mime, charset = _media_type(response.headers.get("content-type", ""))
        kind = next((k for k in kinds if mime in CONTENT_TYPES[k]), None)
        sniff = kind is None and mime in ("", "application/octet-stream", "binary/octet-stream")
        if kind is None and not sniff:
            wanted = "a feed (RSS or Atom)" if kinds == FEED_KINDS else "HTML, PDF or plain text"
            raise FetchFailed(f"unsupported content type {mime!r}: expected {wanted}"[:200])
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchFailed(
                f"too large: {_format_mb(int(declared))}, more than the "
                f"{_format_mb(self.max_bytes)} limit (ATTACHE_FETCH_MAX_MB)"
            )
        body = bytearray()
        for piece in response.iter_bytes():
            body.extend(piece)
            if len(body) > self.max_bytes:
                raise FetchFailed(
                    f"too large: more than the {_format_mb(self.max_bytes)} limit "
                    "(ATTACHE_FETCH_MAX_MB)"
                )
            if time.monotonic() > deadline:
                raise FetchFailed(f"timed out after {self.timeout:g} s", transient=True)
        if sniff:
            kind = _sniff(bytes(body))
            if kind not in kinds:
                raise FetchFailed("unsupported content: not HTML, PDF, plain text or a feed")
        assert kind is not None
        return Fetched(
            url=str(url), requested=requested, kind=kind, content_type=mime,
            charset=charset, body=bytes(body),
            validators={name: response.headers[name] for name in VALIDATORS
                        if _valid_header(response.headers.get(name, ""))},
        )


def _valid_header(value: str) -> bool:
    """A validator worth sending back: short, printable, one line."""
    return 0 < len(value) <= MAX_VALIDATOR and value.isprintable()


def _accept_header(kinds: tuple[str, ...]) -> str:
    if kinds == FEED_KINDS:
        return "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9"
    return "text/html, application/xhtml+xml, application/pdf, text/plain;q=0.8"
