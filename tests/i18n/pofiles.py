"""Read the project's gettext catalogues and the strings its code marks for translation.

Neither polib nor babel is a dependency of the project, and the catalogues use only the plain
subset of the PO format (msgctxt, msgid, msgid_plural, msgstr, msgstr[n], flags and comments),
so a small reader here is enough: it keeps the checks runnable wherever the suite runs.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "src" / "joinedup"


@dataclass
class Entry:
    """One message of a catalogue."""

    catalogue: Path
    line: int
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)

    @property
    def translations(self) -> tuple[str, ...]:
        return tuple(self.msgstr[i] for i in sorted(self.msgstr))

    @property
    def untranslated(self) -> bool:
        return not self.msgstr or any(not s for s in self.msgstr.values())

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags


def _unquote(text: str) -> str:
    text = text.strip()
    if not (text.startswith('"') and text.endswith('"')):
        raise ValueError(f"not a quoted PO string: {text!r}")
    return ast.literal_eval(text)


def read_catalogue(path: Path) -> list[Entry]:
    """The entries of one .po file, header excluded."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int | None] | None = None
    pending_flags: set[str] = set()

    def finish() -> None:
        nonlocal current
        if current is not None and not (current.msgid == "" and current.msgctxt is None):
            entries.append(current)
        current = None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            continue
        if line.startswith("#,"):
            pending_flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            if current is None or target is None:
                raise ValueError(f"{path}:{number}: continuation outside an entry")
            name, index = target
            value = _unquote(line)
            if name == "msgstr":
                current.msgstr[index or 0] += value
            else:
                setattr(current, name, getattr(current, name) + value)
            continue
        # An entry starts at its msgctxt, or at its msgid when it has no context.
        awaiting_msgid = current is not None and current.msgctxt is not None and not current.msgid
        if keyword == "msgctxt" or (keyword == "msgid" and not awaiting_msgid):
            finish()
            current = Entry(catalogue=path, line=number, flags=pending_flags)
            pending_flags = set()
        if current is None:
            raise ValueError(f"{path}:{number}: unexpected {keyword}")
        current.obsolete = current.obsolete or obsolete
        match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
        if match:
            index = int(match.group(1))
            current.msgstr[index] = _unquote(rest)
            target = ("msgstr", index)
        elif keyword == "msgstr":
            current.msgstr[0] = _unquote(rest)
            target = ("msgstr", 0)
        elif keyword in ("msgctxt", "msgid", "msgid_plural"):
            setattr(current, keyword, _unquote(rest))
            target = (keyword, None)
        else:
            raise ValueError(f"{path}:{number}: unknown keyword {keyword}")
    finish()
    return [e for e in entries if not e.obsolete]


def french_catalogues() -> list[Path]:
    """Every French catalogue of the project: the project's own first, then each app's."""
    project = PACKAGE_DIR / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    apps = sorted(PACKAGE_DIR.glob("*/locale/fr/LC_MESSAGES/django.po"))
    return [project, *apps]


def all_entries() -> list[Entry]:
    return [entry for path in french_catalogues() for entry in read_catalogue(path)]


@dataclass(frozen=True)
class Marked:
    """A string the code marks for translation."""

    source: Path
    line: int
    msgid: str
    msgctxt: str | None


_GETTEXT_NAMES = {
    "_": (None, 0),
    "gettext": (None, 0),
    "gettext_lazy": (None, 0),
    "gettext_noop": (None, 0),
    "_lazy": (None, 0),
    "ngettext": (None, 0),
    "ngettext_lazy": (None, 0),
    "pgettext": (0, 1),
    "pgettext_lazy": (0, 1),
    "npgettext": (0, 1),
    "npgettext_lazy": (0, 1),
}


def python_strings(path: Path) -> list[Marked]:
    """Literal strings passed to the gettext family in one Python module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Marked] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name not in _GETTEXT_NAMES:
            continue
        context_at, msgid_at = _GETTEXT_NAMES[name]
        args = node.args
        if len(args) <= msgid_at:
            continue
        msgid = args[msgid_at]
        if not (isinstance(msgid, ast.Constant) and isinstance(msgid.value, str)):
            continue
        context = None
        if context_at is not None:
            ctx = args[context_at]
            if not (isinstance(ctx, ast.Constant) and isinstance(ctx.value, str)):
                continue
            context = ctx.value
        found.append(Marked(path, node.lineno, msgid.value, context))
    return found


_STRING = r"""(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')"""
_TRANSLATE = re.compile(r"{%\s*(?:translate|trans)\s+" + _STRING + r"(?P<rest>[^%]*)%}", re.DOTALL)
_CONTEXT = re.compile(r"\bcontext\s+" + _STRING)
_BLOCK = re.compile(
    r"{%\s*(?:blocktranslate|blocktrans)\b(?P<args>[^%]*)%}(?P<body>.*?)"
    r"(?:{%\s*plural\s*%}(?P<plural>.*?))?{%\s*(?:endblocktranslate|endblocktrans)\s*%}",
    re.DOTALL,
)
_VARIABLE = re.compile(r"{{\s*([A-Za-z_][\w]*)\s*}}")


def _string_value(match: re.Match[str], first: int = 1) -> str:
    value = match.group(first) if match.group(first) is not None else match.group(first + 1)
    return value.replace('\\"', '"').replace("\\'", "'")


def template_strings(path: Path) -> list[Marked]:
    """The messages `{% translate %}` and `{% blocktranslate %}` tags ask for in a template."""
    text = path.read_text(encoding="utf-8")
    found: list[Marked] = []
    for match in _TRANSLATE.finditer(text):
        rest = match.group("rest")
        if re.search(r"\bnoop\b", rest):
            continue
        ctx = _CONTEXT.search(rest)
        line = text.count("\n", 0, match.start()) + 1
        # The tag doubles "%" before asking gettext (django.template.base.Variable).
        msgid = _string_value(match).replace("%", "%%")
        found.append(Marked(path, line, msgid, _string_value(ctx) if ctx else None))
    for match in _BLOCK.finditer(text):
        args = match.group("args")
        body = match.group("body")
        if re.search(r"\btrimmed\b", args):
            body = " ".join(part.strip() for part in body.strip().splitlines() if part.strip())
        msgid = _VARIABLE.sub(r"%(\1)s", body.replace("%", "%%"))
        ctx = _CONTEXT.search(args)
        line = text.count("\n", 0, match.start()) + 1
        found.append(Marked(path, line, msgid, _string_value(ctx) if ctx else None))
    return found


def marked_strings() -> list[Marked]:
    """Every message the project's code and templates mark for translation."""
    found: list[Marked] = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        found.extend(python_strings(path))
    for path in sorted(PACKAGE_DIR.rglob("templates/**/*.html")) + sorted(
        PACKAGE_DIR.rglob("templates/**/*.txt")
    ):
        found.extend(template_strings(path))
    return found
