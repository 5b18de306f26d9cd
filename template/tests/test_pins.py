"""The lock file pins every dependency CI installs, and bundles pin theirs from it."""

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

try:
    import tomllib  # novm: Python 3.10 takes the fallback below
except ModuleNotFoundError:  # Python 3.10: pytest's own TOML reader
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
STALE = "requirements/lock.txt is stale: run scripts/lock.sh"


def declared() -> list[Requirement]:
    """Every requirement of pyproject.toml: dependencies, extras and the build backend."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lines = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    for extra in project["project"]["optional-dependencies"].values():
        lines.extend(extra)
    return [Requirement(line) for line in lines]


def test_the_lock_pins_every_declared_dependency_within_its_range(core):
    pins = core.basics.pins.locked(LOCK)
    for requirement in declared():
        name = core.basics.pins.canonical(requirement.name)
        assert name in pins, f"{STALE} ({requirement.name} is not in it)"
        for pin in pins[name]:
            version = Version(pin.split(";")[0].removeprefix("=="))
            assert requirement.specifier.contains(version, prereleases=True), f"{STALE} ({requirement} vs {pin})"


def test_every_locked_package_has_hashes():
    entries = LOCK.read_text().split("\n\n")[-1]
    packages = [line for line in entries.splitlines() if line and line[0] not in " #-"]
    assert packages and all(line.endswith("\\") for line in packages), STALE


def test_a_locked_requirement_is_pinned_exactly(core, tmp_path):
    lock = tmp_path / "lock.txt"
    lock.write_text(
        "# header\n--extra-index-url https://example.invalid/simple\n"
        "PyYAML==6.0.2 \\\n    --hash=sha256:aa\n"
        "numpy==2.2.6 ; python_full_version < '3.11' \\\n    --hash=sha256:bb\n"
        "numpy==2.4.6 ; python_full_version >= '3.11' \\\n    --hash=sha256:cc\n"
    )
    assert core.basics.pins.pin(["pyyaml>=6", "Numpy[extra]>=1.24", "isal>=1.6"], lock) == [
        "pyyaml==6.0.2",
        "Numpy[extra]==2.2.6 ; python_full_version < '3.11'",
        "Numpy[extra]==2.4.6 ; python_full_version >= '3.11'",
        "isal>=1.6",
    ]


def test_requirements_with_their_own_marker_or_url_are_kept(core, tmp_path):
    lock = tmp_path / "lock.txt"
    lock.write_text("pillow==11.0.0 \\\n    --hash=sha256:aa\n")
    kept = ["pillow>=10 ; sys_platform == 'linux'", "pillow @ https://example.invalid/pillow.whl"]
    assert core.basics.pins.pin(kept, lock) == kept


def test_local_builds_are_kept_as_written(core, tmp_path):
    """torch==2.13.0+cpu comes from PyTorch's own index: a serving container installing from PyPI has no such file."""
    lock = tmp_path / "lock.txt"
    lock.write_text("torch==2.13.0+cpu \\\n    --hash=sha256:aa\ntorchvision==0.28.0 \\\n    --hash=sha256:bb\n")
    assert core.basics.pins.pin(["torch>=2.3", "torchvision>=0.18"], lock) == ["torch>=2.3", "torchvision==0.28.0"]


def test_without_a_lock_nothing_is_pinned(core, tmp_path):
    assert core.basics.pins.pin(["pyyaml>=6"], tmp_path / "missing.txt") == ["pyyaml>=6"]


@pytest.mark.parametrize("model", ["probe"])
def test_a_bundles_requirements_come_from_the_lock(core, model):
    pins = core.basics.pins.locked(LOCK)
    text = core.bundling.sources.requirements(core.catalog.model.find(model), "header")
    for requirement in core.bundling.sources.CORE_REQUIREMENTS:
        name = core.basics.pins.canonical(Requirement(requirement).name)
        assert all(f"=={pin.removeprefix('==')}" in text for pin in pins[name]), text
    assert ">=" not in text, text
