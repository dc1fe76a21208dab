"""The demo's data files, and loading them with the platform's own loaders.

The platform's loaders take paths and know no demo: this module gives them the demo's.

    data/federations/   the demo federations, one folder each (canada, australia)
    data/delivery/      service versions (form + BPMN process) for the services the
                        delivery pages show: `services/*.json`, `processes/*.bpmn`
    data/bundles/       the life-event bundles (`bundles/`), and the versions of the
                        services their legs need that delivery's do not deploy
                        (`services/`, `processes/`)
    data/funding/       funding packages (Fiscal Data Package) per demo federation
    data/care/directory/ the directory of human services: an HSDS 3 data package
    data/places/        service areas and jurisdictions' shapes (GeoJSON; synthetic boxes,
                        not real boundaries), one file per demo federation
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from joinedup.backoffice.loader import load_levels
from joinedup.bundles.loader import load_bundles
from joinedup.care import packages as care_packages
from joinedup.channels.appointments import counter_offices, open_hours
from joinedup.delivery import versions
from joinedup.engagement import loader as engagement_loader
from joinedup.federation.loader import LoadResult, discover, load_federation, read_document
from joinedup.federation.models import FederationLoad, Jurisdiction, Service
from joinedup.funding import fiscal, outcomes
from joinedup.funding import package as funding_package
from joinedup.funding import places as funding_places
from joinedup.funding.models import OutcomeAgreement
from joinedup.performance.models import Transaction

from .history.run import generate_history

DATA = Path(__file__).resolve().parent / "data"
FEDERATIONS = DATA / "federations"
SERVICE_VERSIONS = DATA / "delivery" / "services"
BUNDLES = DATA / "bundles"
FUNDING = DATA / "funding"
ENGAGEMENT = DATA / "engagement"
PLACES = DATA / "places"

# The federations the demo shows, in this order; each is a folder of data files.
DEMO_FEDERATIONS = ("canada", "australia")


def demo_root() -> Path:
    """The folder that holds the demo federations, one sub-folder each."""
    return FEDERATIONS


def federation_folder(name: str) -> Path:
    """One demo federation's folder: `federation_folder("canada")`."""
    return FEDERATIONS / name


def demo_federation_folders(root: Path | None = None) -> tuple[list[Path], str | None]:
    """The demo federation folders to load, and a note when they are not the usual ones.

    The usual ones are `DEMO_FEDERATIONS`; when some are missing (or hold no data file yet)
    the other folders found are loaded instead, and the note says so.
    """
    root = root or demo_root()
    folders = (
        sorted(p for p in root.iterdir() if p.is_dir() and _has_data(p)) if root.is_dir() else []
    )
    wanted = [root / name for name in DEMO_FEDERATIONS]
    if all(folder in folders for folder in wanted):
        return wanted, None
    missing = ", ".join(folder.name for folder in wanted if folder not in folders)
    if not folders:
        return [], _("No demo federation was found in %(root)s; the catalogue stays empty.") % {
            "root": root
        }
    return folders, _("The demo federation(s) %(missing)s are not there; loading %(found)s.") % {
        "missing": missing,
        "found": ", ".join(folder.name for folder in folders),
    }


def _has_data(folder: Path) -> bool:
    return any(p.suffix in {".yaml", ".yml", ".json"} for p in folder.rglob("*"))


def load_summary(result: LoadResult) -> str:
    """One line that says what a federation load wrote."""
    counts = ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in result.counts.items())
    note = _(" (illustrative)") if result.illustrative else ""
    return _("Loaded %(name)s%(note)s: %(counts)s.") % {
        "name": result.name,
        "note": note,
        "counts": counts,
    }


def files_checksum(folder: Path) -> str:
    """The digest the loader records for a folder's files (see `FederationLoad.checksum`)."""
    digest = hashlib.sha256()
    for path in discover([folder]):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_demo_federation(folder: Path) -> str:
    """Load one demo federation unless these very files were loaded before; say which.

    Loading twice changes nothing but takes seconds at every start, and would undo what a
    visitor changed in the admin since.
    """
    previous = FederationLoad.objects.filter(checksum=files_checksum(folder)).first()
    if previous is not None:
        return _("%(name)s: loaded already from the same files.") % {"name": previous.name}
    return load_summary(load_federation([folder], base=folder.parent))


def load_service_versions(*, skip_missing_services: bool = True) -> list[versions.Deployed]:
    """Deploy the demo's service versions (those of services the catalogue lacks are
    skipped unless `skip_missing_services` is false)."""
    return versions.load_paths([SERVICE_VERSIONS], skip_missing_services=skip_missing_services)


def load_demo_service_versions() -> str:
    """The demo's service versions, deployed; says how many were new."""
    deployed = load_service_versions()
    return _("Service versions: %(count)s deployed.") % {"count": sum(d.created for d in deployed)}


def load_demo_bundles() -> str:
    """The demo's bundles and the service versions their legs need, when the Canadian demo
    catalogue is there; says what was done (for the demo command's output)."""
    deployed = versions.load_paths([BUNDLES / "services"], skip_missing_services=True)
    needed = set()
    for path in discover([BUNDLES / "bundles"]):
        document, _problems = read_document(path, path.name)
        for bundle in (document.data if document else {}).get("bundles", []):
            needed.update(leg["service"] for leg in bundle.get("legs", []))
    if Service.objects.filter(key__in=needed).count() < len(needed):
        return _("Bundles: the demo catalogue they need is not loaded; none loaded.")
    result = load_bundles([BUNDLES / "bundles"], base=BUNDLES)
    return _(
        "Bundles: %(created)s new, %(updated)s updated, %(unchanged)s unchanged; "
        "%(versions)s service versions deployed for their legs."
    ) % {**result.counts, "versions": sum(d.created for d in deployed)}


def open_demo_appointments(days: int = 14) -> str:
    """Appointment times at every counter office for the next two weeks (30 minutes, two
    people each), so booking can be tried at once; times already offered are kept."""
    offices = counter_offices()
    added = sum(open_hours(office, timezone.localdate(), days) for office in offices)
    return _("Appointments: %(added)s times added at %(offices)s offices.") % {
        "added": added,
        "offices": len(offices),
    }


def load_demo_funding() -> str:
    """The Canadian demo's funding package (illustrative), when its federation is loaded,
    and the ended quarters of its outcome-based agreement computed for the funder."""
    if not Service.objects.filter(key="ca.settlement-services").exists():
        return _("Funding: the Canadian demo federation is not loaded; nothing loaded.")
    try:
        loaded = funding_package.load_package(FUNDING / "canada")
    except funding_package.PackageRefused as refused:
        return _("Funding: the demo package was refused: %(problems)s") % {
            "problems": "; ".join(refused.problems[:3])
        }
    today = timezone.localdate()
    computed = 0
    for agreement in OutcomeAgreement.objects.select_related("indicator", "allocation__calendar"):
        year = agreement.allocation.fiscal_year
        _currency, first_month = agreement.allocation.calendar.fiscal_terms()
        values = agreement.indicator.values.filter(
            current=True,
            period_end__lt=today,
            period_start__gte=fiscal.first_day(year, first_month),
            period_end__lte=fiscal.last_day(year, first_month),
        )
        for value in values.order_by("period_start"):
            if not agreement.payments.filter(period_start=value.period_start).exists():
                outcomes.compute_period(agreement, value.period_start, value.period_end, today)
                computed += 1
    counts = funding_package.describe_counts(loaded.counts) or _("nothing new")
    return _("Funding: %(counts)s; %(computed)s outcome payments computed.") % {
        "counts": counts,
        "computed": computed,
    }


def load_demo_places() -> str:
    """A place for every jurisdiction, and the synthetic shapes of the loaded federations."""
    loaded_codes = set(
        Jurisdiction.objects.filter(parent__isnull=True).values_list("code", flat=True)
    )
    files = [
        PLACES / f"{name}.geojson"
        for name in DEMO_FEDERATIONS
        if (PLACES / f"{name}.geojson").exists() and name[:2].upper() in loaded_codes
    ]
    try:
        loaded = funding_places.load_places(files)
    except funding_places.PlacesRefused as refused:
        return _("Places: the demo shapes were refused: %(problems)s") % {"problems": refused}
    return _("Places: %(jurisdictions)s jurisdictions, %(areas)s service areas.") % {
        "jurisdictions": loaded.jurisdictions,
        "areas": loaded.areas,
    }


def load_demo_engagement() -> str:
    """The ombudsmen, a consultation on the newborn bundle and a change initiative."""
    return engagement_loader.load_paths(sorted(ENGAGEMENT.glob("*.yaml")))


def load_demo_directory() -> str:
    """The demo's directory of human services (an HSDS 3 package, illustrative), when the
    Canadian demo federation whose agencies and places it names is loaded."""
    try:
        report = care_packages.load_package(DATA / "care" / "directory")
    except care_packages.PackageRefused as refused:
        return _("Directory of human services: not loaded (%(problem)s).") % {
            "problem": refused.problems[0]
        }
    return _("Directory of human services: %(count)s services loaded.") % {
        "count": report.counts.get("services.csv", 0)
    }


BACKOFFICE = DATA / "backoffice"


def load_demo_backoffice() -> str:
    """A provincial shared-services provider, its agreements and levels, and the federal
    provider's levels: when the Canadian demo federation they refer to is loaded."""
    folder = BACKOFFICE / "federation"
    if not FederationLoad.objects.filter(name__startswith="Canada").exists():
        return _("Shared services: not loaded (the Canadian demo federation is not there).")
    federation = load_demo_federation(folder)
    count = load_levels(BACKOFFICE / "levels.yaml")
    return _("%(federation)s Shared services: %(count)s service levels.") % {
        "federation": federation,
        "count": count,
    }


#: The same seed gives the same history (its size: the setting DEMO_HISTORY_TRANSACTIONS).
DEMO_HISTORY_SEED = 2024


def generate_demo_history() -> str:
    """Two years of synthetic, illustrative history — transactions with their costs, survey
    answers, the back office's work — with a progress bar, the first time only."""
    if Transaction.objects.exists():
        return _("Synthetic history: there already.")
    count = settings.DEMO_HISTORY_TRANSACTIONS
    # Imported here: tqdm draws the bar only where someone watches (a terminal).
    from tqdm import tqdm

    with tqdm(total=count, unit=" transactions", unit_scale=True, disable=None) as bar:
        generate_history(count, years=2, seed=DEMO_HISTORY_SEED, progress=bar.update)
    return _(
        "Synthetic history: %(count)s illustrative transactions over two years, with their "
        "costs and survey answers (made up, for the performance pages to show)."
    ) % {"count": formats.number_format(count, force_grouping=True)}
