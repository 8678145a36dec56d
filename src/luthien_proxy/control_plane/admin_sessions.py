"""`AdminSessions`: the UI's login sessions — signed, expiring, revocable — checked without any I/O.

A session token is `<issued>.<nonce>.<mac>`, the MAC keyed by the admin key: every instance that
has the key accepts it (nothing is shared or looked up), and expiry is part of what is signed.
Logout revokes a token in this instance's memory until it would have expired anyway; other
instances accept it until then (see docs/security.md). Changing the key ends every session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

_CONTEXT = b"luthien-ui-session-v2"
#: How far in the future a token's issue time may lie (clocks of instances differ a little).
_CLOCK_SKEW_SECONDS = 60.0


def _mac(admin_key: str, issued: str, nonce: str) -> str:
    message = b"|".join((_CONTEXT, issued.encode(), nonce.encode()))
    return hmac.new(admin_key.encode(), message, hashlib.sha256).hexdigest()


class AdminSessions:
    """Issues and checks session tokens that last `ttl_seconds`; remembers the revoked ones."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl_seconds = ttl_seconds
        self._revoked: dict[str, float] = {}  # nonce -> when its token expires

    def issue(self, admin_key: str, now: float | None = None) -> str:
        issued = str(int(time.time() if now is None else now))
        nonce = secrets.token_urlsafe(16)
        return f"{issued}.{nonce}.{_mac(admin_key, issued, nonce)}"

    def _verified(self, admin_key: str, token: str) -> tuple[str, float] | None:
        """(nonce, expiry) of a well-signed, unexpired token, else None."""
        issued, _, rest = token.partition(".")
        nonce, _, mac = rest.partition(".")
        if not issued.isdigit() or not nonce or not mac:
            return None
        if not hmac.compare_digest(mac.encode(), _mac(admin_key, issued, nonce).encode()):
            return None
        now, expires = time.time(), int(issued) + self.ttl_seconds
        if now >= expires or int(issued) > now + _CLOCK_SKEW_SECONDS:
            return None
        return nonce, expires

    def valid(self, admin_key: str, token: str) -> bool:
        verified = self._verified(admin_key, token)
        return verified is not None and verified[0] not in self._revoked

    def revoke(self, admin_key: str, token: str) -> None:
        """Refuse `token` from now on (only genuine tokens are remembered, so the set stays small)."""
        verified = self._verified(admin_key, token)
        if verified is None:
            return
        now = time.time()
        self._revoked = {nonce: end for nonce, end in self._revoked.items() if end > now}
        self._revoked[verified[0]] = verified[1]
