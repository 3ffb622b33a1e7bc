"""Queue server: the hall's single source of truth (state machine, dispatch, storage, CLI)."""

__version__ = "0.1.0"
