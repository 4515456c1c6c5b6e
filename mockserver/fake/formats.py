"""Realistic strings: generators for JSON Schema formats, and property-name hints (`email`, `created_at`)."""

from __future__ import annotations

import base64
import ipaddress
import random
import string
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol

from mockserver.fake.run import Run

if TYPE_CHECKING:
    from faker import Faker


class FakerSource(Protocol):
    """Where a format gets its Faker, seeded for the run (``FakerSource``; no import of it here, which
    would be a circle: the generator uses these formats)."""

    time_zone: str  # what a "time" value ends with: "" or "Z", as the format checker in use wants

    def faker_for(self, run: Run) -> Faker: ...


_EPOCH: Final = datetime(2024, 1, 1, tzinfo=UTC)  # fixed, so dates never depend on the clock
_SPAN_SECONDS: Final = 2 * 365 * 86400

# Property-name hints for realistic text: exact (lower-cased) names first, then suffixes.
HINT_NAMES: Final[Mapping[str, str]] = {
    **dict.fromkeys(
        [
            "content",
            "text",
            "message",
            "description",
            "summary",
            "title",
            "detail",
            "msg",
            "reason",
            "explanation",
            "prompt",
            "reasoning",
            "system",
            "error",
            "body",
            "comment",
            "note",
            "notes",
            "question",
            "answer",
            "instructions",
            "stdout",
            "stderr",
        ],
        "sentence",
    ),
    **dict.fromkeys(["name", "full_name", "display_name", "author", "sender_name", "contact_name"], "name"),
    **dict.fromkeys(["first_name", "given_name"], "first_name"),
    **dict.fromkeys(["last_name", "family_name", "surname"], "last_name"),
    **dict.fromkeys(["username", "user_name", "login", "handle"], "username"),
    **dict.fromkeys(["email", "email_address", "mail"], "email"),
    **dict.fromkeys(["url", "uri", "link", "href", "avatar", "website", "homepage", "icon"], "url"),
    **dict.fromkeys(["phone", "phone_number", "mobile"], "phone"),
    **dict.fromkeys(["country", "country_code"], "country"),
    **dict.fromkeys(["language", "lang", "locale"], "language"),
    "city": "city",
    **dict.fromkeys(["company", "organization", "org_name"], "company"),
    **dict.fromkeys(["file_name", "filename", "file_filename"], "file_name"),
    **dict.fromkeys(["mime_type", "media_type", "mimetype", "file_mimetype", "content_type"], "mime"),
    **dict.fromkeys(["ip", "ip_address"], "ipv4"),
    **dict.fromkeys(["id", "uuid", "guid"], "uuid"),
    **dict.fromkeys(["timestamp", "date", "time"], "datetime"),
}
HINT_SUFFIXES: Final[Sequence[tuple[str, str]]] = (
    ("_message", "sentence"),
    ("_text", "sentence"),
    ("_description", "sentence"),
    ("_error", "sentence"),
    ("_reason", "sentence"),
    ("_email", "email"),
    ("_url", "url"),
    ("_uri", "url"),
    ("_link", "url"),
    ("_id", "uuid"),
    ("Id", "uuid"),
    ("_at", "datetime"),
    ("At", "datetime"),
    ("_timestamp", "datetime"),
)


def hinted(fake: FakerSource, hint: str, run: Run) -> str:
    """A realistic string for the property-name `hint` (see `HINT_NAMES`)."""
    if hint == "http_status":
        return str(run.rng.randint(200, 599))
    if hint in ("uuid", "datetime"):
        return FORMATS["uuid" if hint == "uuid" else "date-time"](fake, run)
    if hint == "url":
        return _url(fake, run)
    faker = fake.faker_for(run)
    makers: Mapping[str, Callable[[], str]] = {
        "sentence": faker.sentence,
        "name": faker.name,
        "first_name": faker.first_name,
        "last_name": faker.last_name,
        "username": faker.user_name,
        "email": faker.email,
        "phone": faker.phone_number,
        "country": faker.country_code,
        "language": faker.language_code,
        "city": faker.city,
        "company": faker.company,
        "file_name": faker.file_name,
        "mime": faker.mime_type,
        "ipv4": faker.ipv4,
    }
    return makers[hint]()


def stretch(fmt: Any, text: str, low: int, rng: random.Random) -> str:
    """Lengthen a formatted string to `low` characters where the format has room for filler."""
    filler = "".join(rng.choice(string.ascii_lowercase) for _ in range(max(0, low - len(text))))
    if not filler:
        return text
    if fmt in ("email", "idn-email", "hostname", "idn-hostname"):
        return filler + text  # a longer local part or first label
    if fmt in ("uri", "url", "iri", "uri-reference", "iri-reference"):
        return text + filler  # a longer path
    return text


def _date_time(_: FakerSource, run: Run) -> str:
    moment = _EPOCH + timedelta(seconds=run.rng.randrange(_SPAN_SECONDS))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _date(_: FakerSource, run: Run) -> str:
    return (_EPOCH + timedelta(days=run.rng.randrange(730))).strftime("%Y-%m-%d")


def _time(fake: FakerSource, run: Run) -> str:
    seconds = run.rng.randrange(86400)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}{fake.time_zone}"


def _uuid(_: FakerSource, run: Run) -> str:
    return str(uuid.UUID(int=run.rng.getrandbits(128), version=4))


def _url(fake: FakerSource, run: Run) -> str:
    return f"https://example.com/{fake.faker_for(run).slug()}"


def _email(fake: FakerSource, run: Run) -> str:
    return f"{fake.faker_for(run).user_name()}@example.com"


def _hostname(fake: FakerSource, run: Run) -> str:
    return f"{fake.faker_for(run).domain_word()}.example.com"


def _ipv4(_: FakerSource, run: Run) -> str:
    return str(ipaddress.IPv4Address(run.rng.getrandbits(32)))


def _ipv6(_: FakerSource, run: Run) -> str:
    return str(ipaddress.IPv6Address(run.rng.getrandbits(128)))


def _byte(_: FakerSource, run: Run) -> str:
    return base64.b64encode(run.rng.randbytes(12)).decode("ascii")


FORMATS: Final[Mapping[str, Callable[[FakerSource, Run], str]]] = {
    "byte": _byte,
    "date-time": _date_time,
    "date": _date,
    "time": _time,
    "uuid": _uuid,
    "uri": _url,
    "url": _url,
    "iri": _url,
    "uri-reference": _url,
    "iri-reference": _url,
    "email": _email,
    "idn-email": _email,
    "hostname": _hostname,
    "idn-hostname": _hostname,
    "ipv4": _ipv4,
    "ipv6": _ipv6,
}
