"""Capability tokens (stored hashed), signed identity cookies and CSRF tokens."""

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, URLSafeSerializer


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is as safe as a slow one here.
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class Signer:
    """Signs cookie values and derives per-session CSRF tokens from one secret key."""

    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key.encode()
        self._cookies = URLSafeSerializer(secret_key, salt="tavoli.cookie")

    def sign(self, value: str) -> str:
        return self._cookies.dumps(value)

    def unsign(self, signed: str | None) -> str | None:
        if not signed:
            return None
        try:
            value = self._cookies.loads(signed)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def csrf_token(self, session_id: str) -> str:
        return hmac.new(self._secret, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, session_id: str, token: str | None) -> bool:
        return bool(token) and tokens_equal(self.csrf_token(session_id), token or "")
