"""HTTP plumbing shared by every route: security headers, session id, locale, CSRF."""

import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection

from app.i18n import LOCALES, choose_locale, using_locale
from app.security import Signer

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SID_COOKIE = "tavoli_sid"
LANG_COOKIE = "tavoli_lang"
LANG_ATTRIBUTES = f"Path=/; Max-Age={365 * 86400}; SameSite=Lax"
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",  # capability links must not leak through Referer
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
# Sent on HTTPS answers only (behind a proxy: uvicorn --proxy-headers reads the scheme
# from X-Forwarded-Proto). No includeSubDomains or preload: the venue's domain may hold
# other sites, still on plain HTTP.
HSTS = "max-age=31536000"


class WebMiddleware:
    """Pure ASGI: sets the locale for the request, gives every browser a signed session id
    (the key of its CSRF token) and adds the security headers. Over HTTPS (or with
    TAVOLI_SECURE_COOKIES, which forces it) every cookie the app sets is Secure."""

    def __init__(self, app: ASGIApp, *, signer: Signer, secure_cookies: bool) -> None:
        self.app = app
        self.signer = signer
        self.secure = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        asked = conn.query_params.get("lang")
        locale = choose_locale(
            query=asked,
            cookie=conn.cookies.get(LANG_COOKIE),
            accept_language=conn.headers.get("accept-language"),
        )
        # A language asked for with ?lang= is remembered, like the footer link's.
        remember = asked in LOCALES and asked != conn.cookies.get(LANG_COOKIE)
        sid = self.signer.unsign(conn.cookies.get(SID_COOKIE))
        new_sid = sid is None
        if sid is None:
            sid = secrets.token_urlsafe(18)
        state = scope.setdefault("state", {})
        state["sid"], state["locale"] = sid, locale
        needs_sid = new_sid and not scope["path"].startswith(("/static/", "/api/"))
        https = scope.get("scheme") in ("https", "wss")
        secure = self.secure or https

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("strict-transport-security", HSTS)
                if needs_sid:
                    headers.append("set-cookie", self._cookie(SID_COOKIE, self.signer.sign(sid)))
                if remember and scope["type"] == "http":
                    headers.append("set-cookie", f"{LANG_COOKIE}={locale}; {LANG_ATTRIBUTES}")
                if secure:
                    _secure_cookies(headers)
            await send(message)

        # A socket's messages carry no headers: its pushes skip the wrapper (a thousand
        # screens, several pushes a second).
        wrapped = send_with_headers if scope["type"] == "http" else send
        with using_locale(locale):
            await self.app(scope, receive, wrapped)

    def _cookie(self, name: str, value: str) -> str:
        return f"{name}={value}; Path=/; HttpOnly; SameSite=Lax"


def _secure_cookies(headers: MutableHeaders) -> None:
    """Adds `Secure` to every Set-Cookie of the answer (the session id, the participant's
    cookie, the language), whichever route set it."""
    raw = headers.raw  # the message's own list: edited in place
    for index, (name, value) in enumerate(raw):
        if name.lower() != b"set-cookie":
            continue
        attributes = {part.strip().lower() for part in value.split(b";")[1:]}
        if b"secure" not in attributes:
            raw[index] = (name, value + b"; Secure")


def csrf_token(conn: HTTPConnection, signer: Signer) -> str:
    return signer.csrf_token(conn.state.sid)


def public_base(conn: HTTPConnection, configured: str) -> str:
    """The address people reach Tavoli at: TAVOLI_PUBLIC_URL, else the request's own."""
    return (configured or str(conn.base_url)).rstrip("/")
