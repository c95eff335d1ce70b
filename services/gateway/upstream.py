"""The services behind the gateway, and the one way the gateway calls them.

Every call goes through `Upstreams.request`: it signs the caller's identity for the service it
is meant for (shared/identity.py: audience, method, path and query, body hash, the conditional
headers), sends it over a pooled httpx client of that service, and turns a service that is
down or slow into `ServiceUnavailable` (503 Problem+JSON) naming the service, so the other
services keep working. The gateway's proxy, its merged feed and history, and its admin
fan-out all use it; tests give each service an `httpx.WSGITransport` of its Flask app instead
of a socket.

Environment: GOALS_URL, PLANS_URL, REPORTS_URL (default http://127.0.0.1:<the service's
default port>), GATEWAY_UPSTREAM_TIMEOUT (seconds a service may take to answer, default 30).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx

from shared.config import DEFAULT_PORTS, ConfigError
from shared.errors import StyrkortError
from shared.identity import Identity, sign, signing_target

#: the services the gateway routes to, in the order their figures are shown
BACKENDS = ("goals", "plans", "reports")
DEFAULT_TIMEOUT_SECONDS = 30.0
#: how long opening a connection may take: a stopped service refuses at once, a lost host
#: should not hold a request for the whole timeout
CONNECT_TIMEOUT_SECONDS = 2.0


class ServiceUnavailable(StyrkortError):
    """A service did not answer in time, or not at all (HTTP 503)."""

    title = "Service unavailable"
    status = 503

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(
            f"the {service} service is not answering ({reason}); the other services still work, "
            "try again shortly",
            service=service,
        )
        self.service = service


def urls_from_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each backend's base URL, from `<SERVICE>_URL` or the dev stack's default port."""
    env = os.environ if env is None else env
    return {
        name: env.get(f"{name.upper()}_URL", f"http://127.0.0.1:{DEFAULT_PORTS[name]}").rstrip("/")
        for name in BACKENDS
    }


def timeout_from_env(env: Mapping[str, str] | None = None) -> float:
    env = os.environ if env is None else env
    raw = env.get("GATEWAY_UPSTREAM_TIMEOUT", str(DEFAULT_TIMEOUT_SECONDS))
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < 3600:
        raise ConfigError(f"GATEWAY_UPSTREAM_TIMEOUT must be seconds in (0, 3600), not {raw!r}")
    return value


class Upstreams:
    """A pooled httpx client per backend service, and signed calls to them."""

    def __init__(
        self,
        urls: Mapping[str, str],
        secret: str,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transports: Mapping[str, httpx.BaseTransport] | None = None,
    ) -> None:
        self.urls = dict(urls)
        self.secret = secret
        self.timeout = timeout
        transports = transports or {}
        self.clients = {
            name: httpx.Client(
                base_url=url,
                timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT_SECONDS, timeout)),
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
                transport=transports.get(name),
                follow_redirects=False,
            )
            for name, url in self.urls.items()
        }

    def build(
        self,
        service: str,
        method: str,
        target: str,
        identity: Identity,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        """The signed request of `identity` to `service` for `target` (path and query as sent).

        `headers` are sent as given (If-Match, Idempotency-Key and Content-Type are signed), plus
        the identity headers; the caller must already have dropped any a client sent itself."""
        sent = dict(headers or {})
        signed = sign(
            self.secret,
            identity,
            method,
            signing_target(target),
            body,
            audience=service,
            headers=sent,
        )
        sent.update(signed)
        return self.clients[service].build_request(method, target, content=body, headers=sent)

    def send(self, service: str, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        """Send a built request; ServiceUnavailable if the service is down or too slow.

        With `stream`, the body is read as it comes (`iter_raw`), and the caller closes it."""
        try:
            return self.clients[service].send(request, stream=stream)
        except httpx.TimeoutException as exc:
            raise ServiceUnavailable(service, f"no answer within {self.timeout:g} s") from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailable(service, type(exc).__name__) from exc

    def request(
        self,
        service: str,
        method: str,
        target: str,
        identity: Identity,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """A whole signed call: the response with its body read."""
        return self.send(service, self.build(service, method, target, identity, body, headers))

    @contextmanager
    def stream(
        self, service: str, method: str, target: str, identity: Identity
    ) -> Iterator[httpx.Response]:
        """A signed GET-like call whose body is read as it comes; closed on leaving."""
        response = self.send(service, self.build(service, method, target, identity), stream=True)
        try:
            yield response
        finally:
            response.close()

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
