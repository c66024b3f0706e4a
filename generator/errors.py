"""Typed errors. Each one carries a single paragraph that tells the user what to do."""

from __future__ import annotations


class TemplateError(Exception):
    """A failure the user can fix. ``str(error)`` is the whole message."""


class InvalidAnswer(TemplateError):
    """An answer (from a prompt, ``-d`` or a data file) is not acceptable."""


class HubError(TemplateError):
    """Any failure talking to the HuggingFace Hub.

    Besides the message it carries what the hub answered, as huggingface_hub's ``HfHubHTTPError``
    does (huggingface_hub 1.33.0, ``errors.py``): ``status`` (the HTTP status; None when no answer
    came: a timeout, a refused connection), ``url`` (the URL asked for) and ``request_id`` (the
    hub's ``X-Request-Id``, else ``X-Amzn-Trace-Id``, else CloudFront's ``X-Amz-Cf-Id``; None when
    the answer had none). The message names the request id when there is one (see
    ``generator/hub_http.py``). Code that says a hub error with other words uses ``reworded`` (the
    fields stay).
    """

    def __init__(self, message: str = "", *, status: int | None = None, url: str | None = None,
                 request_id: str | None = None):
        super().__init__(message)
        self.status = status
        self.url = url
        self.request_id = request_id


def reworded(error: TemplateError, message: str) -> TemplateError:
    """An error of the same kind with another message; a hub error keeps its status, URL and request id."""
    if isinstance(error, HubError):
        return type(error)(message, status=error.status, url=error.url, request_id=error.request_id)
    return type(error)(message)


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
