"""Phone numbers are stored as normalised E.164 strings; this module is the one place
that turns what people and upstreams type into that form."""

import functools
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError

E164_REGEX = r"^\+[1-9][0-9]{6,14}$"


def normalize_e164(raw: str, default_region: str | None = None) -> str:
    """Return `raw` as E.164 (`+14155550100`), or raise ValidationError saying why not."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError("Enter a phone number.", code="required")
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            "“%(raw)s” is not a phone number: %(reason)s.",
            code="invalid",
            params={"raw": text, "reason": str(exc).split(". ", 1)[-1].rstrip(".")},
        ) from exc
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationError(
            "“%(raw)s” has the wrong number of digits for its country.",
            code="invalid",
            params={"raw": text},
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def country_of(e164: str) -> str:
    """ISO 3166 alpha-2 country of a number as `normalize_e164` gives it (the form every
    stored number has); '' for non-geographic numbers.

    The number is split into calling code and national number by hand rather than parsed:
    that form leaves nothing to interpret, and `phonenumbers.parse` would cost the sync
    three times what the lookup itself does, once per number it stores."""
    digits = e164.removeprefix("+")
    if not (digits.isascii() and digits.isdigit()):
        return ""
    # Calling codes are one to three digits and none is the prefix of another.
    for length in (1, 2, 3):
        code = int(digits[:length])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return ""
    national = digits[length:]
    # Leading zeros of a national number (Italy's) are kept as phonenumbers keeps them.
    zeros = len(national) - len(national.lstrip("0"))
    number = phonenumbers.PhoneNumber(
        country_code=code,
        national_number=int(national or "0"),
        italian_leading_zero=zeros > 0 or None,
        number_of_leading_zeros=zeros if zeros > 1 else None,
    )
    region = phonenumbers.region_code_for_number(number)
    return "" if region in (None, "ZZ", "001") else region


# NANP toll-free area codes: the type of a +1 number follows from them, even for numbers the
# phonenumbers metadata does not know yet.
NANP_TOLL_FREE = frozenset({"800", "833", "844", "855", "866", "877", "888"})
# phonenumbers' types in the portal's vocabulary (PhoneNumber.Type); any other is "unknown".
NUMBER_TYPES = {
    phonenumbers.PhoneNumberType.TOLL_FREE: "toll_free",
    phonenumbers.PhoneNumberType.MOBILE: "mobile",
    phonenumbers.PhoneNumberType.FIXED_LINE: "local",
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE: "local",
    phonenumbers.PhoneNumberType.UAN: "national",
    phonenumbers.PhoneNumberType.SHARED_COST: "national",
}


def number_type_of(e164: str) -> str:
    """The type of a number as `normalize_e164` gives it, from the number itself: for the
    providers whose answers carry none (Audian, Vobiz, Ravan). "unknown" when it cannot be
    told; a +1 number outside the toll-free codes is local."""
    if e164.startswith("+1"):
        return "toll_free" if e164[2:5] in NANP_TOLL_FREE else "local"
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return "unknown"
    return NUMBER_TYPES.get(phonenumbers.number_type(parsed), "unknown")


# Regions with phone numbers whose English name phonenumbers' geocoder does not carry.
COUNTRY_NAMES_MISSING = {
    "AC": "Ascension Island",
    "BL": "Saint Barthélemy",
    "EH": "Western Sahara",
    "MF": "Saint Martin",
    "TA": "Tristan da Cunha",
    "XK": "Kosovo",
}


@functools.cache
def _country_names() -> dict[str, str]:
    # Imported on first use: the geocoder loads its data, which costs half a second.
    from phonenumbers.geocoder import country_name_for_number

    names = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        example = phonenumbers.example_number(region)
        name = country_name_for_number(example, "en") if example else ""
        names[region] = name or COUNTRY_NAMES_MISSING.get(region, region)
    return names


def country_name(code: str) -> str:
    """The English name of an ISO 3166 alpha-2 country with phone numbers ("IN" → "India");
    the code itself for any other."""
    return _country_names().get((code or "").upper(), code)


@functools.cache
def country_choices() -> tuple[tuple[str, str], ...]:
    """Every country with phone numbers, by name: ("GB", "United Kingdom (GB)"), in the
    order of the names (accents aside). Built from phonenumbers' metadata rather than a
    table, so a form with it costs no query."""
    choices = [(code, f"{name} ({code})") for code, name in _country_names().items()]
    return tuple(sorted(choices, key=lambda choice: _sort_key(choice[1])))


def _sort_key(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def national_number_of(e164: str) -> str:
    """The national significant number (`+14155550100` → `4155550100`): where an area
    code is looked for. "" when `e164` is not a number."""
    try:
        return phonenumbers.national_significant_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return ""


@functools.lru_cache(maxsize=65_536)  # lists show the same numbers page after page
def format_international(e164: str) -> str:
    """`+14155550100` → `+1 415-555-0100`, for display."""
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
