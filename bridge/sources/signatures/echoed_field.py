"""A named secret the provider echoes in a top-level field of the body: Ozonetel's `Apikey`.

This is no signature: it covers no other byte and no time, and the secret
travels with every delivery. It only adds to a token source that the sender
knows one more thing. Once checked, the field is replaced (`scrubbed`), so
the stored body, the console and the API never hold the key. Compared in constant time, digests of
equal length, so neither the content nor the length leaks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from bridge.sources.payload import Payload
from bridge.sources.signatures.errors import SignatureError

# What the stored body holds in place of the echoed secret.
CHECKED = "[checked]"


class EchoedField:
    """The body's `field` must equal the source's named secret `secret_name`."""

    def __init__(self, field: str, secret_name: str) -> None:
        self.field = field
        self.secret_name = secret_name

    def check(self, payload: Payload, named: Mapping[str, str]) -> None:
        """Raise SignatureError unless the verified body echoes the configured secret."""
        received = payload.get(self.field)
        if not isinstance(received, str) or not received.strip():
            raise SignatureError(f"missing_{self.secret_name}", f"the body has no {self.field}")
        configured = named.get(self.secret_name, "")
        digest = hashlib.sha256(received.strip().encode("utf-8", "replace")).digest()
        if not configured or not hmac.compare_digest(digest, hashlib.sha256(configured.encode()).digest()):
            raise SignatureError(
                f"bad_{self.secret_name}",
                f"the body's {self.field} is not the {self.secret_name} configured for this source",
            )

    def scrubbed(self, payload: Payload) -> tuple[bytes, Payload]:
        """Return a checked delivery's body and payload with the echoed secret replaced, for storing."""
        kept = {**payload, self.field: CHECKED}
        return json.dumps(kept, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), kept

    def stamp(self, body: bytes, named: Mapping[str, str]) -> bytes:
        """Return a JSON body with the configured secret in the field, as the provider would send it."""
        document = json.loads(body)
        document[self.field] = named.get(self.secret_name, "")
        return json.dumps(document, separators=(",", ":")).encode("utf-8")
