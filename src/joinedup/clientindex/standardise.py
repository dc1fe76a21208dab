"""What the linkage compares: each source record standardised into plain comparable columns.

Names lose case and accents, nicknames get their formal name beside them, phones keep their
digits, postcodes lose spaces. Identifiers arrive here only as identity's keyed blind index:
the linkage tables never hold an identifier in clear. Pure functions, no Splink: the loader
stores these columns at load time so that a run reads them without recomputing.
"""

from __future__ import annotations

import re
import unicodedata

#: A nickname and the formal name it stands for (lower case, no accents). Where a nickname
#: stands for several names (Alex), the first is kept: the comparison only gains a level.
NICKNAMES: dict[str, str] = {
    "bob": "robert", "rob": "robert", "bobby": "robert", "jos": "joseph", "joe": "joseph",
    "mike": "michael", "bill": "william", "will": "william", "liz": "elizabeth",
    "beth": "elizabeth", "betty": "elizabeth", "frank": "francois", "cathy": "catherine",
    "kate": "catherine", "jim": "james", "jimmy": "james", "maggie": "margaret",
    "peggy": "margaret", "rick": "richard", "dick": "richard", "tom": "thomas",
    "tommy": "thomas", "dan": "daniel", "danny": "daniel", "isa": "isabelle",
    "chris": "christopher", "tony": "anthony", "jen": "jennifer", "jenny": "jennifer",
    "matt": "mathieu", "sam": "samuel", "alex": "alexandre", "sandra": "alexandra",
    "nico": "nicolas", "pat": "patricia", "patty": "patricia", "gabe": "gabriel",
    "vicky": "victoria", "ben": "benjamin", "becky": "rebecca", "zach": "zacharie",
    "mimi": "marie",
}  # fmt: skip


def plain(text: str | None) -> str:
    """Lower case, accents and punctuation dropped, spaces single: `Côté-Smith` → `cote smith`."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9 ]", " ", stripped)).strip()


def first_given(text: str | None) -> str:
    """The first given name, plain."""
    value = plain(text)
    return value.split(" ", 1)[0] if value else ""


#: Formal names sharing a nickname (Chris for Christine and Christopher, Alex for Alexandra
#: and Alexandre) compare as one: otherwise "Chris" would disagree wholly with one of them.
#: The sex and every other field still tell the two apart.
SHARED_NICKNAME: dict[str, str] = {"christine": "christopher", "alexandra": "alexandre"}


def formal_given(text: str | None) -> str:
    """The formal name a nickname stands for, or the (first) given name itself."""
    given = first_given(text)
    formal = NICKNAMES.get(given, given)
    return SHARED_NICKNAME.get(formal, formal)


def digits(text: str | None) -> str:
    """The last ten digits of a phone number (country code dropped)."""
    only = re.sub(r"\D", "", text or "")
    return only[-10:]


def postcode(text: str | None) -> str:
    return re.sub(r"[^A-Z0-9]", "", (text or "").upper())


def email_address(text: str | None) -> str:
    return (text or "").strip().lower()


def linkage_row(
    unique_id: int,
    *,
    agency: str,
    given_names: str,
    family_name: str,
    birth_date: str,
    sex: str,
    street_address: str,
    postal_code: str,
    phone: str,
    email: str,
    identifier_index: str,
) -> dict[str, object]:
    """One record as the model reads it (blank values become nulls: missing, not different)."""
    row: dict[str, object] = {
        "unique_id": unique_id,
        "agency": agency,
        "given": first_given(given_names),
        "given_formal": formal_given(given_names),
        "family": plain(family_name),
        "birth_date": birth_date or "",
        "sex": (sex or "").upper(),
        "street": plain(street_address),
        "postcode": postcode(postal_code),
        "phone": digits(phone),
        "email": email_address(email),
        "id_index": identifier_index or "",
    }
    return {k: (v if v != "" else None) for k, v in row.items()}
