"""Typed errors. Each one carries a single paragraph that tells the user what to do."""

from __future__ import annotations


class TemplateError(Exception):
    """A failure the user can fix. ``str(error)`` is the whole message."""


class InvalidAnswer(TemplateError):
    """An answer (from a prompt, ``-d`` or a data file) is not acceptable."""


class HubError(TemplateError):
    """Any failure talking to the HuggingFace Hub."""


class RepoNotFound(HubError):
    pass


class RevisionNotFound(HubError):
    pass


class GatedRepo(HubError):
    pass


class BadToken(HubError):
    pass


class RateLimited(HubError):
    pass


class HubTimeout(HubError):
    pass


class HubUnreachable(HubError):
    pass


class MalformedAnswer(HubError):
    pass


class SizingError(TemplateError):
    """The model does not fit the chosen hardware, or no hardware fits it."""
