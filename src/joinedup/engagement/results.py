"""The results of a consultation: counts, the survey's answers and the proposals by support
and decision — each chart a plotly figure with its data table — and the open-data export of
the contributions, without the people who made them.

Every figure is an aggregate query: the page costs the same few queries for ten
participants or a hundred thousand.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch
from django.utils.translation import gettext as _

from joinedup.performance.charts import BLUE, Chart

from . import effects, participation
from .models import (
    Change,
    Comment,
    Consultation,
    Proposal,
    Support,
    SurveyAnswer,
    SurveyQuestion,
    Visibility,
)

TOP = 20


@dataclass
class Results:
    proposals: int
    comments: int
    supports: int
    participants: int
    decided: dict[str, int]
    charts: list[Chart] = field(default_factory=list)
    top: list[Proposal] = field(default_factory=list)


def bar_chart(
    chart_id: str, title: str, labels: list[str], counts: list[int], summary: str
) -> Chart:
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": labels,
            "x": counts,
            "marker": {"color": BLUE},
            "hovertemplate": "%{y}: %{x}<extra></extra>",
        }
    ]
    layout = {
        "font": {"family": "Source Sans Pro, Helvetica, Arial, sans-serif", "size": 14},
        "margin": {"l": 240, "r": 16, "t": 16, "b": 56},
        "xaxis": {"title": {"text": _("Count")}, "rangemode": "tozero"},
        "yaxis": {"automargin": True, "autorange": "reversed"},
        "showlegend": False,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
    }
    rows = [[label, count] for label, count in zip(labels, counts, strict=True)]
    return Chart(chart_id, title, summary, {"data": data, "layout": layout}, ["", _("Count")], rows)


def results(consultation: Consultation) -> Results:
    visible = Proposal.objects.filter(consultation=consultation, visibility=Visibility.VISIBLE)
    proposals = visible.count()
    comments = Comment.objects.filter(
        consultation=consultation, visibility=Visibility.VISIBLE
    ).count()
    given = Support.objects.filter(proposal__consultation=consultation)
    # Two linked registry records of one human support once (participation.linked_duplicates).
    supports = given.count() - sum(participation.linked_duplicates(given).values())
    participants = (
        Support.objects.filter(proposal__consultation=consultation)
        .order_by()
        .values("person_id")
        .union(
            Proposal.objects.filter(consultation=consultation, author__isnull=False)
            .order_by()
            .values("author_id"),
            Comment.objects.filter(consultation=consultation, author__isnull=False)
            .order_by()
            .values("author_id"),
            SurveyAnswer.objects.filter(question__consultation=consultation)
            .order_by()
            .values("person_id"),
        )
        .count()
    )
    decided = {
        row["decision"]: row["n"]
        for row in visible.exclude(decision="").values("decision").annotate(n=Count("id"))
    }
    top = list(visible.order_by("-supports_count", "created_at")[:TOP])
    charts = []
    if top:
        charts.append(
            bar_chart(
                "proposals-support",
                _("Proposals with the most support"),
                [p.title for p in top],
                [p.supports_count for p in top],
                _("%(n)s proposals; the most supported has %(top)s supports.")
                % {"n": proposals, "top": top[0].supports_count},
            )
        )
    if decided:
        labels = [Proposal.Decision(k).label for k in Proposal.Decision.values if k in decided]
        counts = [decided[k] for k in Proposal.Decision.values if k in decided]
        charts.append(
            bar_chart(
                "decisions",
                _("Decisions on proposals"),
                [str(label) for label in labels],
                counts,
                _("%(n)s of %(total)s proposals have a decision.")
                % {"n": sum(counts), "total": proposals},
            )
        )
    charts += survey_charts(consultation)
    return Results(proposals, comments, supports, participants, decided, charts, top)


def decided(consultation: Consultation):
    """The decided proposals, most supported first: the rows of "what we heard, what we
    did", to be paged (the changes of a page's proposals come in one more query)."""
    return (
        Proposal.objects.filter(consultation=consultation, visibility=Visibility.VISIBLE)
        .exclude(decision="")
        .order_by("-supports_count", "created_at", "pk")
        .prefetch_related(
            Prefetch(
                "changes",
                queryset=Change.objects.select_related("service_version", "bundle"),
            )
        )
    )


def what_we_did(proposals) -> list[dict]:
    """ "What we heard, what we did" for some decided proposals (a page of `decided`): each
    with its decision and reasons, the changes it produced and their measured effect as
    recorded."""
    found = []
    for proposal in proposals:
        changes = []
        for change in proposal.changes.all():
            measured = effects.Effect.from_data(change.measured)
            changes.append(
                {
                    "change": change,
                    "figures": effects.summary(measured) if measured is not None else "",
                }
            )
        found.append({"proposal": proposal, "changes": changes})
    return found


def survey_charts(consultation: Consultation) -> list[Chart]:
    """One chart per choice or scale question (free text is read, not charted)."""
    questions = list(
        SurveyQuestion.objects.filter(consultation=consultation).exclude(
            kind=SurveyQuestion.Kind.TEXT
        )
    )
    counts: dict[int, dict[str, int]] = {}
    for row in (
        SurveyAnswer.objects.filter(question__in=questions)
        .values("question_id", "value")
        .annotate(n=Count("id"))
    ):
        counts.setdefault(row["question_id"], {})[row["value"]] = row["n"]
    charts = []
    for question in questions:
        found = counts.get(question.pk, {})
        if question.kind == SurveyQuestion.Kind.SCALE:
            keys = ["1", "2", "3", "4", "5"]
            labels = keys
        else:
            keys = [o.get("key") for o in question.options]
            labels = [question.option_label(k) for k in keys]
        values = [found.get(k, 0) for k in keys]
        charts.append(
            bar_chart(
                f"survey-{question.key}",
                question.text,
                labels,
                values,
                _("%(n)s answers.") % {"n": sum(values)},
            )
        )
    return charts


class _Line:
    """A file-like target for csv.writer that hands back each written line."""

    def write(self, text: str) -> str:
        return text


def open_data_lines(consultation: Consultation):
    """The published contributions, without authors or accounts (anonymised), as CSV lines
    read in chunks: a consultation of a million contributions is streamed, never held
    whole in memory."""
    writer = csv.writer(_Line())
    yield writer.writerow(
        ["type", "id", "proposal", "parent", "created", "supports", "decision", "text"]
    )
    proposals = (
        Proposal.objects.filter(consultation=consultation, visibility=Visibility.VISIBLE)
        .order_by("pk")
        .values_list("kind", "pk", "created_at", "supports_count", "decision", "title", "body")
    )
    for kind, pk, created, supports, decision, title, body in proposals.iterator(2000):
        yield writer.writerow(
            [kind, pk, "", "", created.date().isoformat(), supports, decision, f"{title}\n{body}"]
        )
    comments = (
        Comment.objects.filter(consultation=consultation, visibility=Visibility.VISIBLE)
        .order_by("pk")
        .values_list("pk", "proposal_id", "parent_id", "created_at", "body")
    )
    for pk, proposal, parent, created, body in comments.iterator(2000):
        yield writer.writerow(
            ["comment", pk, proposal, parent or "", created.date().isoformat(), "", "", body]
        )


def open_data_csv(consultation: Consultation) -> str:
    """The open data as one text (small consultations, tests); the page streams it."""
    return "".join(open_data_lines(consultation))
