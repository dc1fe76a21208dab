"""The rules' part of the public API: compute entitlements for a situation.

A public computation that stores nothing: anyone may ask what the law gives a household,
the way a published calculator answers. OpenFisca loads on the first call, not when the
web process starts.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from joinedup.apicontract import Refusal
from joinedup.identity.api_auth import api_auth

from .errors import PackageRefused, SituationError
from .places import jurisdictions_at

router = Router(tags=["rules"])


class CalculateIn(Schema):
    place: str = Field(
        description="Code of the jurisdiction where the household lives (CA-ON-TOR): the "
        "rules of that place and of every level above it stack.",
        examples=["CA-ON-TOR"],
    )
    period: str | None = Field(
        None,
        description="A month (2026-07): every benefit at the place is computed for it.",
        examples=["2026-07"],
    )
    situation: dict[str, Any] = Field(
        description="OpenFisca's situation: entities by plural (persons, families), each "
        "instance's variables by period; a variable asked for has null at its period.",
        examples=[
            {
                "persons": {"parent": {"age": {"2026-07": 34}}, "child": {"age": {"2026-07": 3}}},
                "families": {
                    "family": {
                        "parents": ["parent"],
                        "children": ["child"],
                        "adjusted_family_net_income": {"2025": 48000},
                    }
                },
            }
        ],
    )


class SourceOut(Schema):
    title: str
    href: str


class PackageOut(Schema):
    id: str
    jurisdiction: str
    version: str
    illustrative: bool = Field(description="Demonstration rules, not an authoritative record")


class BenefitOut(Schema):
    variable: str
    name: str
    jurisdiction: str
    package: str
    version: str = Field(description="Version of the rule package that computed it")
    service: str | None = Field(description="Catalogue key of the service to apply for it")
    entity: str = Field(description="Plural of the entity it is paid to (families, persons)")
    id: str = Field(description="The instance of that entity in the situation")
    period: str
    per_month: float
    per_year: float
    sources: list[SourceOut]
    trace: str = Field(description="Key of its explanation in `trace`")


class ParameterOut(Schema):
    name: str
    description: str
    value: Any
    in_force_since: str | None = Field(description="Date the value read took effect")
    illustrative: bool
    sources: list[SourceOut]


class StepOut(Schema):
    variable: str
    label: str
    period: str
    entity: str
    kind: str = Field(description="input (given), default (not given) or formula")
    values: dict[str, Any] = Field(description="Value per instance of the entity")
    source: str | None = Field(description="The law the variable's formula follows")
    parameters: list[ParameterOut]
    depends_on: list[str] = Field(description="Keys of the steps it was computed from")


class CalculationOut(Schema):
    place: str
    period: str | None
    packages: list[PackageOut]
    refused: list[str] = Field(description="Packages left out: their own test cases fail")
    benefits: list[BenefitOut]
    total_per_month: float = Field(description="Every benefit of the situation, per month")
    trace: dict[str, StepOut] = Field(description="Each step, keyed variable<period>")
    situation: dict[str, Any] = Field(description="The situation with the values asked filled")


@router.post(
    "/rules/calculate",
    response={200: CalculationOut, 422: Refusal, 503: Refusal},
    auth=api_auth("public"),
    summary="Compute the benefits of every level of government for a situation",
)
def calculate_situation(request: HttpRequest, body: CalculateIn):
    """Stacks the rule packages of the place and of every jurisdiction above it and
    computes, in OpenFisca's situation format, what was asked and every benefit there for
    the period, each with its explanation and legal sources. Stores nothing."""
    # OpenFisca loads on the first computation, never at web start-up.
    from .calculate import calculate

    try:
        jurisdictions = jurisdictions_at(body.place.strip().upper())
        result = calculate(
            body.situation,
            jurisdictions=jurisdictions,
            period=body.period,
            language=(get_language() or "en")[:2],
        )
    except SituationError as error:
        return Status(
            422,
            Refusal(
                detail=str(error),
                code="situation",
                # Where the situation is wrong, for a client that points at the field.
                errors=[
                    {"entity": error.entity, "variable": error.variable, "period": error.period}
                ],
            ),
        )
    except PackageRefused:
        return Status(503, Refusal(detail=_("The rules for this place are unavailable.")))
    return Status(
        200,
        CalculationOut(
            place=jurisdictions[-1],
            period=result.period,
            packages=[PackageOut(**_package(p)) for p in result.packages],
            refused=result.refused,
            benefits=[BenefitOut(**vars(b)) for b in result.benefits],
            total_per_month=result.total_per_month,
            trace=result.trace,
            situation=result.situation,
        ),
    )


def _package(package) -> dict[str, Any]:
    return {
        "id": package.id,
        "jurisdiction": package.jurisdiction,
        "version": package.version,
        "illustrative": package.illustrative,
    }
