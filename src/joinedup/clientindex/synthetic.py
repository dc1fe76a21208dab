"""A synthetic population written into several agencies' client lists, with the truth apart.

Linkage cannot be scored on real people, so the benchmark and the tests score it on people
made up here. Each person is written into some of the agencies' lists, and each copy is
disturbed the way real lists disagree, at fixed rates (`NOISE_RATES`, documented in
docs/client-index.md): typos, nicknames, day and month swapped, a birth year off by one,
a name changed at marriage, a move, missing contact details, accents dropped. Twins and
namesakes with common names make the non-matches hard. The truth (which record is whom, and
which noise each copy got) is returned separately and never written into the lists.
"""

from __future__ import annotations

import datetime
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

#: The least share of copies disturbed by each kind of noise (the issue's floor).
NOISE_RATES: dict[str, float] = {
    "typo": 0.05,
    "nickname": 0.10,
    "day_month_swap": 0.02,
    "year_off_by_one": 0.02,
    "married_name": 0.03,
    "moved": 0.20,
    "missing_phone": 0.25,
    "missing_email": 0.25,
    "missing_street": 0.25,
    "accents_dropped": 0.15,
}
#: Share of people who have a twin (same family name, birth date and home).
TWIN_RATE = 0.005

#: Given names, with their nicknames, weighted: the first ones are far more common.
GIVEN_NAMES: dict[str, tuple[str, tuple[str, ...]]] = {
    # name: (sex, nicknames)
    "Marie": ("F", ("Mimi",)),
    "Jean": ("M", ()),
    "Robert": ("M", ("Bob", "Rob", "Bobby")),
    "Joseph": ("M", ("Jos", "Joe")),
    "Michael": ("M", ("Mike",)),
    "Élise": ("F", ()),
    "William": ("M", ("Bill", "Will")),
    "Elizabeth": ("F", ("Liz", "Beth", "Betty")),
    "François": ("M", ("Frank",)),
    "Catherine": ("F", ("Cathy", "Kate")),
    "James": ("M", ("Jim", "Jimmy")),
    "Margaret": ("F", ("Maggie", "Peggy")),
    "Pierre": ("M", ()),
    "Hélène": ("F", ()),
    "Richard": ("M", ("Rick", "Dick")),
    "Nathalie": ("F", ()),
    "Thomas": ("M", ("Tom", "Tommy")),
    "Sophie": ("F", ()),
    "Daniel": ("M", ("Dan", "Danny")),
    "Isabelle": ("F", ("Isa",)),
    "André": ("M", ()),
    "Christine": ("F", ("Chris",)),
    "Anthony": ("M", ("Tony",)),
    "Geneviève": ("F", ()),
    "Christopher": ("M", ("Chris",)),
    "Jennifer": ("F", ("Jen", "Jenny")),
    "Mathieu": ("M", ("Matt",)),
    "Amélie": ("F", ()),
    "Samuel": ("M", ("Sam",)),
    "Chloé": ("F", ()),
    "Alexandre": ("M", ("Alex",)),
    "Alexandra": ("F", ("Alex", "Sandra")),
    "Nicolas": ("M", ("Nico",)),
    "Patricia": ("F", ("Pat", "Patty")),
    "Gabriel": ("M", ("Gabe",)),
    "Victoria": ("F", ("Vicky",)),
    "Benjamin": ("M", ("Ben",)),
    "Rebecca": ("F", ("Becky",)),
    "Olivier": ("M", ()),
    "Émilie": ("F", ()),
    "Raphaël": ("M", ()),
    "Léa": ("F", ()),
    "Jérôme": ("M", ()),
    "Josée": ("F", ()),
    "Amara": ("F", ()),
    "Chinedu": ("M", ()),
    "Priya": ("F", ()),
    "Arjun": ("M", ()),
    "Mei": ("F", ()),
    "Wei": ("M", ()),
    "Fatima": ("F", ()),
    "Omar": ("M", ()),
    "Siobhan": ("F", ()),
    "Declan": ("M", ()),
    "Noémie": ("F", ()),
    "Zacharie": ("M", ("Zach",)),
    "Kateri": ("F", ()),
    "Tenzin": ("M", ()),
    "Ingrid": ("F", ()),
    "Matteo": ("M", ()),
}
#: Family names, most common first (a Zipf-like weight gives many namesakes).
FAMILY_NAMES: tuple[str, ...] = (
    "Tremblay", "Smith", "Gagnon", "Roy", "Brown", "Côté", "Wilson", "Bouchard", "Gauthier",
    "Martin", "Lee", "Morin", "Lavoie", "Fortin", "Taylor", "Gagné", "Ouellet", "Pelletier",
    "Bélanger", "Campbell", "Lévesque", "Anderson", "Bergeron", "Leblanc", "Paquette",
    "Girard", "Simard", "Boucher", "Caron", "Beaulieu", "Cloutier", "Dubé", "Poirier",
    "Fournier", "Thompson", "Lapointe", "Leclerc", "Lefebvre", "Poulin", "Thibault",
    "St-Pierre", "Nadeau", "Martel", "Gilbert", "Hébert", "Mercier", "Robert", "Desjardins",
    "Okafor", "Nguyen", "Singh", "Patel", "Chen", "Wong", "Kim", "Haddad", "Khan", "Ahmed",
    "Mohamed", "Rodriguez", "Garcia", "Rossi", "Santos", "Kowalski", "Novak", "Müller",
    "Schmidt", "O'Brien", "MacDonald", "MacLeod", "Fraser", "Stewart", "Robertson", "Murray",
    "Ross", "Young", "King", "Clark", "Scott", "Walker", "Wright", "Mitchell", "Turner",
    "Ducharme", "Lachance", "Grenier", "Bérubé", "Vaillancourt", "Charbonneau", "Dufour",
    "Proulx", "Laflamme", "Rioux", "Joly", "Sauvé", "Labelle", "Massé", "Bisson", "Lemieux",
    "Beauchamp", "Séguin", "Parent", "Demers", "Marchand", "Cormier", "Landry", "Arsenault",
    "Thériault", "Doucet", "Richard", "Comeau", "Babineau", "Aucoin", "Boudreau", "Chiasson",
    "Gallant", "Leger", "Cyr", "Michaud", "Sirois", "Pinard", "Rousseau", "Blais", "Gosselin",
)  # fmt: skip
STREETS: tuple[str, ...] = (
    "Queen St W", "King St E", "Yonge St", "Bloor St W", "Dundas St", "rue Sainte-Catherine",
    "boul. Saint-Laurent", "rue Sherbrooke", "avenue du Parc", "Main St", "Elm St",
    "Maple Ave", "Oak Dr", "Pine Cres", "rue Principale", "chemin du Lac", "Wellington St",
    "Bank St", "rue Saint-Denis", "Portage Ave", "Jasper Ave", "Granville St", "Robson St",
    "Spring Garden Rd", "Water St", "rue des Érables", "Church St", "Victoria Ave",
    "Lakeshore Blvd", "Rideau St",
)  # fmt: skip
#: (city, postal code first letter(s), province)
PLACES: tuple[tuple[str, str, str], ...] = (
    ("Toronto", "M", "ON"), ("Ottawa", "K", "ON"), ("Hamilton", "L", "ON"),
    ("Montréal", "H", "QC"), ("Québec", "G", "QC"), ("Sherbrooke", "J", "QC"),
    ("Winnipeg", "R", "MB"), ("Edmonton", "T", "AB"), ("Vancouver", "V", "BC"),
    ("Halifax", "B", "NS"), ("Moncton", "E", "NB"), ("St. John's", "A", "NL"),
)  # fmt: skip
MAIL_DOMAINS = ("example.org", "example.com", "example.net", "courriel.example")
KEYBOARD_NEIGHBOURS = "qwertyuiopasdfghjklzxcvbnm"

COLUMNS = (
    "record_id",
    "given_names",
    "family_name",
    "birth_date",
    "sex",
    "street_address",
    "locality",
    "postal_code",
    "phone",
    "email",
    "identifier_kind",
    "identifier",
)


@dataclass
class Person:
    """One made-up human being, as they truly are."""

    key: int
    given: str
    family: str
    birth: datetime.date
    sex: str
    street: str
    locality: str
    postal: str
    phone: str
    email: str
    sin: str
    twin_of: int | None = None


@dataclass
class Population:
    """The agencies' lists (rows of `COLUMNS`) and, apart, the truth about each row."""

    lists: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    #: (agency, record_id) -> the person's key.
    truth: dict[tuple[str, str], int] = field(default_factory=dict)
    #: (agency, record_id) -> the kinds of noise that copy got.
    noise: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @property
    def record_count(self) -> int:
        return sum(len(rows) for rows in self.lists.values())


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _luhn_complete(rng: random.Random) -> str:
    """A 9-digit number passing the Luhn check (not starting with 0 or 8: never issued)."""
    digits = [rng.choice("1234567")] + [rng.choice("0123456789") for _ in range(7)]
    for check in "0123456789":
        candidate = "".join(digits) + check
        total = 0
        for position, char in enumerate(reversed(candidate)):
            d = int(char)
            if position % 2 == 1:
                d = d * 2 - 9 if d * 2 > 9 else d * 2
            total += d
        if total % 10 == 0:
            return candidate
    raise AssertionError("a Luhn check digit always exists")


def _zipf_weights(n: int, exponent: float = 1.0) -> list[float]:
    return [1.0 / (rank**exponent) for rank in range(1, n + 1)]


class _Maker:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.given = list(GIVEN_NAMES)
        self.given_weights = _zipf_weights(len(self.given), 0.8)
        self.family_weights = _zipf_weights(len(FAMILY_NAMES), 0.9)
        self.used_sins: set[str] = set()

    def address(self) -> tuple[str, str, str]:
        rng = self.rng
        city, letter, _province = rng.choice(PLACES)
        street = f"{rng.randint(1, 2999)} {rng.choice(STREETS)}"
        postal = (
            f"{letter}{rng.randint(0, 9)}{rng.choice('ABCEGHJKLMNPRSTVXY')} "
            f"{rng.randint(0, 9)}{rng.choice('ABCEGHJKLMNPRSTVWXYZ')}{rng.randint(0, 9)}"
        )
        return street, city, postal

    def sin(self) -> str:
        while True:
            value = _luhn_complete(self.rng)
            if value not in self.used_sins:
                self.used_sins.add(value)
                return value

    def person(self, key: int) -> Person:
        rng = self.rng
        given = rng.choices(self.given, self.given_weights)[0]
        family = rng.choices(FAMILY_NAMES, self.family_weights)[0]
        birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randint(0, 25_000))
        street, city, postal = self.address()
        local = strip_accents(f"{given}.{family}").lower().replace(" ", "").replace("'", "")
        return Person(
            key=key,
            given=given,
            family=family,
            birth=birth,
            sex=GIVEN_NAMES[given][0],
            street=street,
            locality=city,
            postal=postal,
            phone=f"+1 {rng.randint(204, 905)} 555 {rng.randint(0, 9999):04d}",
            email=f"{local}{rng.randint(1, 999)}@{rng.choice(MAIL_DOMAINS)}",
            sin=self.sin(),
        )

    def twin(self, of: Person, key: int) -> Person:
        twin = self.person(key)
        while twin.given == of.given:
            twin = self.person(key)
        twin.family, twin.birth = of.family, of.birth
        twin.street, twin.locality, twin.postal = of.street, of.locality, of.postal
        twin.twin_of = of.key
        return twin

    def typo(self, text: str) -> str:
        rng = self.rng
        if len(text) < 3:
            return text
        i = rng.randint(1, len(text) - 2)
        kind = rng.choice(("swap", "drop", "replace", "double"))
        if kind == "swap":
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        if kind == "drop":
            return text[:i] + text[i + 1 :]
        if kind == "double":
            return text[:i] + text[i] + text[i:]
        return text[:i] + rng.choice(KEYBOARD_NEIGHBOURS) + text[i + 1 :]

    def copy(self, person: Person, agency: str, record_id: str, with_sin: bool):
        """One agency's record of the person, disturbed; and the noise it got."""
        rng = self.rng
        rates = NOISE_RATES
        noise: list[str] = []
        given, family, birth = person.given, person.family, person.birth
        street, city, postal = person.street, person.locality, person.postal
        nicknames = GIVEN_NAMES[person.given][1]
        if nicknames and rng.random() < rates["nickname"]:
            given = rng.choice(nicknames)
            noise.append("nickname")
        # Only women's names change at marriage here (half the people): twice the rate.
        if person.sex == "F" and rng.random() < rates["married_name"] * 2:
            family = rng.choice(FAMILY_NAMES)
            noise.append("married_name")
        if rng.random() < rates["typo"]:
            if rng.random() < 0.5:
                given = self.typo(given)
            else:
                family = self.typo(family)
            noise.append("typo")
        if rng.random() < rates["accents_dropped"] and strip_accents(given + family) != (
            given + family
        ):
            given, family = strip_accents(given), strip_accents(family)
            noise.append("accents_dropped")
        # A swap shows only when the day could be a month (about 36 % of dates).
        swappable = birth.day <= 12 and birth.day != birth.month
        if swappable and rng.random() < rates["day_month_swap"] / 0.36:
            birth = birth.replace(month=birth.day, day=birth.month)
            noise.append("day_month_swap")
        if rng.random() < rates["year_off_by_one"]:
            year = birth.year + rng.choice((-1, 1))
            day = min(birth.day, 28) if birth.month == 2 else birth.day
            birth = birth.replace(year=year, day=day)
            noise.append("year_off_by_one")
        if rng.random() < rates["moved"]:
            street, city, postal = self.address()
            noise.append("moved")
        phone, email = person.phone, person.email
        if rng.random() < rates["missing_phone"]:
            phone = ""
            noise.append("missing_phone")
        if rng.random() < rates["missing_email"]:
            email = ""
            noise.append("missing_email")
        if rng.random() < rates["missing_street"]:
            street = ""
            noise.append("missing_street")
        row = {
            "record_id": record_id,
            "given_names": given,
            "family_name": family,
            "birth_date": birth.isoformat(),
            "sex": person.sex,
            "street_address": street,
            "locality": city,
            "postal_code": postal,
            "phone": phone,
            "email": email,
            "identifier_kind": "ca-sin" if with_sin else "",
            "identifier": person.sin if with_sin else "",
        }
        return row, noise


def people(count: int, seed: int = 2026) -> Iterator[Person]:
    """`count` people, twins among them, with many namesakes."""
    maker = _Maker(seed)
    key = 0
    while key < count:
        person = maker.person(key)
        yield person
        key += 1
        if key < count and maker.rng.random() < TWIN_RATE:
            yield maker.twin(person, key)
            key += 1


def generate(
    people_count: int,
    agencies: list[str],
    *,
    seed: int = 2026,
    presence: float = 0.67,
    agencies_with_sin: int = 1,
) -> Population:
    """Write each person into a random subset of the agencies' lists (at least one).

    `presence` is the chance that a person is known to each agency; the first
    `agencies_with_sin` agencies hold the social insurance number (where the law lets them).
    """
    if not agencies:
        raise ValueError("at least one agency is needed")
    maker = _Maker(seed + 1)
    population = Population(lists={agency: [] for agency in agencies})
    counters = dict.fromkeys(agencies, 0)
    for person in people(people_count, seed):
        chosen = [a for a in agencies if maker.rng.random() < presence]
        if not chosen:
            chosen = [maker.rng.choice(agencies)]
        for agency in chosen:
            counters[agency] += 1
            record_id = f"{agency[:3].upper()}-{counters[agency]:07d}"
            with_sin = agencies.index(agency) < agencies_with_sin
            row, noise = maker.copy(person, agency, record_id, with_sin)
            population.lists[agency].append(row)
            population.truth[(agency, record_id)] = person.key
            population.noise[(agency, record_id)] = noise
    return population
