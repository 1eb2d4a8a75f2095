"""Strict, secret-free reading of upstream JSON.

Every adapter reads responses through `Reader`, so a missing field, a float where a string
belongs or a malformed date becomes an `UnexpectedResponse` naming the field, never a
`KeyError` or a wrong amount.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from json.encoder import encode_basestring  # json's own quoting, without ASCII escapes
from typing import Any

from django.core.exceptions import ValidationError

from portal.money import MONEY_DIGITS, MONEY_PLACES
from portal.providers.errors import UnexpectedResponse
from portal.providers.phone import normalize_e164

MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)
# The largest amount the portal's money columns hold (10 digits before the point): a
# larger one is a malformed response, never something to store or to round.
MONEY_LIMIT = Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES)
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
# Kazoo stamps times in seconds since year 0 of the Gregorian calendar.
GREGORIAN_TO_UNIX = 62_167_219_200
_SENSITIVE_WORDS = "token|secret|key|password|authorization|credential"
_SECRET_KEY_PATTERN = re.compile(_SENSITIVE_WORDS, re.I)
EXCERPT_LENGTH = 200
# In text that is not JSON (an answer cut short, an HTML page), where a secret-looking name
# starts: `"auth_token": …`, `'api_key': …`, `password=…`, `token: …`.
_SECRET_NAME = re.compile(rf"[\"']?[\w-]*(?:{_SENSITIVE_WORDS})[\w-]*[\"']?\s*[:=]", re.I)
# Only the start of a body is shown: parsing more of it to find an excerpt is wasted.
_EXCERPT_SOURCE_CHARS = 4096


def _reject_constant(name):
    raise ValueError(f"{name} is not a number")


class _Decoder(json.JSONDecoder):
    def __init__(self, **kwargs):
        super().__init__(parse_float=Decimal, parse_constant=_reject_constant, **kwargs)


# What `loads` parses with; streaming.ListStream parses a listing's items with it too.
DECODER = _Decoder()


def loads(raw: bytes | str) -> Any:
    """JSON with every non-integer number as Decimal; NaN and Infinity refused. Whatever is
    not JSON the parser can hold raises ValueError, arrays nested too deep for it too."""
    try:
        return json.loads(raw, cls=_Decoder)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def dumps(value: Any, *, compact: bool = False) -> str:
    """JSON text in which a Decimal is the exact JSON number it holds (1.15, 0.0085, 2.50),
    never a float's approximation; NaN and Infinity are refused, text is not escaped to
    ASCII. `compact` writes what httpx writes for a request body (`,` and `:` without
    spaces), so a body without Decimals is byte for byte the one httpx would send;
    otherwise the separators are `json.dumps`'s defaults."""
    item_separator, key_separator = (",", ":") if compact else (", ", ": ")
    chunks: list[str] = []
    write = chunks.append

    def encode(value: Any) -> None:
        # The common types first, each written as json.dumps writes it: a sandbox page of
        # a hundred numbers is thousands of values.
        if isinstance(value, str):
            write(encode_basestring(value))
        elif value is None:
            write("null")
        elif value is True:
            write("true")
        elif value is False:
            write("false")
        elif isinstance(value, int):
            write(int.__repr__(value))
        elif isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(f"{value} is not a JSON number")
            write(str(value))
        elif isinstance(value, dict | Mapping):  # dict first: no ABC check for it
            write("{")
            for index, (key, item) in enumerate(value.items()):
                if index:
                    write(item_separator)
                write(_json_key(key))
                write(key_separator)
                encode(item)
            write("}")
        elif isinstance(value, list | tuple):
            write("[")
            for index, item in enumerate(value):
                if index:
                    write(item_separator)
                encode(item)
            write("]")
        else:  # a float, or what json.dumps refuses as it would
            write(json.dumps(value, ensure_ascii=False, allow_nan=False))

    encode(value)
    return "".join(chunks)


def _json_key(key: Any) -> str:
    # As json.dumps: text keys as they are; numbers, booleans and null as their JSON text.
    return encode_basestring(key if isinstance(key, str) else json.dumps(key, allow_nan=False))


def redact(value: Any) -> Any:
    """A copy of parsed JSON with the values of secret-looking keys replaced."""
    if isinstance(value, Mapping):
        return {
            key: "[redacted]" if _SECRET_KEY_PATTERN.search(str(key)) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def excerpt(value: Any, limit: int = EXCERPT_LENGTH) -> str:
    """A short, secret-free excerpt of a response (raw bytes or parsed JSON) for errors."""
    if isinstance(value, bytes | str):
        raw = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        try:
            value = loads(raw[:_EXCERPT_SOURCE_CHARS])
        except ValueError:
            # Not JSON, or too long or cut short to parse: shown only up to the first
            # secret-looking name, as where its value ends cannot be told.
            found = _SECRET_NAME.search(raw, 0, _EXCERPT_SOURCE_CHARS)
            text = raw[: found.start()] + "[redacted]…" if found else raw[:_EXCERPT_SOURCE_CHARS]
        else:
            text = json.dumps(redact(value), default=str, ensure_ascii=False)
    else:
        text = json.dumps(redact(value), default=str, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def retry_after(header: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not header:
        return None
    header = header.strip()
    if header.isdigit():  # delta-seconds, the usual form
        return int(header)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def stable_id(*parts: Any) -> str:
    """A deterministic id for a record the provider gives no id: the same fields always
    give the same id, so re-reading it never duplicates it."""
    joined = "\x1f".join("" if part is None else str(part) for part in parts)
    return "h_" + hashlib.sha256(joined.encode()).hexdigest()[:32]


def to_money(value: Any) -> Decimal:
    """An amount as Decimal with at most 4 decimal places. Accepts JSON numbers (already
    Decimal or int thanks to `loads`) and numeric strings; refuses floats and booleans."""
    if isinstance(value, bool | float):
        raise TypeError(f"expected a decimal amount, got {type(value).__name__}")
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    elif isinstance(value, str) and value.strip():
        try:
            amount = Decimal(value.strip())
        except InvalidOperation as exc:
            raise TypeError(f"{value!r} is not an amount") from exc
    else:
        raise TypeError(f"expected a decimal amount, got {type(value).__name__}")
    if not amount.is_finite():
        raise TypeError("amount is not finite")
    if abs(amount) < MONEY_LIMIT and amount.as_tuple().exponent < -MONEY_PLACES:
        amount = amount.quantize(MONEY_QUANTUM)  # float noise such as 10.179999999999999716
    if abs(amount) >= MONEY_LIMIT:
        raise TypeError(f"{amount} is larger than any amount the portal holds")
    return amount


def to_currency(value: Any) -> str:
    """An ISO 4217 code in capitals, as the portal stores it."""
    if not isinstance(value, str) or not CURRENCY_CODE.fullmatch(value):
        raise TypeError(f"{value!r} is not an ISO currency code")
    return value


def to_datetime(value: Any) -> datetime:
    """ISO 8601 text (with `Z`, an offset or none: UTC) or Kazoo Gregorian seconds."""
    if isinstance(value, bool):
        raise TypeError("expected a date, got bool")
    if isinstance(value, int):
        seconds = value - GREGORIAN_TO_UNIX if value > GREGORIAN_TO_UNIX else value
        try:
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
        except OverflowError as exc:
            raise TypeError(f"{value} seconds is not a date the portal can hold") from exc
    if isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise TypeError(f"{value!r} is not an ISO 8601 date") from exc
        if not parsed.tzinfo:
            return parsed.replace(tzinfo=UTC)
        # In UTC, so comparing and storing it never has to move it out of datetime's range.
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise TypeError(f"{value!r} is not a date the portal can hold") from exc
    raise TypeError(f"expected a date, got {type(value).__name__}")


def to_e164(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a phone number, got {type(value).__name__}")
    try:
        return normalize_e164(value if value.startswith("+") else f"+{value}")
    except ValidationError as exc:
        raise TypeError(exc.messages[0]) from exc


_MISSING = object()


class Reader:
    """Typed access to one JSON object, naming the field in every error.

    `Reader(body, "number", provider="Vobiz").str("e164")` returns the value or raises
    UnexpectedResponse("number.e164: missing", excerpt=...)."""

    def __init__(self, value: Any, where: str = "response", *, provider: str = ""):
        self.where = where
        self.provider = provider
        if not isinstance(value, Mapping):
            raise self._error(f"expected an object, got {type(value).__name__}", value)
        self.value = value

    def _error(self, problem: str, value: Any = _MISSING) -> UnexpectedResponse:
        shown = self.value if value is _MISSING else value
        return UnexpectedResponse(
            f"{self.where}: {problem}", provider=self.provider, excerpt=excerpt(shown)
        )

    def _get(self, key: str, required: bool) -> Any:
        value = self.value.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise self._error(f"{key} is missing")
            return None
        return value

    def _convert(self, key: str, value: Any, convert) -> Any:
        try:
            return convert(value)
        except TypeError as exc:
            raise self._error(f"{key}: {exc}") from None

    def has(self, key: str) -> bool:
        return self.value.get(key) is not None

    def raw(self, key: str, default: Any = None) -> Any:
        value = self.value.get(key)
        return default if value is None else value

    def str(self, key: str, default: str | None = None) -> str:
        value = self._get(key, required=default is None)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self._error(f"{key}: expected text, got {type(value).__name__}")
        return value

    def term(self, key: str, vocabulary: Mapping[str, str], *, what: str = "value") -> str:
        """The provider's term at `key` in the portal's words (`vocabulary`); a term the
        portal does not know is refused rather than guessed."""
        value = self.str(key)
        if value not in vocabulary:
            raise UnexpectedResponse(
                f"{self.where}.{key}: unknown {what} {value!r}",
                provider=self.provider,
                excerpt=excerpt(self.value),
            )
        return vocabulary[value]

    def int(self, key: str, default: int | None = None) -> int:
        value = self._get(key, required=default is None)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._error(f"{key}: expected an integer, got {type(value).__name__}")
        return value

    def bool(self, key: str, default: bool | None = None) -> bool:
        value = self._get(key, required=default is None)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._error(f"{key}: expected true/false, got {type(value).__name__}")
        return value

    def money(self, key: str, *, required: bool = True) -> Decimal | None:
        value = self._get(key, required)
        return None if value is None else self._convert(key, value, to_money)

    def currency(self, key: str, default: str | None = None) -> str:
        value = self._get(key, required=default is None)
        return default if value is None else self._convert(key, value, to_currency)

    def datetime(self, key: str, *, required: bool = True) -> datetime | None:
        value = self._get(key, required)
        return None if value is None else self._convert(key, value, to_datetime)

    def e164(self, key: str) -> str:
        return self._convert(key, self._get(key, required=True), to_e164)

    def list(self, key: str, *, required: bool = True) -> list:
        value = self._get(key, required)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._error(f"{key}: expected a list, got {type(value).__name__}")
        return value

    def object(self, key: str, *, required: bool = True) -> Reader | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self._error(f"{key}: expected an object, got {type(value).__name__}")
        return Reader(value, f"{self.where}.{key}", provider=self.provider)
