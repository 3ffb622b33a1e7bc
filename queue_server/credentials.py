"""Secrets at rest: clerk PINs under a slow hash, device tokens under a fast one.

PINs are short (4–8 digits), so they get scrypt with a per-PIN salt: guessing them from a stolen
database costs real time per guess. Device tokens are long random strings that nobody can guess,
so a plain SHA-256 is enough and lets the server find a device by its token's hash directly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_pin(pin: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P),
                     base64.b64encode(salt).decode(), base64.b64encode(digest).decode()])


def verify_pin(pin: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        name, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected))
    except ValueError:
        return False
    return name == "scrypt" and hmac.compare_digest(actual, expected)


def is_valid_pin(pin: str) -> bool:
    return pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8


def new_token() -> str:
    """A device token: 32 URL-safe characters, never one that begins with "-" (one in 64
    would), which every command line reads as an option: `--token -x…` fails."""
    while True:
        token = secrets.token_urlsafe(24)
        if not token.startswith("-"):
            return token


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
