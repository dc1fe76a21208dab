"""The journey in the browser, kept in a draft: screening questions → the person's own list
of legs → the unified form (prefilled; a page whose every answer is already known is not
asked again) → the preview per agency with a consent per leg and the choice to leave any
leg out → submit. The pages call these functions; the rules live in the modules they call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.http import Http404

from joinedup.delivery import formdefs as forms
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person

from . import definitions, prefill, preview, screening, submission
from .models import Bundle, BundleDraft, BundleSubmission

SCREENING_PAGE = "questions"


def start(context: ActingContext, bundle: Bundle) -> BundleDraft:
    """Resume the open draft of this bundle for this person, or start one, prefilled."""
    draft = BundleDraft.objects.filter(
        user_id=context.user_id, subject_id=context.subject_id, bundle=bundle, submitted=None
    ).first()
    if draft is not None:
        return draft
    subject = Person.objects.get(pk=context.subject_id)
    known = prefill.known(context, subject, bundle)
    return BundleDraft.objects.create(
        user_id=context.user_id,
        subject=subject,
        bundle=bundle,
        answers=known.values,
        step=SCREENING_PAGE,
    )


def load(context: ActingContext, draft_id) -> BundleDraft:
    """The account's own open draft for the person it acts for, or 404."""
    draft = (
        BundleDraft.objects.select_related("bundle", "subject")
        .filter(pk=draft_id, user_id=context.user_id, subject_id=context.subject_id, submitted=None)
        .first()
    )
    if draft is None:
        raise Http404
    return draft


def screening_page(draft: BundleDraft, errors: list[forms.FieldError] = ()) -> forms.Page:
    definition = definitions.screening_form(draft.bundle)
    return forms.build_page(definition, forms.page_keys(definition)[0], draft.screening, errors)


def save_screening(draft: BundleDraft, post: Mapping[str, Any]) -> list[forms.FieldError]:
    definition = definitions.screening_form(draft.bundle)
    page = forms.page_keys(definition)[0]
    data = forms.read_page(definition, page, post, draft.screening)
    cleaned, errors = forms.validate(definition, data)
    draft.screening = data if errors else cleaned
    draft.step = SCREENING_PAGE
    draft.save(update_fields=["screening", "step", "updated_at"])
    return errors


def plans(context: ActingContext, draft: BundleDraft) -> list[screening.LegPlan]:
    return screening.plan(draft.bundle, context, draft.subject, draft.screening)


def kept(context: ActingContext, draft: BundleDraft, found: list | None = None) -> list[str]:
    return preview.kept_leg_keys(
        found if found is not None else plans(context, draft), draft.dropped
    )


def form_for(context: ActingContext, draft: BundleDraft) -> dict:
    """The unified form cut to the legs kept (every leg the screening includes, less those
    left out at the preview)."""
    return definitions.unified_form(draft.bundle, kept(context, draft))


def _page_known(definition: dict, page: str, answers: Mapping, known: set[str]) -> bool:
    fields = next(p["fields"] for p in forms.pages_of(definition) if p["key"] == page)
    if not fields or not all(name in known and name in answers for name in fields):
        return False
    _cleaned, errors = forms.validate_page(definition, page, answers)
    return not errors


def next_page(
    context: ActingContext, draft: BundleDraft, definition: dict, after: str | None
) -> str | None:
    """The next page to ask, skipping pages whose every answer is already known; None when
    the form is done (then comes the preview)."""
    keys = forms.page_keys(definition)
    start_at = keys.index(after) + 1 if after in keys else 0
    known = set(prefill.known(context, draft.subject, draft.bundle).values)
    for key in keys[start_at:]:
        if not _page_known(definition, key, draft.answers, known):
            return key
    return None


@dataclass
class PagePlace:
    """Where a page stands among the pages the person is shown, and whether anything on it
    was filled in from what the platform already knows."""

    number: int
    count: int
    prefilled: bool


def page_place(
    context: ActingContext, draft: BundleDraft, definition: dict, page: str
) -> PagePlace:
    """The page's number among the pages shown (pages skipped as already known are not
    counted, unless it is the page itself, opened again from the check page), and whether a
    field of it holds a value the platform knew before the person typed anything."""
    known = prefill.known(context, draft.subject, draft.bundle).values
    shown = [
        key
        for key in forms.page_keys(definition)
        if key == page or not _page_known(definition, key, draft.answers, set(known))
    ]
    fields = next(p["fields"] for p in forms.pages_of(definition) if p["key"] == page)
    prefilled = any(known.get(name) not in (None, "", [], {}) for name in fields)
    return PagePlace(shown.index(page) + 1, len(shown), prefilled)


def save_page(
    draft: BundleDraft, definition: dict, page: str, post: Mapping[str, Any]
) -> list[forms.FieldError]:
    data = forms.read_page(definition, page, post, draft.answers)
    draft.answers = data
    draft.step = page
    draft.save(update_fields=["answers", "step", "updated_at"])
    if post.get("add") or post.get("remove"):
        return []
    _cleaned, errors = forms.validate_page(definition, page, data)
    return errors


def page_of_field(definition: dict, name: str) -> str | None:
    for page in forms.pages_of(definition):
        if name in page.get("fields", []):
            return page["key"]
    return None


def build_preview(context: ActingContext, draft: BundleDraft) -> preview.Preview:
    found = plans(context, draft)
    definition = definitions.unified_form(draft.bundle, preview.kept_leg_keys(found, draft.dropped))
    properties = forms.schema_of(definition).get("properties") or {}
    answers = {k: v for k, v in draft.answers.items() if k in properties}
    cleaned, _errors = forms.validate(definition, answers)
    return preview.build(
        context,
        draft.subject,
        draft.bundle,
        draft.screening,
        cleaned or answers,
        draft.dropped,
        plans=found,
    )


def drop(draft: BundleDraft, leg: str) -> None:
    if leg and leg not in draft.dropped:
        draft.dropped = [*draft.dropped, leg]
        draft.save(update_fields=["dropped", "updated_at"])


def restore(draft: BundleDraft, leg: str) -> None:
    if leg in draft.dropped:
        draft.dropped = [key for key in draft.dropped if key != leg]
        draft.save(update_fields=["dropped", "updated_at"])


def to_submit(context: ActingContext, draft: BundleDraft) -> tuple[dict, list[str]]:
    """The draft's answers to the legs kept, and the legs left out: what is submitted (also
    by the counter, which submits a draft for the person in front of the agent)."""
    found = plans(context, draft)
    definition = definitions.unified_form(draft.bundle, preview.kept_leg_keys(found, draft.dropped))
    properties = forms.schema_of(definition).get("properties") or {}
    answers = {k: v for k, v in draft.answers.items() if k in properties}
    dropped = [key for key in draft.dropped if any(p.key == key and p.included for p in found)]
    return answers, dropped


def submit(context: ActingContext, draft: BundleDraft, consents: list[str]) -> BundleSubmission:
    """Submit the draft (idempotent: the draft's id is the key). Raises BundleError."""
    draft.consents = consents
    draft.save(update_fields=["consents", "updated_at"])
    answers, dropped = to_submit(context, draft)
    made, _created = submission.submit_bundle(
        context,
        draft.bundle.key,
        answers,
        consents,
        dropped,
        f"draft:{draft.pk}",
        screening=draft.screening,
    )
    draft.submitted = made
    draft.save(update_fields=["submitted", "updated_at"])
    return made
