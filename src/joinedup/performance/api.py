"""GET /performance/kpis: the published measures, from the rollups (public, paginated).

Each result is one group — by default a service in a delivering jurisdiction — over the
period asked for. Figures resting on fewer transactions or answers than the publication
threshold are null and named in `suppressed`.

With `dimension` (a client-group dimension: age_band, language, area, mandate,
accessibility, newcomer, business_size), each result is also one group of clients, named in
`group` and `group_name`; small cells are hidden with secondary suppression within each
combination of the other keys (see `groups.publish_by_group`), so that no hidden figure can
be recovered from the total given without `dimension`.
"""

from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import paginate

from joinedup.apicontract import Pages
from joinedup.identity.api_auth import api_auth

from . import groups, kpis

router = Router(tags=["performance"])

GROUPS = {
    "service": ("service_key",),
    "service,jurisdiction": ("service_key", "jurisdiction"),
    "service,jurisdiction,channel": ("service_key", "jurisdiction", "channel"),
    "jurisdiction": ("jurisdiction",),
    "service,month": ("service_key", "month"),
}


class KpiFilters(Schema):
    service: str | None = Field(None, description="A catalogue key, e.g. ca.birth-certificate")
    jurisdiction: str | None = Field(None, description="A delivering jurisdiction, e.g. CA-ON")
    channel: str | None = Field(None, description="online, counter, phone, mail, video, partner")
    period: str = Field("12m", description="12m (the last twelve months), 2025, 2025-Q2 or 2025-04")
    by: Literal[
        "service",
        "service,jurisdiction",
        "service,jurisdiction,channel",
        "jurisdiction",
        "service,month",
    ] = Field("service,jurisdiction", description="How the figures are grouped")
    dimension: str | None = Field(
        None,
        description=(
            "A client-group dimension: the figures of each group as well (age_band, language, "
            "area, mandate, accessibility, newcomer, business_size)"
        ),
    )


class KpiOut(Schema):
    service: str | None = None
    jurisdiction: str | None = None
    channel: str | None = None
    month: str | None = None
    period: str
    dimension: str | None = None
    group: str | None = Field(None, description="The group's value; empty: not known")
    group_name: str | None = Field(None, description="The group's name, in the language asked")
    started: int | None
    completions: int | None
    completion_rate: float | None = Field(description="Share 0–1; not eligible counts as done")
    digital_take_up: float | None = Field(description="Digital completions ÷ all completions")
    within_standard: float | None = Field(description="Share of completions within standard")
    median_days: int | None
    p90_days: int | None
    p95_days: int | None
    cost_per_transaction: float | None
    digital_cost_per_transaction: float | None
    currency: str
    satisfaction: float | None = Field(description="0–100")
    trust: float | None = Field(description="0–100")
    responses: int | None
    response_rate: float | None
    suppressed: list[str] = Field(description="Figures left out: too few cases to publish")


def published(figures: kpis.Figures, period: kpis.Period) -> dict:
    return named(figures.published(), period)


def named(record: dict, period: kpis.Period) -> dict:
    """A published record with the API's names for its keys and the period's code."""
    if "service_key" in record:
        record["service"] = record.pop("service_key")
    if "month" in record:
        record["month"] = record["month"].strftime("%Y-%m")
    record["period"] = period.code
    return record


@router.get(
    "/performance/kpis",
    response=list[KpiOut],
    auth=api_auth("public"),
    summary="Performance figures (completion, take-up, timeliness, cost, satisfaction)",
)
@paginate(Pages)
def kpi_list(request: HttpRequest, filters: Query[KpiFilters]):
    try:
        period = kpis.parse_period(filters.period)
    except kpis.PeriodError as error:
        raise HttpError(400, str(error)) from None
    dimension = filters.dimension
    if dimension is not None and dimension not in groups.DIMENSIONS:
        raise HttpError(
            400,
            _("“%(dimension)s” is not a client-group dimension. Use one of: %(offered)s.")
            % {"dimension": dimension, "offered": ", ".join(groups.DIMENSIONS)},
        )
    figures = kpis.compute(
        period,
        GROUPS[filters.by] + (("group",) if dimension else ()),
        service=filters.service,
        jurisdictions=[filters.jurisdiction.upper()] if filters.jurisdiction else None,
        channel=filters.channel,
        dimension=dimension,
    )
    if dimension is None:
        return [published(item, period) for item in figures]
    found = []
    for record in groups.publish_by_group(figures, dimension):
        record["dimension"] = dimension
        found.append(named(record, period))
    return found
