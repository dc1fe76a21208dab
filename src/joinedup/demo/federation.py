"""`make demo-federation`: three nodes of the exchange on this machine — the federal
government's, Ontario's and Quebec's — each its own deployment with its own database.

    python -m joinedup.demo.federation               # SQLite: var/federation/<node>/
    python -m joinedup.demo.federation --postgres    # PostgreSQL: joinedup_federation_<node>

What it does, as the governance authority and three operators would (docs/exchange.md):

1. Makes (once) the demo governance authority's key and each node's signing and encryption
   keys, kept in the data directory (`<node>/exchange-keys.json`, readable by this user
   only) and given to the node as `JOINEDUP_EXCHANGE_SIGNING_KEY` and `..._ENCRYPTION_KEY`.
2. Writes and signs the trust list: the three nodes, their addresses (ports 8101, 8102,
   8103), their keys and the jurisdictions whose agencies each hosts (CA, CA-ON, CA-QC).
3. Prepares each node in its own process, the three at once (`prepare`): its database
   brought up to date, the Canadian demo federation's catalogue (agencies, services, forms:
   public data every node holds), the service versions and the bundles, the trust list, the
   demo accounts; on the federal node, each federal agency grants its services to the two
   provincial nodes. Safe to run again: what is there already is kept.
4. Runs, per node, the web server and one worker (`work`: the outbox's subscribers, which
   start legs and report statuses, the exchange's deliveries, and the periodic jobs with the
   task queue — ledger checkpoints, held-up legs tried again — in one loop), and watches
   them all until Ctrl-C.

Then the newborn bundle submitted on the Ontario node (http://127.0.0.1:8102) starts the
Ontario legs there and sends the federal legs to the federal node, which makes their
applications and sends their statuses back.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from joserfc import jws
from joserfc.jwk import OKPKey

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA_DIR = ROOT / "var" / "federation"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/joinedup_federation"
GOVERNANCE = "CA/GOV/governance"
GOVERNANCE_KID = "demo-governance"
TRUST_LIST_DAYS = 30


@dataclass(frozen=True)
class NodeSpec:
    """One node of the demo federation."""

    name: str
    node_id: str
    names: dict[str, str]
    jurisdictions: tuple[str, ...]
    port: int
    #: How far the node's identity proofing reaches (the trust list's `assurance`).
    assurance: int = 3

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


NODES = (
    NodeSpec(
        "federal",
        "CA/GOV/CA/joinedup",
        {"en": "Government of Canada", "fr": "Gouvernement du Canada"},
        ("CA",),
        8101,
    ),
    NodeSpec(
        "ontario",
        "CA/GOV/ON/joinedup",
        {"en": "Government of Ontario", "fr": "Gouvernement de l'Ontario"},
        ("CA-ON",),
        8102,
    ),
    NodeSpec(
        "quebec",
        "CA/GOV/QC/joinedup",
        {"en": "Government of Québec", "fr": "Gouvernement du Québec"},
        ("CA-QC",),
        8103,
    ),
)
#: The node whose agencies grant their services to the others.
FEDERAL = NODES[0].name


def with_ports(base: int) -> tuple[NodeSpec, ...]:
    """The demo's nodes on ports base, base + 1, base + 2."""
    return tuple(
        NodeSpec(n.name, n.node_id, n.names, n.jurisdictions, base + i, n.assurance)
        for i, n in enumerate(NODES)
    )


# --- Keys and the trust list (no Django needed) --------------------------------------------


def _private_file(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))
    path.chmod(0o600)


def governance_key(data_dir: Path) -> OKPKey:
    """The demo governance authority's Ed25519 key, made once."""
    path = data_dir / "governance-key.json"
    if not path.exists():
        _private_file(path, OKPKey.generate_key("Ed25519").as_dict(private=True))
    return OKPKey.import_key(json.loads(path.read_text()))


def anchors(key: OKPKey) -> str:
    """The trust anchors every node is given: the authority's public key, as a JWK set."""
    return json.dumps({"keys": [{**key.as_dict(private=False), "kid": GOVERNANCE_KID}]})


def node_keys(directory: Path) -> dict[str, OKPKey]:
    """The node's signing (`sig`) and encryption (`enc`) keys, made once."""
    path = directory / "exchange-keys.json"
    if not path.exists():
        _private_file(
            path,
            {
                "sig": OKPKey.generate_key("Ed25519").as_dict(private=True),
                "enc": OKPKey.generate_key("X25519").as_dict(private=True),
            },
        )
    stored = json.loads(path.read_text())
    return {use: OKPKey.import_key(jwk) for use, jwk in stored.items()}


def trust_entry(spec: NodeSpec, keys: dict[str, OKPKey]) -> dict:
    """The node as the trust list names it: address, jurisdictions, public keys."""
    return {
        "id": spec.node_id,
        "names": spec.names,
        "base_url": spec.url,
        "jurisdictions": list(spec.jurisdictions),
        "assurance": spec.assurance,
        "keys": [
            {**key.as_dict(private=False), "kid": key.thumbprint(), "use": use}
            for use, key in keys.items()
        ],
    }


def signed_trust_list(entries: list[dict], key: OKPKey) -> dict:
    """The trust list, signed by the governance authority (a flattened JWS; its number is
    the time it was made, so each run's list is newer than the last)."""
    now = datetime.datetime.now(datetime.UTC)
    document = {
        "issuer": GOVERNANCE,
        "sequence": int(now.timestamp() * 1000),
        "issued_at": now.isoformat(),
        "expires_at": (now + datetime.timedelta(days=TRUST_LIST_DAYS)).isoformat(),
        "nodes": entries,
    }
    payload = json.dumps(document, sort_keys=True, ensure_ascii=False).encode()
    protected = {"alg": "Ed25519", "kid": GOVERNANCE_KID, "typ": "joinedup-trust-list+jws"}
    return jws.serialize_json({"protected": protected}, payload, key, algorithms=["Ed25519"])


def database_url(spec: NodeSpec, directory: Path, postgres: str | None) -> str:
    if postgres:
        return f"{postgres.rstrip('/')}_{spec.name}"
    return f"sqlite:///{directory / 'joinedup.sqlite3'}"


def node_environment(
    spec: NodeSpec,
    directory: Path,
    *,
    database: str,
    keys: dict[str, OKPKey],
    trust_anchors: str,
    static_root: Path | None = None,
) -> dict[str, str]:
    """The settings the node's processes run with (added to the environment)."""
    environment = {
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "joinedup.settings"),
        "DATABASE_URL": database,
        "JOINEDUP_DATA_DIR": str(directory),
        "JOINEDUP_DEBUG": "false",
        "JOINEDUP_EXCHANGE_NODE_ID": spec.node_id,
        "JOINEDUP_EXCHANGE_TRUST_ANCHORS": trust_anchors,
        "JOINEDUP_EXCHANGE_SIGNING_KEY": json.dumps(keys["sig"].as_dict(private=True)),
        "JOINEDUP_EXCHANGE_ENCRYPTION_KEY": json.dumps(keys["enc"].as_dict(private=True)),
        "JOINEDUP_EXCHANGE_RETRY_BASE_SECONDS": "1",
        "JOINEDUP_EXCHANGE_RETRY_MAX_SECONDS": "30",
        "JOINEDUP_PUBLIC_URL": spec.url,
    }
    if static_root is not None:
        environment["JOINEDUP_STATIC_ROOT"] = str(static_root)
    return environment


# --- Steps run inside a node's own process (Django set up with its settings) ----------------


def load_catalogue() -> list[str]:
    """The Canadian demo federation's catalogue, service versions and bundles."""
    from . import loading  # needs the apps ready (the caller sets Django up first)

    return [
        loading.load_demo_federation(loading.federation_folder("canada")),
        loading.load_demo_service_versions(),
        loading.load_demo_bundles(),
    ]


def load_trust_list(path: Path) -> str:
    """Load the signed trust list (kept if the one loaded is as new)."""
    from joinedup.exchange import trustlist  # needs the apps ready

    try:
        loaded = trustlist.load_file(path)
    except trustlist.TrustListRefused as refused:
        return str(refused)
    return f"trust list {loaded.trust_list.sequence}: {loaded.nodes} nodes, {loaded.keys} keys"


def grant_services(jurisdiction: str, client_nodes: list[str]) -> int:
    """Each agency of `jurisdiction` grants every service it offers to each client node;
    the number of grants in force."""
    from joinedup.exchange import grants  # needs the apps ready
    from joinedup.federation.models import Offering

    offered = (
        Offering.objects.filter(agency__jurisdiction__code=jurisdiction)
        .values_list("agency__key", "service__key")
        .distinct()
    )
    count = 0
    for agency, service in offered:
        for node in client_nodes:
            grants.grant(agency, service, node)
            count += 1
    return count


def prepare(spec: NodeSpec, trust_list: Path, *, static: bool, accounts: bool = True) -> list:
    """Everything a node needs before its processes start; safe to run again."""
    from django.core.management import call_command  # needs the settings

    from . import launch  # imports models: needs the apps ready

    out = print
    call_command("migrate", interactive=False, verbosity=0)
    if static and not launch.static_files_current():
        out(f"[{spec.name}] collecting static files (the first time takes a minute or two)…")
        call_command("collectstatic", interactive=False, verbosity=0)
        launch._static_fingerprint_file().write_text(launch.static_fingerprint())
    for line in load_catalogue():
        out(f"[{spec.name}] {line}")
    out(f"[{spec.name}] {load_trust_list(trust_list)}")
    if spec.name == FEDERAL:
        others = [node.node_id for node in NODES if node.name != FEDERAL]
        count = grant_services(spec.jurisdictions[0], others)
        out(f"[{spec.name}] {count} grants: each federal service to each provincial node")
    sign_ins = []
    if accounts:
        for make in launch.DEMO_ACCOUNTS:
            sign_ins.extend(make())
    return sign_ins


def work(interval: float = 0.1, periodic_every: float = 1.0) -> None:
    """A node's background work in one loop: the outbox's events handed to the subscribers
    (legs started or sent to another node, statuses reported), the exchange's due messages
    posted, and, every `periodic_every` seconds, the periodic jobs (`joinedup periodic-tasks`:
    the ledger's checkpoints, held-up legs tried again, retention, the apps' sweeps)
    enqueued and the task queue's ready tasks run (`run_tasks`), as `make demo`'s task worker
    and scheduler do. Sleeps `interval` seconds when nothing was done; stops on SIGTERM."""
    from django.conf import settings  # needs the settings
    from django.db import close_old_connections

    from joinedup.exchange import sending  # needs the apps ready
    from joinedup.sharing import dispatch, schedule

    size = settings.EXCHANGE_DELIVERY_CONCURRENCY
    posters = sending.Posters(size) if size > 1 else None  # kept as long as the loop
    # The task worker says when it starts and stops, every pass here: only its warnings.
    logging.getLogger("django_tasks_db").setLevel(logging.WARNING)
    periodic_at = 0.0
    while True:
        close_old_connections()
        dispatched = dispatch.dispatch_pending()
        delivered = sending.deliver_due(posters=posters)
        ran = 0
        if time.monotonic() >= periodic_at:
            periodic_at = time.monotonic() + periodic_every
            schedule.run_due()
            ran = run_tasks()
        if not dispatched.events and not delivered.attempted and not ran:
            time.sleep(interval)


def run_tasks(limit: int = 50) -> int:
    """Run the task queue's ready tasks (at most `limit`) in this process, as the database
    backend's worker (`db_worker`) does; how many ran. Nothing with another task backend
    (the immediate one runs tasks when they are enqueued, RQ has its own workers)."""
    from django.conf import settings  # needs the settings

    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return 0
    # The database backend's own worker, once through the queue (needs the apps ready).
    from django_tasks_db.management.commands.db_worker import Worker

    class CountingWorker(Worker):
        """The worker, counting the tasks it ran through its public `run_task` (its own
        count is private)."""

        ran = 0

        def run_task(self, db_task_result) -> None:
            super().run_task(db_task_result)
            self.ran += 1

    worker = CountingWorker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=limit,
        worker_id=f"demo-federation-{os.getpid()}",
        excluded_queue_names=[],
    )
    worker.run()
    return worker.ran


# --- The whole demo --------------------------------------------------------------------------


def _python(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def _env_command(environment: dict[str, str], command: list[str]) -> list[str]:
    """`command` run with the node's settings (the watcher starts children with its own)."""
    return ["env", *(f"{key}={value}" for key, value in environment.items()), *command]


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="demo-federation",
        description="Run three nodes of the exchange (federal, Ontario, Quebec) on this machine.",
    )
    sub = parser.add_subparsers(dest="step")
    step = sub.add_parser("prepare", help="prepare one node (run by the demo in the node's env)")
    step.add_argument("node", choices=[n.name for n in NODES])
    step.add_argument("--trust-list", type=Path, required=True)
    step.add_argument("--static", action="store_true")
    step.add_argument("--sign-ins", type=Path)
    sub.add_parser("work", help="a node's worker: outbox and exchange deliveries")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_POSTGRES,
        default=None,
        metavar="URL",
        help="PostgreSQL instead of SQLite: each node's database is URL_<node>, created "
        f"when missing (default {DEFAULT_POSTGRES})",
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--base-port", type=int, default=NODES[0].port)
    parser.add_argument("--no-serve", action="store_true", help="prepare only")
    parser.add_argument(
        "--no-static",
        action="store_true",
        help="do not collect the static files (the API only: pages need them)",
    )
    return parser.parse_args(argv)


def _in_node(argv_step: list[str]) -> int:
    """The steps run inside one node's process, with that node's settings."""
    import django  # set up here, with the node's environment already in place

    django.setup()
    args = parse(argv_step)
    if args.step == "work":
        work()
        return 0
    spec = {node.name: node for node in with_ports(args.base_port)}[args.node]
    sign_ins = prepare(spec, args.trust_list, static=args.static)
    if args.sign_ins:
        args.sign_ins.write_text(
            json.dumps([[str(s.role), s.username, s.password, s.path] for s in sign_ins])
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    if args.step:
        return _in_node(argv)
    data_dir = args.data_dir.resolve()
    nodes = with_ports(args.base_port)
    authority = governance_key(data_dir)
    trust_anchors = anchors(authority)
    environments, keys = {}, {}
    for spec in nodes:
        directory = data_dir / spec.name
        keys[spec.name] = node_keys(directory)
        database = database_url(spec, directory, args.postgres)
        if args.postgres:
            from .cluster import ensure_database  # PostgreSQL only: talks to the server

            ensure_database(database)
        environments[spec.name] = node_environment(
            spec,
            directory,
            database=database,
            keys=keys[spec.name],
            trust_anchors=trust_anchors,
            static_root=data_dir / "static",
        )
    trust_list = data_dir / "trust-list.json"
    trust_list.write_text(
        json.dumps(
            signed_trust_list([trust_entry(s, keys[s.name]) for s in nodes], authority), indent=1
        )
    )
    print(f"Preparing the three nodes in {data_dir} (the first time takes a few minutes)…")
    preparing = []
    for position, spec in enumerate(nodes):
        command = _python("joinedup.demo.federation", "--base-port", str(args.base_port))
        command += ["prepare", spec.name]
        command += ["--trust-list", str(trust_list)]
        command += ["--sign-ins", str(data_dir / spec.name / "sign-ins.json")]
        if position == 1 and not args.no_static:  # one node collects what all three serve
            command.append("--static")
        environment = {**os.environ, **environments[spec.name]}
        preparing.append(subprocess.Popen(command, env=environment))  # noqa: S603 (our own)
    if any(process.wait() != 0 for process in preparing):
        print("A node could not be prepared; see above.")
        return 1
    if args.no_serve:
        return 0
    return serve(nodes, environments, data_dir)


def serve(nodes: tuple[NodeSpec, ...], environments: dict, data_dir: Path) -> int:
    """Run each node's web server and worker and watch them until Ctrl-C."""
    home = nodes[1]
    os.environ.update(environments[home.name])
    import django  # the watcher's own translations and settings: the Ontario node's

    django.setup()
    from django.utils.translation import gettext as _  # needs the settings

    from . import launch  # imports models: needs the apps ready

    children = []
    for spec in nodes:
        environment = environments[spec.name]
        web = _python("joinedup.cli", "serve", "--bind", f"127.0.0.1:{spec.port}", "--workers", "2")
        work_command = _python("joinedup.demo.federation", "work")
        children += [
            launch.Child(
                _("web server of the %(node)s node") % {"node": spec.name},
                _env_command(environment, web),
            ),
            launch.Child(
                _("worker of the %(node)s node") % {"node": spec.name},
                _env_command(environment, work_command),
                restart=True,
            ),
        ]
    lines = ["", _("The three nodes:")]
    for spec in nodes:
        lines.append(f"  {spec.names['en']} ({spec.node_id}): {spec.url}/en/")
    lines += [
        "",
        _(
            "Submit the newborn bundle on the Ontario node (signed in as one of its people "
            "below): its federal legs go to the federal node, and their statuses come back."
        ),
        _("Sign-ins of the federal and Quebec nodes: %(files)s")
        % {"files": ", ".join(str(data_dir / n.name / "sign-ins.json") for n in nodes[::2])},
    ]
    print("\n".join(lines))
    sign_ins = data_dir / home.name / "sign-ins.json"
    found = (
        [launch.SignIn(*row) for row in json.loads(sign_ins.read_text())]
        if sign_ins.exists()
        else []
    )
    return launch.supervise(children, home.port, print, found)


if __name__ == "__main__":
    sys.exit(main())
