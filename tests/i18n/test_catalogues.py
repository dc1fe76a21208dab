"""The French catalogues agree with each other and cover every string the code shows.

Django merges the project's catalogue and each app's into one table, the project's first and
then the apps in INSTALLED_APPS order: when two catalogues give one message (same context)
different French, only one wins, and the other app's pages silently show the wrong French.
"""

from __future__ import annotations

from collections import defaultdict

from tests.i18n import pofiles


def _where(entry: pofiles.Entry) -> str:
    return f"{entry.catalogue.relative_to(pofiles.PACKAGE_DIR)}:{entry.line}"


def test_reader_sees_every_catalogue_and_context() -> None:
    catalogues = pofiles.french_catalogues()
    assert catalogues[0] == pofiles.PACKAGE_DIR / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    assert len(catalogues) > 1
    entries = pofiles.all_entries()
    assert all(entry.msgid for entry in entries)
    # Contexts are read: the same English with two contexts is two messages.
    assert any(entry.msgctxt for entry in entries)


def test_one_message_has_one_french_across_catalogues() -> None:
    by_key: dict[tuple[str | None, str], list[pofiles.Entry]] = defaultdict(list)
    for entry in pofiles.all_entries():
        by_key[entry.key].append(entry)
    clashes = []
    for (context, msgid), entries in sorted(by_key.items(), key=lambda item: item[0][1]):
        if len({entry.translations for entry in entries}) > 1:
            versions = "; ".join(f"{_where(e)} → {' | '.join(e.translations)!r}" for e in entries)
            label = f"{msgid!r}" + (f" (context {context!r})" if context else "")
            clashes.append(f"{label}: {versions}")
    assert not clashes, (
        f"{len(clashes)} message(s) have different French in two catalogues; give the "
        "app-specific meaning a pgettext context or use the same French:\n" + "\n".join(clashes)
    )


def test_no_empty_or_fuzzy_french() -> None:
    problems = [
        f"{_where(entry)}: {entry.msgid!r} is {'fuzzy' if entry.fuzzy else 'empty'}"
        for entry in pofiles.all_entries()
        if entry.fuzzy or entry.untranslated
    ]
    assert not problems, "French entries that Django would not use:\n" + "\n".join(problems)


def test_every_marked_string_has_french() -> None:
    known = {entry.key for entry in pofiles.all_entries() if not entry.untranslated}
    marked = pofiles.marked_strings()
    assert len(marked) > 1000  # the scan reaches the templates and the code
    missing = sorted(
        {
            f"{m.source.relative_to(pofiles.PACKAGE_DIR)}:{m.line}: {m.msgid!r}"
            + (f" (context {m.msgctxt!r})" if m.msgctxt else "")
            for m in marked
            if (m.msgctxt, m.msgid) not in known
        }
    )
    assert not missing, "Strings shown to people with no French in any catalogue:\n" + "\n".join(
        missing
    )
