"""The core serves the project bound to it: in a models repository, the team's package.

A package of the shape a models repository has (`__init__.py` binding the core, `settings.py`,
`models/` with the probe model) is built here and bound; everything the core reads of a project
then comes from it, and `<team>.core` is the core's own package, never a second copy.
"""

import importlib
import shutil
import sys
from pathlib import Path

import pytest

FIXTURE_MODELS = Path(__file__).with_name("fixture_models")
TEAM = "team_x"


@pytest.fixture
def team(tmp_path, core, monkeypatch):
    """The package `team_x` in tmp_path/src: its own prefix and stages, the probe model; bound for the test."""
    package = tmp_path / "src" / TEAM
    shutil.copytree(FIXTURE_MODELS / "probe", package / "models" / "probe", ignore=shutil.ignore_patterns("data"))
    (package / "models" / "__init__.py").write_text("")
    (package / "__init__.py").write_text(
        f"from {core.basics.project.CORE}.core.basics import project\n\nproject.bind(__name__)\n"
    )
    settings = Path(core.basics.project.settings().__file__).read_text()
    own = f'{settings}\nRESOURCE_PREFIX = "team-x"\nSTAGES = ("dev", "qa", "prod")\n'
    (package / "settings.py").write_text(own)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))  # the alias bind() adds goes with the test
    monkeypatch.setattr(core.basics.project, "_bound", None)
    importlib.import_module(TEAM)
    yield package
    for name in [name for name in sys.modules if name == TEAM or name.startswith(f"{TEAM}.")]:
        del sys.modules[name]


def test_the_bound_package_is_the_project(core, team):
    assert core.basics.project.package() == TEAM
    assert (
        core.basics.project.settings().RESOURCE_PREFIX == "team-x" and core.basics.project.settings().STAGES[1] == "qa"
    )
    assert core.catalog.registry.names() == ["probe"]  # the team's models only
    assert core.catalog.registry.folder("probe") == team / "models" / "probe"
    assert core.basics.pins.lock_file() == team.parents[1] / "requirements" / "lock.txt"  # the team's repository's lock


def test_the_team_core_is_the_core_itself_however_it_is_imported(core, team):
    assert importlib.import_module(f"{TEAM}.core") is sys.modules[f"{core.basics.project.CORE}.core"]
    assert importlib.import_module(f"{TEAM}.core.basics.config") is core.basics.config
    train = core.catalog.registry.module("probe", "train")  # `from ...core import config, data, ...`
    assert train.config is core.basics.config and train.training is core.trainer.training
    assert (
        core.basics.config.__spec__.name == f"{core.basics.project.CORE}.core.basics.config"
    )  # its own spec, not the alias's


def test_bundles_and_jobs_ship_the_core_and_the_team_package(core, team):
    shipped = core.bundling.sources.package_files(core.catalog.model.find("probe"))
    own = core.basics.project.CORE
    assert {f"{own}/__init__.py", f"{own}/core/basics/project.py", f"{TEAM}/__init__.py", f"{TEAM}/settings.py"} <= set(
        shipped
    )
    assert f"{TEAM}/models/probe/train.py" in shipped
    assert not [name for name in shipped if name.startswith((f"{own}/models/", f"{own}/settings.py"))]
    entry = core.bundling.bundle.entry_point("probe")
    assert (
        f"from {TEAM}.models.probe import inference as handlers" in entry
        and f"from {own}.core.inference import handling" in entry
    )
    assert f"from {TEAM}.models.probe.train import main" in core.jobs.staging.entry_point(
        core.catalog.model.find("probe")
    )
