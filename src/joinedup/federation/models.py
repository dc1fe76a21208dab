"""The federation registry: who governs where, who delivers what, and on which terms.

Names and descriptions are kept per language (see `localization`); the codes and keys are
what other systems and the data files refer to, so they never change meaning once loaded.
"""

import datetime
import re
import zoneinfo
from decimal import Decimal

import holidays
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from .localization import pick, search_text

JURISDICTION_CODE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,6})*$")
CATALOGUE_KEY = re.compile(r"^[a-z0-9]+([.-][a-z0-9]+)*$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOUR = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class Channel(models.TextChoices):
    ONLINE = "online", _("Online")
    COUNTER = "counter", _("In person")
    PHONE = "phone", _("By phone")
    MAIL = "mail", _("By mail")
    VIDEO = "video", _("By video call")
    PARTNER = "partner", _("Through a partner's system")
    REFERRAL = "referral", _("By referral from another organisation")


def validate_channels(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(_("Channels must be a list of channel names."))
    unknown = sorted(set(value) - set(Channel.values))
    if unknown:
        raise ValidationError(
            _("Unknown channel(s): %(unknown)s. Known channels: %(known)s."),
            params={"unknown": ", ".join(unknown), "known": ", ".join(Channel.values)},
        )


def validate_texts(value: object) -> None:
    """A language → text mapping with at least one non-empty text."""
    if not isinstance(value, dict) or not value:
        raise ValidationError(_('Give the text in at least one language, e.g. {"en": "…"}.'))
    for language, text in value.items():
        if not re.fullmatch(r"[a-z]{2,3}", str(language)):
            raise ValidationError(
                _("%(language)s is not a language code such as en or fr."),
                params={"language": language},
            )
        if not isinstance(text, str):
            raise ValidationError(_("Each text must be a string."))


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _("%(value)s is not a time zone name such as America/Toronto."),
            params={"value": value},
        ) from None


def validate_hours(value: object) -> None:
    """Opening hours: {"mon": [["08:30", "16:30"]], ...}; days left out are closed."""
    if not isinstance(value, dict):
        raise ValidationError(_("Opening hours must map weekdays to lists of time ranges."))
    for day, ranges in value.items():
        if day not in WEEKDAYS:
            raise ValidationError(
                _("%(day)s is not a weekday; use one of %(days)s."),
                params={"day": day, "days": ", ".join(WEEKDAYS)},
            )
        if not isinstance(ranges, list):
            raise ValidationError(_("Opening hours for a day must be a list of ranges."))
        for opening in ranges:
            if (
                not isinstance(opening, list)
                or len(opening) != 2
                or not all(isinstance(t, str) and HOUR.match(t) for t in opening)
                or opening[0] >= opening[1]
            ):
                raise ValidationError(
                    _('%(day)s: each range is ["HH:MM", "HH:MM"] with the start first.'),
                    params={"day": day},
                )


class LocalizedNameMixin:
    names: dict

    @property
    def name(self) -> str:
        return pick(self.names)

    def __str__(self) -> str:
        return self.name or getattr(self, "key", "") or getattr(self, "code", "")


class Jurisdiction(LocalizedNameMixin, models.Model):
    """A level of government with an area: a country, a province, a city, a First Nation."""

    class Level(models.TextChoices):
        NATIONAL = "national", _("National")
        SUBNATIONAL = "subnational", _("Provincial, territorial or state")
        LOCAL = "local", _("Municipal or local")
        INDIGENOUS = "indigenous", _("Indigenous government")

    # Which levels may sit directly under which: a tree that reads like a constitution.
    ALLOWED_PARENT_LEVELS = {
        Level.NATIONAL: set(),
        Level.SUBNATIONAL: {Level.NATIONAL},
        Level.LOCAL: {Level.NATIONAL, Level.SUBNATIONAL, Level.LOCAL},
        Level.INDIGENOUS: {Level.NATIONAL, Level.SUBNATIONAL},
    }

    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        validators=[RegexValidator(JURISDICTION_CODE, _("Use an ISO 3166-2 style code."))],
        help_text=_("ISO 3166-2 style: CA, CA-ON, CA-ON-TOR. A child's code extends its parent's."),
    )
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(
        _("path"),
        max_length=400,
        db_index=True,
        editable=False,
        help_text=_("Codes from the root down, separated by slashes; kept by save()."),
    )
    names = models.JSONField(_("names"), default=dict, validators=[validate_texts])
    official_languages = models.JSONField(_("official languages"), default=list, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, validators=[validate_time_zone])
    holiday_country = models.CharField(
        _("holiday calendar country"),
        max_length=3,
        blank=True,
        help_text=_("Country code for the holiday calendar; blank inherits the parent's."),
    )
    holiday_subdivision = models.CharField(
        _("holiday calendar subdivision"),
        max_length=10,
        blank=True,
        help_text=_("Subdivision of that country, e.g. ON or QC; blank for national holidays."),
    )
    illustrative = models.BooleanField(
        _("illustrative"),
        default=False,
        help_text=_("Demonstration data, not an authoritative record."),
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        blank=True,
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Use an ISO 4217 code such as CAD."))],
        help_text=_("ISO 4217 code of the money it budgets in; blank inherits the parent's."),
    )
    fiscal_year_first_month = models.PositiveSmallIntegerField(
        _("first month of the fiscal year"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text=_("1 to 12 (4 for April to March); blank inherits the parent's."),
    )

    class Meta:
        verbose_name = _("jurisdiction")
        verbose_name_plural = _("jurisdictions")
        ordering = ["path"]

    def clean(self) -> None:
        errors: dict[str, list] = {}
        allowed = self.ALLOWED_PARENT_LEVELS.get(self.level, set())
        parent = self.parent
        if parent is None and allowed:
            errors.setdefault("parent", []).append(
                _("A %(level)s jurisdiction needs a parent.")
                % {"level": self.get_level_display().lower()}
            )
        if parent is not None:
            if not allowed:
                errors.setdefault("parent", []).append(_("A national jurisdiction has no parent."))
            elif parent.level not in allowed:
                errors.setdefault("parent", []).append(
                    _("A %(level)s jurisdiction cannot sit under a %(parent)s one.")
                    % {
                        "level": self.get_level_display().lower(),
                        "parent": parent.get_level_display().lower(),
                    }
                )
            if self.code and not self.code.startswith(parent.code + "-"):
                errors.setdefault("code", []).append(
                    _("The code must extend the parent's code (%(parent)s-…).")
                    % {"parent": parent.code}
                )
            if self.pk and self._would_make_cycle(parent):
                errors.setdefault("parent", []).append(
                    _("A jurisdiction cannot sit under itself or one of its own descendants.")
                )
        if self.holiday_country:
            subdivisions = holidays.list_supported_countries().get(self.holiday_country)
            if subdivisions is None:
                errors.setdefault("holiday_country", []).append(
                    _("No holiday calendar is known for country %(country)s.")
                    % {"country": self.holiday_country}
                )
            elif self.holiday_subdivision and self.holiday_subdivision not in subdivisions:
                errors.setdefault("holiday_subdivision", []).append(
                    _("No holiday calendar is known for subdivision %(subdiv)s of %(country)s.")
                    % {"subdiv": self.holiday_subdivision, "country": self.holiday_country}
                )
        elif self.holiday_subdivision:
            errors.setdefault("holiday_country", []).append(
                _("Give the country of the holiday subdivision.")
            )
        if errors:
            raise ValidationError(errors)

    def _would_make_cycle(self, parent: "Jurisdiction") -> bool:
        node: Jurisdiction | None = parent
        seen: set[int] = set()
        while node is not None:
            if node.pk == self.pk or node.pk in seen:
                return True
            seen.add(node.pk)
            node = node.parent
        return False

    def save(self, *args, **kwargs) -> None:
        new_path = f"{self.parent.path}/{self.code}" if self.parent else self.code
        old_path = self.path
        self.path = new_path
        with transaction.atomic():
            super().save(*args, **kwargs)
            if old_path and old_path != new_path:
                # The subtree moved or was renamed: keep every descendant's path true.
                for child in Jurisdiction.objects.filter(path__startswith=old_path + "/"):
                    child.path = new_path + child.path[len(old_path) :]
                    Jurisdiction.objects.filter(pk=child.pk).update(path=child.path)

    @property
    def ancestor_codes(self) -> list[str]:
        """Codes from the root down to this jurisdiction, itself included."""
        return self.path.split("/")

    def contains(self, other: "Jurisdiction") -> bool:
        return other.path == self.path or other.path.startswith(self.path + "/")

    def descendants(self) -> models.QuerySet["Jurisdiction"]:
        return Jurisdiction.objects.filter(path__startswith=self.path + "/")

    def fiscal_terms(self) -> tuple[str, int]:
        """The currency and first month of the fiscal year, from the nearest level that sets
        them (a city budgets in its country's money; January when no level says)."""
        ancestors = {
            j.code: j
            for j in Jurisdiction.objects.filter(code__in=self.ancestor_codes).only(
                "code", "currency", "fiscal_year_first_month"
            )
        }
        ancestors[self.code] = self
        chain = [ancestors[c] for c in reversed(self.ancestor_codes) if c in ancestors]
        currency = next((j.currency for j in chain if j.currency), "")
        month = next((j.fiscal_year_first_month for j in chain if j.fiscal_year_first_month), 1)
        return currency, month


class Agency(LocalizedNameMixin, models.Model):
    """A ministry, agency, municipality, community organisation or shared-service provider."""

    class Kind(models.TextChoices):
        MINISTRY = "ministry", _("Ministry or department")
        AGENCY = "agency", _("Agency")
        MUNICIPALITY = "municipality", _("Municipality")
        COMMUNITY = "community_organisation", _("Community organisation")
        SHARED_SERVICES = "shared_service_provider", _("Shared-service provider")
        #: The jurisdiction's ombudsman: complaints not settled by an agency go there.
        OMBUDSMAN = "ombudsman", _("Ombudsman")

    key = models.SlugField(_("key"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    jurisdiction = models.ForeignKey(
        Jurisdiction,
        verbose_name=_("jurisdiction"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agencies",
        help_text=_("The government it belongs to; for a community organisation, where it works."),
    )
    names = models.JSONField(_("names"), default=dict, validators=[validate_texts])
    short_names = models.JSONField(_("short names"), default=dict, blank=True)
    website = models.URLField(_("website"), blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    search_text = models.TextField(editable=False, blank=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["key"]

    def clean(self) -> None:
        if self.jurisdiction_id is None and self.kind != self.Kind.COMMUNITY:
            raise ValidationError(
                {"jurisdiction": _("Only a community organisation may have no jurisdiction.")}
            )

    def save(self, *args, **kwargs) -> None:
        self.search_text = search_text(self.key, self.names, self.short_names)
        super().save(*args, **kwargs)

    @property
    def short_name(self) -> str:
        return pick(self.short_names) or self.name


class Office(LocalizedNameMixin, models.Model):
    """A place where an agency serves people, with its hours and channels."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.CASCADE, related_name="offices"
    )
    key = models.SlugField(_("key"), max_length=80, unique=True)
    names = models.JSONField(_("names"), default=dict, validators=[validate_texts])
    jurisdiction = models.ForeignKey(
        Jurisdiction,
        verbose_name=_("located in"),
        on_delete=models.PROTECT,
        related_name="offices",
    )
    street_address = models.CharField(_("street address"), max_length=200, blank=True)
    locality = models.CharField(_("city or town"), max_length=100, blank=True)
    region = models.CharField(_("province or state"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    hours = models.JSONField(
        _("opening hours"), default=dict, blank=True, validators=[validate_hours]
    )
    channels = models.JSONField(
        _("channels"), default=list, blank=True, validators=[validate_channels]
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    #: Where the office is, from its data file (no geocoding service is reachable): the
    #: directory of human services shows offices on the same map as its locations.
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )

    class Meta:
        verbose_name = _("office")
        verbose_name_plural = _("offices")
        ordering = ["agency__key", "key"]

    @property
    def address_lines(self) -> list[str]:
        place = " ".join(p for p in (self.locality, self.region, self.postal_code) if p)
        return [line for line in (self.street_address, place) if line]

    def opening_hours(self) -> list[tuple[str, list[list[str]]]]:
        """Hours in weekday order, closed days included as empty lists."""
        return [(day, self.hours.get(day, [])) for day in WEEKDAYS]


class Program(LocalizedNameMixin, models.Model):
    """A policy program owned by an agency: the unit that is funded and evaluated."""

    key = models.SlugField(_("key"), max_length=80, unique=True)
    agency = models.ForeignKey(
        Agency, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="programs"
    )
    names = models.JSONField(_("names"), default=dict, validators=[validate_texts])
    descriptions = models.JSONField(_("descriptions"), default=dict, blank=True)

    class Meta:
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        ordering = ["key"]


class LifeSituation(LocalizedNameMixin, models.Model):
    """A moment in life people recognise ("having a baby"), used to browse the catalogue."""

    key = models.SlugField(_("key"), max_length=64, unique=True)
    names = models.JSONField(_("names"), default=dict, validators=[validate_texts])
    descriptions = models.JSONField(_("descriptions"), default=dict, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("life situation")
        verbose_name_plural = _("life situations")
        ordering = ["position", "key"]

    @property
    def description(self) -> str:
        return pick(self.descriptions)


class Service(LocalizedNameMixin, models.Model):
    """A catalogue entry: what the public (or an agency) can get, and the standard promised."""

    class Frame(models.TextChoices):
        BACK_OFFICE = "back_office", _("Back office")
        TRANSACTIONAL = "transactional", _("Transactional")
        HUMAN_SERVICES = "human_services", _("Human services")

    class ClientType(models.TextChoices):
        PERSON = "person", _("People")
        BUSINESS = "business", _("Businesses")
        AGENCY = "agency", _("Agencies")

    class DayKind(models.TextChoices):
        BUSINESS = "business", _("business days")
        CALENDAR = "calendar", _("calendar days")

    class Assurance(models.IntegerChoices):
        SELF_ASSERTED = 1, _("Level 1: self-asserted")
        REMOTE = 2, _("Level 2: verified remotely")
        IN_PERSON = 3, _("Level 3: verified in person")

    key = models.CharField(
        _("catalogue key"),
        max_length=100,
        unique=True,
        validators=[RegexValidator(CATALOGUE_KEY, _("Lower-case words joined by - or ."))],
    )
    scope = models.ForeignKey(
        Jurisdiction,
        verbose_name=_("catalogue of"),
        on_delete=models.PROTECT,
        related_name="catalogue",
        help_text=_(
            "The jurisdiction whose catalogue lists this service; offerings lie within it."
        ),
    )
    program = models.ForeignKey(
        Program,
        verbose_name=_("program"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="services",
    )
    names = models.JSONField(_("names"), default=dict, validators=[validate_texts])
    descriptions = models.JSONField(_("descriptions"), default=dict, blank=True)
    frame = models.CharField(_("frame"), max_length=20, choices=Frame.choices)
    client_type = models.CharField(_("client type"), max_length=16, choices=ClientType.choices)
    channels = models.JSONField(_("channels"), default=list, validators=[validate_channels])
    standard_days = models.PositiveIntegerField(
        _("service standard (days)"),
        null=True,
        blank=True,
        help_text=_("Days to a decision under normal circumstances; blank when none is set."),
    )
    standard_day_kind = models.CharField(
        _("counted in"), max_length=10, choices=DayKind.choices, default=DayKind.BUSINESS
    )
    standard_target = models.DecimalField(
        _("target share within standard"),
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
        help_text=_("For example 0.900 for 90 % of applications within the standard."),
    )
    fee_amount = models.DecimalField(
        _("fee"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal(0))],
    )
    fee_currency = models.CharField(_("currency"), max_length=3, blank=True)
    required_assurance = models.PositiveSmallIntegerField(
        _("required level of assurance"), choices=Assurance.choices, default=Assurance.SELF_ASSERTED
    )
    evidence = models.JSONField(
        _("evidence produced"),
        default=list,
        blank=True,
        help_text=_("Keys of the documents or facts the service produces, e.g. birth-certificate."),
    )
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    life_situations = models.ManyToManyField(
        LifeSituation, verbose_name=_("life situations"), blank=True, related_name="services"
    )
    search_text = models.TextField(editable=False, blank=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(standard_target__isnull=True)
                | models.Q(standard_target__gte=0, standard_target__lte=1),
                name="service_target_is_a_share",
            ),
        ]

    def clean(self) -> None:
        if self.standard_target is not None and self.standard_days is None:
            raise ValidationError(
                {"standard_target": _("A target share needs a standard in days.")}
            )
        if self.fee_amount and not self.fee_currency:
            raise ValidationError({"fee_currency": _("Give the currency of the fee.")})

    def save(self, *args, **kwargs) -> None:
        self.search_text = search_text(
            self.key, self.names, self.descriptions, " ".join(map(str, self.keywords or []))
        )
        super().save(*args, **kwargs)

    @property
    def description(self) -> str:
        return pick(self.descriptions)


class Offering(models.Model):
    """Who delivers a service in an area: the basis of competent-authority routing."""

    service = models.ForeignKey(
        Service, verbose_name=_("service"), on_delete=models.CASCADE, related_name="offerings"
    )
    area = models.ForeignKey(
        Jurisdiction, verbose_name=_("area"), on_delete=models.PROTECT, related_name="offerings"
    )
    agency = models.ForeignKey(
        Agency,
        verbose_name=_("delivering agency"),
        on_delete=models.PROTECT,
        related_name="offerings",
    )
    program = models.ForeignKey(
        Program,
        verbose_name=_("program"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="offerings",
    )
    offices = models.ManyToManyField(
        Office, verbose_name=_("offices"), blank=True, related_name="offerings"
    )
    channels = models.JSONField(
        _("channels"),
        default=list,
        blank=True,
        validators=[validate_channels],
        help_text=_("Blank: the service's channels."),
    )
    standard_days = models.PositiveIntegerField(
        _("service standard (days)"),
        null=True,
        blank=True,
        help_text=_("Blank: the service's standard."),
    )
    fee_amount = models.DecimalField(
        _("fee"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("Blank: the service's fee."),
    )
    url = models.URLField(_("web page"), blank=True)

    class Meta:
        verbose_name = _("offering")
        verbose_name_plural = _("offerings")
        ordering = ["service__key", "area__path"]
        constraints = [
            models.UniqueConstraint(fields=["service", "area"], name="one_offering_per_area"),
        ]

    def __str__(self) -> str:
        return f"{self.service.key} @ {self.area.code} → {self.agency.key}"

    def clean(self) -> None:
        if self.service_id and self.area_id and not self.service.scope.contains(self.area):
            raise ValidationError(
                {
                    "area": _("The area lies outside the catalogue of %(scope)s.")
                    % {"scope": self.service.scope.code}
                }
            )

    @property
    def effective_channels(self) -> list[str]:
        return self.channels or self.service.channels

    @property
    def effective_standard_days(self) -> int | None:
        return self.standard_days if self.standard_days is not None else self.service.standard_days

    @property
    def effective_fee(self) -> Decimal:
        return self.fee_amount if self.fee_amount is not None else self.service.fee_amount


class PartnerRole(models.Model):
    """The part an agency plays in a service: who makes policy, regulates, delivers, pays."""

    class Role(models.TextChoices):
        POLICY_MAKER = "policy_maker", _("Policy maker")
        REGULATOR = "regulator", _("Regulator")
        OVERSEER = "overseer", _("Overseer")
        SERVICE_PROVIDER = "service_provider", _("Service provider")
        FUNDER = "funder", _("Funder")

    service = models.ForeignKey(
        Service, verbose_name=_("service"), on_delete=models.CASCADE, related_name="partner_roles"
    )
    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.PROTECT, related_name="partner_roles"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("partner role")
        verbose_name_plural = _("partner roles")
        ordering = ["service__key", "role", "agency__key"]
        constraints = [
            models.UniqueConstraint(fields=["service", "agency", "role"], name="one_role_once"),
        ]

    def __str__(self) -> str:
        return f"{self.agency.key}: {self.get_role_display()} ({self.service.key})"


class AgreementQuerySet(models.QuerySet):
    def in_force_on(self, day: datetime.date) -> "AgreementQuerySet":
        """Agreements signed by every party, started, not ended and not terminated on `day`."""
        unsigned = AgreementParty.objects.filter(
            agreement=models.OuterRef("pk"), signed_on__isnull=True
        )
        return (
            self.filter(start_date__lte=day)
            .filter(models.Q(end_date__isnull=True) | models.Q(end_date__gte=day))
            .filter(models.Q(terminated_on__isnull=True) | models.Q(terminated_on__gt=day))
            .filter(parties__isnull=False)
            .exclude(models.Exists(unsigned))
            .distinct()
        )


class Agreement(LocalizedNameMixin, models.Model):
    """A written agreement between agencies, in force once every party has signed."""

    class Kind(models.TextChoices):
        JOINT_DELIVERY = "joint_delivery", _("Joint delivery")
        DATA_SHARING = "data_sharing", _("Data sharing")
        SHARED_SERVICE = "shared_service", _("Shared service")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        AWAITING_SIGNATURES = "awaiting_signatures", _("Awaiting signatures")
        SIGNED = "signed", _("Signed, not yet in force")
        IN_FORCE = "in_force", _("In force")
        EXPIRED = "expired", _("Expired")
        TERMINATED = "terminated", _("Terminated")

    key = models.SlugField(_("key"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    names = models.JSONField(_("title"), default=dict, validators=[validate_texts])
    descriptions = models.JSONField(_("summary"), default=dict, blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    terminated_on = models.DateField(_("terminated on"), null=True, blank=True)
    services = models.ManyToManyField(
        Service, verbose_name=_("services covered"), blank=True, related_name="agreements"
    )
    terms = models.JSONField(
        _("terms"),
        default=dict,
        blank=True,
        help_text=_("Structured terms, e.g. the data categories, purposes and legal basis."),
    )

    objects = AgreementQuerySet.as_manager()

    class Meta:
        verbose_name = _("agreement")
        verbose_name_plural = _("agreements")
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="agreement_ends_after_start",
            ),
        ]

    def clean(self) -> None:
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": _("The end date is before the start date.")})

    def status_on(self, day: datetime.date | None = None) -> "Agreement.Status":
        """The status is derived, never stored: sign-offs and dates say it all."""
        day = day or datetime.date.today()
        if self.terminated_on and self.terminated_on <= day:
            return self.Status.TERMINATED
        signed = [party.signed_on is not None for party in self.parties.all()]
        if not any(signed):
            return self.Status.DRAFT
        if not all(signed):
            return self.Status.AWAITING_SIGNATURES
        if day < self.start_date:
            return self.Status.SIGNED
        if self.end_date and day > self.end_date:
            return self.Status.EXPIRED
        return self.Status.IN_FORCE

    @property
    def status(self) -> "Agreement.Status":
        return self.status_on()


class AgreementParty(models.Model):
    """One agency's part in an agreement, and its sign-off."""

    agreement = models.ForeignKey(
        Agreement, verbose_name=_("agreement"), on_delete=models.CASCADE, related_name="parties"
    )
    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.PROTECT, related_name="agreements"
    )
    role = models.CharField(
        _("role in the agreement"),
        max_length=40,
        blank=True,
        help_text=_("For example provider, recipient, host or client."),
    )
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    signed_by = models.CharField(_("signed by"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["agreement__key", "agency__key"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "agency"], name="one_party_once"),
        ]

    def __str__(self) -> str:
        return f"{self.agency.key} ({self.role or _('party')})"


class FederationLoad(models.Model):
    """A record of each load of federation data files: what, from where, when."""

    name = models.CharField(_("federation"), max_length=200)
    source = models.TextField(_("source"))
    checksum = models.CharField(_("checksum"), max_length=64)
    illustrative = models.BooleanField(_("illustrative"), default=False)
    counts = models.JSONField(_("records"), default=dict)
    loaded_at = models.DateTimeField(_("loaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("federation load")
        verbose_name_plural = _("federation loads")
        ordering = ["-loaded_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.loaded_at:%Y-%m-%d %H:%M})"
