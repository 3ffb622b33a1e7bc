"""The typed refusal the core gives instead of events; its code is the protocol's error code."""

from __future__ import annotations

from hall.protocol import ERROR_CODES


class DomainError(Exception):
    """A command the hall's rules do not allow. `message` is shown to the person as it is;
    `detail`: more for the client beside it (a check-in too early: `come_back_at`)."""

    def __init__(self, code: str, message: str, **detail: str):
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r})"
