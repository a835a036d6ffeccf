"""Errors that name the input at fault and say what would fix it."""

from __future__ import annotations


class MMFAError(Exception):
    """Base class of every error mmfa raises on purpose."""


class BadInputError(MMFAError):
    """One utterance cannot be turned into features (missing, corrupt, empty, too short, NaN...).

    The data pipeline either raises it (``on_bad_input: error``) or counts and reports it as a
    skip (``on_bad_input: skip``). ``reason`` is a short machine-friendly tag used in the report.
    """

    def __init__(self, utterance_id: str, reason: str, detail: str) -> None:
        self.utterance_id = utterance_id
        self.reason = reason
        self.detail = detail
        super().__init__(f"utterance {utterance_id!r}: {reason}: {detail}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        # Exceptions pickle their message only by default; rebuild from the three fields so the
        # error crosses process boundaries (audio extraction runs in a process pool).
        return (type(self), (self.utterance_id, self.reason, self.detail))


class ConfigError(MMFAError):
    """A configuration value is wrong; the message names the key."""


class ModelUnavailableError(MMFAError):
    """A text encoder cannot be loaded offline; the message says how to get it or what to use."""
