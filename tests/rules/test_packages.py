"""Rule packages: the demo's pass their own YAML cases; a failing package is refused."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from joinedup.federation.models import Jurisdiction
from joinedup.rules.errors import PackageRefused
from joinedup.rules.manifests import discover
from joinedup.rules.systems import Registry

TEST_PACKAGES = Path(__file__).parent / "files" / "packages"
DEMO = discover()


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("rules", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("package", sorted(DEMO))
def test_each_demo_package_passes_its_yaml_cases_through_the_command(package):
    output = run_command("test", "--package", package)
    lines = [line for line in output.splitlines() if line.startswith(("passed", "FAILED"))]
    assert lines, f"{package} has no test case"
    assert all(line.startswith(f"passed  {package} ") for line in lines), output
    assert output.strip().endswith(f"{len(lines)} passed, 0 failed in 1 package(s).")


def test_the_demo_covers_three_levels_and_two_federations_with_real_codes():
    jurisdictions = {p.jurisdiction for p in DEMO.values()}
    assert {"CA", "CA-ON", "CA-BC", "CA-ON-TOR", "AU"} <= jurisdictions
    assert all(p.illustrative for p in DEMO.values())
    services = {b.service for p in DEMO.values() for b in p.benefits}
    assert {"ca.child-benefit", "ca.provincial-child-benefit", "au.family-tax-benefit"} <= services


@pytest.mark.django_db
def test_demo_jurisdiction_codes_and_services_exist_in_the_demo_federation():
    from joinedup.federation.loader import load_federation
    from joinedup.federation.models import Service

    demo = Path(__file__).parents[2] / "src" / "joinedup" / "demo" / "data" / "federations"
    load_federation([demo / "canada"])
    load_federation([demo / "australia"])
    codes = set(Jurisdiction.objects.values_list("code", flat=True))
    keys = set(Service.objects.values_list("key", flat=True))
    for package in DEMO.values():
        assert package.jurisdiction in codes
        for benefit in package.benefits:
            assert benefit.service is None or benefit.service in keys


def test_every_demo_parameter_cites_a_source_and_is_marked_illustrative():
    import yaml

    files = [
        path
        for package in DEMO.values()
        for path in package.parameters_dir.rglob("*.yaml")
        if path.name != "index.yaml"
    ]
    assert files
    for path in files:
        metadata = yaml.safe_load(path.read_text())["metadata"]
        assert metadata["illustrative"] is True, path
        assert metadata["reference"][0]["href"].startswith("https://"), path


def test_the_command_fails_and_names_the_failing_case():
    out = StringIO()
    with pytest.raises(CommandError, match="1 rule test case"):
        call_command("rules", "test", "--directory", str(TEST_PACKAGES), stdout=out)
    assert "FAILED  xx_wrong 0.1.0 bonus.yaml: The bonus is half the allowance" in out.getvalue()
    assert "differs from 75" in out.getvalue()


def test_a_package_with_a_failing_case_is_refused_at_load_with_those_extending_it():
    registry = Registry(TEST_PACKAGES)
    registry.load(registry.packages["xx"])
    with pytest.raises(PackageRefused, match=r"xx_wrong 0\.1\.0 .*bonus\.yaml"):
        registry.load(registry.packages["xx_wrong"])
    with pytest.raises(PackageRefused, match=r"xx_wrong 0\.1\.0"):
        registry.load(registry.packages["xx_wrong_child"])
    stack = registry.stack(["XX", "XX-A", "XX-A-B"])
    assert [p.id for p in stack.packages] == ["xx"]
    assert len(stack.refused) == 2
    assert "xx_bonus" not in stack.system.variables


def test_systems_are_built_once_per_process():
    registry = Registry(TEST_PACKAGES)
    first = registry.stack(["XX"]).system
    assert registry.stack(["XX"]).system is first
