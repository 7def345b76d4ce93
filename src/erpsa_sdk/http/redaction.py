"""Redaction: keep credentials out of logs, reprs and exception messages.

Three layers, each usable on its own:

* :func:`redact_headers` / :func:`redact_url` / :func:`redact_text` mask values whose *name*
  says they are secret (``Authorization``, ``token``, ``secret``, ``password``, ``signature``,
  ``cookie``, ``client_assertion``, ...) and values that *look* like credentials (a bearer token,
  a JWT);
* :func:`body_excerpt` turns a response body into a short redacted excerpt for an error;
* :class:`RedactingFilter` is a logging filter that applies :func:`redact_text` to every record,
  and masks literal secret values registered with it.

:func:`assert_no_secrets` is the test helper every suite uses to scan captured text.

Example:
    >>> redact_headers({"Authorization": "Bearer abc", "Accept": "application/json"})
    {'Authorization': '***', 'Accept': 'application/json'}
    >>> redact_url("https://h.example/x?access_token=abc&page=2")
    'https://h.example/x?access_token=***&page=2'
    >>> redact_text('{"client_secret": "s3cr3t", "id": 7}')
    '{"client_secret": "***", "id": 7}'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "MASK",
    "RedactingFilter",
    "assert_no_secrets",
    "body_excerpt",
    "install_log_filters",
    "is_sensitive_name",
    "redact_headers",
    "redact_text",
    "redact_url",
    "register_secret",
]

MASK = "***"

# A name is sensitive when any of these fragments appears in it (case-insensitive). Kept broad
# on purpose: masking a harmless value costs little, leaking a credential costs a lot.
_SENSITIVE_FRAGMENTS = (
    "authorization",
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "signature",
    "cookie",
    "assertion",
    "api_key",
    "api-key",
    "apikey",
    "private_key",
    "credential",
    "session",
    "auth",
    "nonce",
    "code_verifier",
)
# Exact names that are too short or too generic to be fragments.
_SENSITIVE_EXACT = frozenset({"code", "key", "sig", "x-api-key"})

_NAME = (
    r"(?:[A-Za-z0-9_.\-]*(?:"
    + "|".join(re.escape(f) for f in _SENSITIVE_FRAGMENTS)
    + r")[A-Za-z0-9_.\-]*|"
    + "|".join(re.escape(e) for e in sorted(_SENSITIVE_EXACT))
    + ")"
)
# "name": "value"  (JSON)
_JSON_PAIR = re.compile(r'("(?i:' + _NAME + r')"\s*:\s*)"(?:[^"\\]|\\.)*"')
# name=value  (form bodies, query strings, OAuth1 header parameters, log text)
_FORM_PAIR = re.compile(r"(?<![A-Za-z0-9_.\-])((?i:" + _NAME + r')=)("?)[^&\s,;"]+\2')
# name: value  (a header line written into text)
_HEADER_LINE = re.compile(r"(?im)^((?:proxy-)?authorization|cookie|set-cookie)(\s*:\s*).+$")
# Scheme credentials and JWT-shaped strings, wherever they appear.
_SCHEME = re.compile(r"(?i)\b(Bearer|Basic|Digest|OAuth|NTLM|Negotiate)\s+[A-Za-z0-9._~+/=\-]{6,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*")


# Literal secret values the auth layer registered (tokens it obtained, configured secrets):
# masked wherever redact_text runs, even in free text such as a vendor's error description.
# Insertion-ordered and bounded, so rotating tokens cannot grow it without limit.
_REGISTERED: dict[str, None] = {}
_MAX_REGISTERED = 1024


def register_secret(value: str) -> None:
    """Mask this literal value in every redacted text from now on (auth flows call it).

    Values shorter than 6 characters are ignored (they would mask ordinary words).

    Example:
        >>> register_secret("tok-ABCDEF-123")
        >>> redact_text("vendor said: token tok-ABCDEF-123 expired")
        'vendor said: token *** expired'
    """
    if len(value) < 6:
        return
    _REGISTERED.pop(value, None)
    _REGISTERED[value] = None
    while len(_REGISTERED) > _MAX_REGISTERED:
        del _REGISTERED[next(iter(_REGISTERED))]


def is_sensitive_name(name: str) -> bool:
    """Whether a header, field or parameter name says its value is a secret.

    Example:
        >>> is_sensitive_name("X-Refresh-Token"), is_sensitive_name("Content-Type")
        (True, False)
    """
    lowered = name.lower()
    return lowered in _SENSITIVE_EXACT or any(f in lowered for f in _SENSITIVE_FRAGMENTS)


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Return a copy of ``headers`` with every sensitive value replaced by ``***``.

    Example:
        >>> redact_headers([("Cookie", "sid=1"), ("X-Request-ID", "r1")])
        {'Cookie': '***', 'X-Request-ID': 'r1'}
    """
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k: (MASK if is_sensitive_name(k) else redact_text(v)) for k, v in items}


def redact_url(url: object) -> str:
    """Return ``url`` as text without user info and with sensitive query values masked.

    Example:
        >>> redact_url("https://user:pw@h.example/p?sig=abc&limit=5")
        'https://h.example/p?sig=***&limit=5'
    """
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return redact_text(text)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, MASK if is_sensitive_name(k) else v) for k, v in pairs], safe="*:/,@"
        )
    return redact_text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


def redact_text(text: str) -> str:
    """Mask secrets inside free text: JSON pairs, ``name=value`` pairs, scheme credentials, JWTs.

    Example:
        >>> redact_text("password=hunter2&user=ann")
        'password=***&user=ann'
        >>> redact_text("sent Authorization: Bearer abcdef123456")
        'sent Authorization: ***'
    """
    for secret in list(_REGISTERED):
        if secret in text:
            text = text.replace(secret, MASK)
    text = _HEADER_LINE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _JSON_PAIR.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    text = _FORM_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}{m.group(2)}", text)
    text = _SCHEME.sub(MASK, text)
    return _JWT.sub(MASK, text)


def body_excerpt(content: bytes | str, *, limit: int = 300) -> str:
    """A short, redacted, single-line excerpt of a response body for an error message.

    Example:
        >>> body_excerpt(b'{"error": "invalid_grant", "refresh_token": "r-123"}')
        '{"error": "invalid_grant", "refresh_token": "***"}'
        >>> len(body_excerpt(b"x" * 1000, limit=20))
        21
    """
    # Redact a generous window before cutting to ``limit``, so a secret split by the final cut
    # cannot survive half-masked, and a multi-megabyte body costs no more than a small one.
    window = content[: limit * 4 + 256]
    text = window.decode("utf-8", "replace") if isinstance(window, bytes) else window
    text = " ".join(redact_text(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record's message (and its arguments).

    It never drops a record. Literal secret values (a token the auth layer just obtained) can be
    registered with :meth:`add_secret`; they are masked wherever they appear.

    Example:
        >>> import logging
        >>> f = RedactingFilter()
        >>> f.add_secret("tok-123456")
        >>> rec = logging.LogRecord("x", logging.DEBUG, "f.py", 1, "got %s", ("tok-123456",), None)
        >>> f.filter(rec), rec.getMessage()
        (True, 'got ***')
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, value: str) -> None:
        """Mask this literal value from now on (values shorter than 4 characters are ignored)."""
        if len(value) >= 4:
            self._secrets.add(value)

    def redact(self, text: str) -> str:
        """Apply the registered literal secrets and :func:`redact_text` to ``text``."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return redact_text(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # Format the traceback now, redacted, so handlers print this text instead.
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        return True


def assert_no_secrets(text: str, secrets: Iterable[str]) -> None:
    """Raise ``AssertionError`` if any of ``secrets`` occurs in ``text`` (for tests).

    The error names the secret's index and length and the offset, never the secret itself.

    Example:
        >>> assert_no_secrets("all clean", ["s3cr3t-value"])
        >>> try:
        ...     assert_no_secrets("leaked s3cr3t-value here", ["s3cr3t-value"])
        ... except AssertionError as exc:
        ...     print(exc)
        secret #0 (12 chars) found at offset 7
    """
    for index, secret in enumerate(secrets):
        if not secret:
            continue
        at = text.find(secret)
        if at >= 0:
            raise AssertionError(f"secret #{index} ({len(secret)} chars) found at offset {at}")


def install_log_filters(target: logging.Handler | logging.Logger) -> None:
    """Add a :class:`RedactingFilter` and a ``CorrelationFilter`` to a handler (or logger).

    Put it on your handlers so that *every* record they emit, from any library, is redacted and
    carries ``correlation_id``. The SDK already installs both on the ``erpsa_sdk.http`` and
    ``httpx2`` loggers (httpx2 logs request URLs). Calling it twice adds nothing.

    Example:
        >>> import logging
        >>> handler = logging.StreamHandler()
        >>> install_log_filters(handler)
        >>> install_log_filters(handler)
        >>> sorted(type(f).__name__ for f in handler.filters)
        ['CorrelationFilter', 'RedactingFilter']
    """
    from erpsa_sdk.correlation import CorrelationFilter

    for filter_type in (CorrelationFilter, RedactingFilter):
        if not any(isinstance(f, filter_type) for f in target.filters):
            target.addFilter(filter_type())
