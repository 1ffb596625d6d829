"""What URL-signed schemes share: the configured public URL, the posted query, and the form's fields.

Twilio and Plivo sign the URL they called. Behind a load balancer or proxy
the bridge sees neither the scheme nor the host the provider used, so the
source names its public URL in `[sources.<name>.scheme] public_url`; the
query string is the one the request arrived with, because the provider
signs it as it sent it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from bridge.sources import strict_json

PUBLIC_URL_KEYS = ("public_url",)
DEFAULT_PORTS = {"https": 443, "http": 80}


def check_public_url(value: object) -> str:
    """Return the public URL as configured; a ValueError names the key and what to fix."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            "public_url: required: the https URL the provider posts to, as typed in its console "
            "(e.g. https://bridge.example.com/webhooks/<source>)"
        )
    if value != value.strip() or any(character.isspace() for character in value):
        raise ValueError("public_url: must not hold spaces")
    if "?" in value or "#" in value:
        raise ValueError("public_url: leave out the query and fragment: the query is read from each request")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - reading it validates the port
    except ValueError as error:
        raise ValueError(f"public_url: is not a URL ({error})") from None
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"public_url: must be an https:// URL with a host, not {value!r}")
    if "@" in parts.netloc:
        raise ValueError("public_url: must not hold a user name or password")
    return value


def signed_url(public_url: str, query: str) -> str:
    """Return the URL the provider signed: the public URL and, when there is one, the posted query."""
    return f"{public_url}?{query}" if query else public_url


def with_and_without_port(url: str) -> tuple[str, str]:
    """Return the URL without its port and with it (the scheme's default when none is written)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 443)
    return parts._replace(netloc=host).geturl(), parts._replace(netloc=f"{host}:{port}").geturl()


def query_pairs(query: str) -> list[tuple[str, str]]:
    """Return the query's fields, decoded, blank values kept, as the providers' SDKs read them."""
    return parse_qsl(query, keep_blank_values=True, errors="surrogateescape")


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """Return a UTF-8 form body's fields in order, repeats kept; a ValueError completes "the body ..."."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except UnicodeDecodeError as error:
        raise ValueError(f"is not UTF-8 form data: {error}") from None
    except ValueError:
        # parse_qsl would quote the whole offending field, payload and all.
        raise ValueError("is not form data: every field must be name=value, fields joined by &") from None
    if "\x00" in text or "%00" in text:
        strict_json.check_strings([text for pair in pairs for text in pair])
    return pairs


def parse_form_repeats(body: bytes) -> dict[str, str | list[str]]:
    """Return a form body as a payload: one text per field, a list for a field sent more than once.

    A signature over every field covers repeats too, so they are kept rather
    than refused; a transform reads a repeated field as no single value.
    """
    payload: dict[str, str | list[str]] = {}
    for name, value in form_pairs(body):
        held = payload.get(name)
        if held is None:
            payload[name] = value
        elif isinstance(held, list):
            held.append(value)
        else:
            payload[name] = [held, value]
    return payload
