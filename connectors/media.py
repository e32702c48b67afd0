"""Fetching a provider's media safely: allowed hosts only, public addresses only, capped.

A media URL comes from a provider payload or API answer, so it is treated as hostile: every
hop (the first URL and each redirect) must be on an allowed host, resolve only to public
addresses, and the connection goes to the address that was checked (no DNS rebinding).
The one exception is the configured `api_base_url` origin (scheme, host and port exactly),
which an admin chose, so tests and on-premise proxies may run it on loopback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import Message as HeaderParser
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

REDIRECTS = (301, 302, 303, 307, 308)


class MediaError(Exception):
    """The media could not be fetched."""


class MediaRefused(MediaError):
    """Fetching it is not allowed or cannot succeed (host, address, size, 4xx)."""


class MediaUnavailable(MediaError):
    """A failure worth retrying later (timeout, connection error, 5xx)."""


@dataclass(frozen=True)
class FetchedMedia:
    data: bytes
    content_type: str
    filename: str | None = None


@dataclass(frozen=True)
class Origin:
    """scheme://host:port, the unit the trusted exception is granted to."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
        return cls(scheme, (parts.hostname or "").lower(), port)


class MediaFetcher:
    """Downloads media from allowed hosts, refusing private addresses on every hop."""

    def __init__(
        self,
        *,
        max_bytes: int,
        allowed_hosts: Iterable[str] = (),
        trusted_origin: str | None = None,
        timeout: float = 20.0,
        max_redirects: int = 3,
    ) -> None:
        self.max_bytes = max_bytes
        # A host is allowed when it equals an entry or is a subdomain of it.
        self.allowed_hosts = tuple(h.lower().lstrip(".") for h in allowed_hosts)
        self.trusted = Origin.of(trusted_origin) if trusted_origin else None
        self.timeout = timeout
        self.max_redirects = max_redirects

    async def fetch(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        credential_hosts: Iterable[str] = (),
    ) -> FetchedMedia:
        """GET `url`; `headers` (credentials) go only to hops on `credential_hosts`."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._follow(url, dict(headers or {}), set(credential_hosts))
        except TimeoutError as exc:
            raise MediaUnavailable(f"media download took longer than {self.timeout:g} s") from exc

    async def _follow(
        self, url: str, headers: dict[str, str], credential_hosts: set[str]
    ) -> FetchedMedia:
        async with httpx.AsyncClient(follow_redirects=False, timeout=self.timeout) as client:
            for _ in range(self.max_redirects + 1):
                origin = Origin.of(url)
                # Credentials never travel in clear text, except to the configured API origin.
                secure = origin.scheme == "https" or origin == self.trusted
                hop_headers = headers if secure and origin.host in credential_hosts else {}
                request = await self._request(client, url, origin, hop_headers)
                try:
                    response = await client.send(request, stream=True)
                except httpx.HTTPError as exc:
                    raise MediaUnavailable(f"media download failed: {type(exc).__name__}") from exc
                try:
                    if response.status_code in REDIRECTS and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    return await self._read(response)
                finally:
                    await response.aclose()
        raise MediaRefused(f"more than {self.max_redirects} redirects")

    async def _request(
        self, client: httpx.AsyncClient, url: str, origin: Origin, headers: dict[str, str]
    ) -> httpx.Request:
        if origin.scheme not in ("http", "https") or not origin.host:
            raise MediaRefused("media URL must be http(s) with a host")
        if origin == self.trusted:
            return client.build_request("GET", url, headers=headers)
        if not self._allowed(origin.host):
            raise MediaRefused(f"media host {origin.host!r} is not one of the provider's")
        address = await public_address(origin.host, origin.port)
        # Connect to the address we checked, so a second DNS answer cannot point elsewhere.
        parts = urlsplit(url)
        netloc = f"[{address}]" if ":" in address else address
        pinned = urlunsplit(
            (parts.scheme, f"{netloc}:{origin.port}", parts.path or "/", parts.query, "")
        )
        request = client.build_request("GET", pinned, headers={**headers, "Host": parts.netloc})
        request.extensions["sni_hostname"] = origin.host
        return request

    def _allowed(self, host: str) -> bool:
        return any(host == h or host.endswith("." + h) for h in self.allowed_hosts)

    async def _read(self, response: httpx.Response) -> FetchedMedia:
        status = response.status_code
        if status >= 500 or status == 429:
            raise MediaUnavailable(f"media host answered {status}")
        if status != 200:
            raise MediaRefused(f"media host answered {status}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise MediaRefused(f"media is larger than {self.max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise MediaRefused(f"media is larger than {self.max_bytes} bytes")
            chunks.append(chunk)
        content_type = response.headers.get("content-type", "application/octet-stream")
        return FetchedMedia(
            b"".join(chunks),
            content_type.split(";")[0].strip(),
            _filename(response.headers.get("content-disposition")),
        )


async def public_address(host: str, port: int) -> str:
    """The host's first address, refusing it if any address is private, loopback or local."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise MediaUnavailable(f"cannot resolve media host {host!r}") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise MediaUnavailable(f"cannot resolve media host {host!r}")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            raise MediaRefused(f"media host {host!r} resolves to a non-public address")
    return addresses[0]


def _filename(disposition: str | None) -> str | None:
    if not disposition:
        return None
    parser = HeaderParser()
    parser["content-disposition"] = disposition
    return parser.get_filename()
