"""One core, many repositories: a `core` repository tagged v0.1.0 and two teams' `models` repositories
pinning it by git URL, each installed on its own, training, bundling, serving and deploying under its
own names; then the core tags v0.2.0 and one team moves to it while the other stays.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
import tarfile
from pathlib import Path

import pytest
import tomllib
from helpers import commit_all, git, make_template_repo, render, rendered_env, replace, run, scaffold

CORE = "ml-core"
TEAMS = {  # team -> (model, starter)
    "team-a": ("churn", "tabular-classifier"),
    "team-b": ("prices", "tabular-regressor"),
}
CHANGE_MARK = "core change of v0.2.0"


@pytest.fixture(scope="module")
def core_repo(tmp_path_factory) -> Path:
    """The core repository, rendered (layout core), committed and tagged v0.1.0."""
    repo = render(tmp_path_factory.mktemp("core") / CORE, layout="core", project_name=CORE)
    git("init", "-q", "-b", "main", cwd=repo)
    commit_all(repo, "core v0.1.0")
    git("tag", "v0.1.0", cwd=repo)
    return repo


@pytest.fixture(scope="module")
def teams(core_repo, tmp_path_factory) -> dict[str, Path]:
    """Each team's models repository, rendered against the core's URL, with the pinned core installed."""
    template = make_template_repo(tmp_path_factory.mktemp("template") / "template-repo")
    made = {}
    for team, (model, starter) in TEAMS.items():
        answers = {"layout": "models", "project_name": team, "model_name": model, "starter": starter}
        repo = render(tmp_path_factory.mktemp(team) / team, src=template, core_url=core_repo.as_uri(), **answers)
        git("init", "-q", "-b", "main", cwd=repo)
        commit_all(repo, "generated")
        install_core(repo)
        made[team] = repo
    return made


def install_core(repo: Path) -> str:
    """pip-install the core requirement `repo`'s pyproject.toml pins into the team's own site folder; returns it."""
    [requirement] = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["dependencies"]
    site = repo.parent / "site"
    shutil.rmtree(site, ignore_errors=True)  # pip --target keeps an older version's metadata beside the new
    pip = (sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation")
    run(*pip, "--target", site, requirement, cwd=repo, env=rendered_env())
    return requirement


def env_of(repo: Path, **extra: str) -> dict[str, str]:
    """The team's environment: its installed core and its own source, nothing of the other team's."""
    return {**rendered_env(), "PYTHONPATH": f"{repo.parent / 'site'}:{repo / 'src'}", "COLUMNS": "200", **extra}


def project_tests(repo: Path, *paths: str) -> None:
    """The repository's own (quick) tests, or those in `paths`, run as its users run them."""
    pytest = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths)
    suite = run(*pytest, cwd=repo, env=env_of(repo))
    assert " passed" in suite.stdout and "failed" not in suite.stdout, suite.stdout


def cli(repo: Path, *args: str, **extra: str):
    return run(sys.executable, "-m", repo.name.replace("-", "_"), *args, cwd=repo, env=env_of(repo, **extra))


def test_a_core_repository_holds_the_library_and_no_model(core_repo):
    package = core_repo / "src" / "ml_core"
    assert (package / "core" / "basics" / "project.py").is_file() and (package / "cli.py").is_file()
    assert [p.name for p in (package / "models").iterdir()] == ["__init__.py"]
    assert not (core_repo / "tests" / "models").exists()
    assert not (core_repo / ".github" / "workflows" / "deploy.yml").exists()


def test_a_models_repository_holds_its_models_and_pins_the_core(teams, core_repo):
    repo = teams["team-a"]
    package = repo / "src" / "team_a"
    assert not (package / "core").exists() and not list(package.glob("*_cli.py"))
    assert {p.name for p in (repo / "tests").glob("test_*.py")} == {"test_infra.py", "test_workflows.py"}
    pinned = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["dependencies"]
    assert pinned == [f"{CORE} @ git+{core_repo.as_uri()}@v0.1.0"]
    assert (repo.parent / "site" / "ml_core" / "core" / "basics" / "project.py").is_file()


def test_scaffold_adds_a_model_to_a_models_repository(tmp_path, template_repo):
    answers = {"layout": "models", "project_name": "team-c", "core_url": "https://github.com/acme/ml-core.git"}
    repo = render(tmp_path / "team-c", src=template_repo, **answers)
    added = scaffold("add-model", "fraud", "--project", repo, "--starter", "tabular-regressor")
    assert added.exit_code == 0, added.output
    folder = repo / "src" / "team_c" / "models" / "fraud"
    assert (folder / "train.py").is_file() and (repo / "tests" / "models" / "fraud" / "test_fraud.py").is_file()
    assert not (repo / "src" / "team_c" / "core").exists()


def test_a_core_repository_refuses_a_model_and_writes_nothing(tmp_path, template_repo):
    repo = render(tmp_path / CORE, src=template_repo, layout="core", project_name=CORE)
    before = sorted(repo.rglob("*"))
    refused = scaffold("add-model", "fraud", "--project", repo)
    assert refused.exit_code != 0 and "is a core repository (layout=core)" in refused.output, refused.output
    assert sorted(repo.rglob("*")) == before


def test_list_shows_the_pin_when_the_core_cannot_be_reached(tmp_path, template_repo):
    missing = (tmp_path / "gone" / "ml-core").as_uri()
    repo = render(tmp_path / "team-d", src=template_repo, layout="models", project_name="team-d", core_url=missing)
    listed = scaffold("list", "--project", repo)
    assert listed.exit_code == 0, listed.output
    assert "v0.1.0 (core unreachable)" in listed.output and "project" in listed.output and "adopt" not in listed.output


@pytest.mark.slow
def test_two_teams_train_bundle_serve_and_deploy_on_one_core_without_collisions(
    teams, core_repo, tmp_path, monkeypatch
):
    from moto.server import ThreadedMotoServer

    _rendered_bootstrap_tests(core_repo)._resolve_change_set_outputs(
        monkeypatch
    )  # moto's gap, as the core's tests fill it

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
    endpoint = ("--endpoint-url", f"http://{host}:{port}")
    try:
        for team, repo in teams.items():
            model = TEAMS[team][0]
            trained = cli(repo, "train", model, "trainer.progress=false")
            run_dir = repo / "runs" / model / trained.stdout.split("run saved to")[1].split()[0].split("/")[-1]
            assert json.loads((run_dir / "run.json").read_text())["core"] == {"package": "ml_core", "version": "0.1.0"}
            bundle = tmp_path / team / "model.tar.gz"
            cli(repo, "bundle", model, "--out", str(bundle))
            with tarfile.open(bundle) as tar:
                names = set(tar.getnames())
                entry = tar.extractfile("code/inference.py").read().decode()
            package = team.replace("-", "_")
            assert {"code/ml_core/core/basics/project.py", f"code/{package}/models/{model}/inference.py"} <= names
            assert "Core library: ml_core 0.1.0." in entry
            assert not any(name.startswith("code/ml_core/models/") for name in names)
            # the model's own tests: handlers, our server and SageMaker's toolkit answer its examples alike
            project_tests(repo)
            if team == "team-a":  # a training job's code sees no PYTHONPATH: the core it ships is the one that runs
                job = cli(repo, "train", model, "--sagemaker-local", "trainer.max_epochs=2", "trainer.progress=false")
                job_dir = Path(job.stdout.split("are in")[1].split()[0])
                job_record = json.loads(next((repo / job_dir).rglob("run.json")).read_text())
                assert job_record["core"] == {"package": "ml_core", "version": "0.1.0"}, job_record
            cli(repo, "bootstrap", *endpoint, **aws)
            _version_bucket(repo, endpoint[1], aws)
            cli(repo, "promote", model, "--run", run_dir.name, *endpoint, **aws)
            cli(repo, "deploy", model, "--stage", "dev", *endpoint, **aws)
        import boto3

        sagemaker = boto3.client("sagemaker", endpoint_url=endpoint[1], region_name="us-east-1", **_keys(aws))
        names = [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]
        assert len(names) == 2 and {name.split("--")[0] for name in names} == {"team-a", "team-b"}, names
        stacks = boto3.client("cloudformation", endpoint_url=endpoint[1], region_name="us-east-1", **_keys(aws))
        listed = {s["StackName"] for s in stacks.list_stacks()["StackSummaries"]}
        assert {"team-a-project", "team-b-project", "team-a--churn-dev", "team-b--prices-dev"} <= listed, listed
    finally:
        server.stop()


def _rendered_bootstrap_tests(core_repo: Path):
    """The core repository's own tests/test_bootstrap.py, for the moto workaround it holds (written once)."""
    path = core_repo / "tests" / "test_bootstrap.py"
    spec = importlib.util.spec_from_file_location("rendered_test_bootstrap", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _version_bucket(repo: Path, endpoint: str, aws: dict[str, str]) -> None:
    """Turn on the versioning infra/project.yaml declares (moto's CloudFormation skips it)."""
    import boto3

    [record] = (repo / "infra" / "accounts").glob("*.json")
    bucket = json.loads(record.read_text())["outputs"]["ArtifactsBucketName"]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **_keys(aws))
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def _keys(aws: dict[str, str]) -> dict[str, str]:
    return {"aws_access_key_id": aws["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": aws["AWS_SECRET_ACCESS_KEY"]}


@pytest.mark.slow
def test_one_team_moves_to_a_new_core_version_while_the_other_stays(teams, core_repo, tmp_path):
    handling_source = core_repo / "src" / "ml_core" / "core" / "inference" / "handling.py"
    replace(handling_source, '"""', f'"""{CHANGE_MARK}: ')
    replace(core_repo / "pyproject.toml", 'version = "0.1.0"', 'version = "0.2.0"')
    commit_all(core_repo, "core v0.2.0")
    git("tag", "v0.2.0", cwd=core_repo)

    # the moving team on a copy of its own, so the module's repositories stay as the other tests expect them
    moving = Path(shutil.copytree(teams["team-a"], tmp_path / "moving" / "team-a", symlinks=True))
    git("add", "-A", cwd=moving)  # the team's work so far, e.g. the accounts file `bootstrap` wrote
    git("-c", "user.name=T", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "work", cwd=moving)
    staying = teams["team-b"]
    listed = scaffold("list", "--project", moving)
    assert listed.exit_code == 0, listed.output
    assert re.search(r"core \(ml-core\)\s+│\s+v0\.1\.0\s+│\s+v0\.2\.0\s+│\s+yes", listed.output), listed.output
    refused = scaffold("update", "--project", moving, "--data", "core_version=v0.3.0")
    assert refused.exit_code != 0 and "core version v0.3.0 is not a tag of" in refused.output, refused.output
    moved = scaffold("update", "--project", moving, "--data", "core_version=v0.2.0")
    assert moved.exit_code == 0, moved.output
    pins = tomllib.loads((moving / "pyproject.toml").read_text())["project"]
    assert pins["dependencies"] == [f"{CORE} @ git+{core_repo.as_uri()}@v0.2.0"]
    assert "@v0.2.0" in pins["optional-dependencies"]["dev"][0]
    assert "core_version: v0.2.0" in (moving / ".copier-answers.yml").read_text()
    commit_all(moving, "core v0.2.0")
    install_core(moving)
    for repo, version in [(moving, "0.2.0"), (staying, "0.1.0")]:
        team = repo.name
        model = TEAMS[team][0]
        cli(repo, "train", model, "trainer.progress=false")
        bundle = tmp_path / team / "model.tar.gz"
        cli(repo, "bundle", model, "--out", str(bundle))
        with tarfile.open(bundle) as tar:
            entry = tar.extractfile("code/inference.py").read().decode()
            handling = tar.extractfile("code/ml_core/core/inference/handling.py").read().decode()
        assert f"Core library: ml_core {version}." in entry
        assert (CHANGE_MARK in handling) == (version == "0.2.0")
    project_tests(moving)  # the staying team's tests passed on 0.1.0 above, and nothing of its own changed


@pytest.mark.slow
def test_a_monorepo_splits_into_a_core_and_a_models_repository_keeping_its_models(core_repo, tmp_path, template_repo):
    """The documented split: the monorepo itself becomes the models repository (history, model folders and
    their answers untouched) by one `scaffold update` that changes its layout; the core is a new repository."""
    mono = render(tmp_path / "ml-project", src=template_repo)
    assert scaffold("add-model", "prices", "--project", mono, "--starter", "tabular-regressor").exit_code == 0
    edited = mono / "src" / "ml_project" / "models" / "prices" / "model.py"
    edited.write_text(edited.read_text() + "\n# the team's own note\n")
    git("init", "-q", "-b", "main", cwd=mono)
    commit_all(mono, "our monorepo")
    models = mono / "src" / "ml_project" / "models"
    kept = {path: path.read_bytes() for path in sorted(models.rglob("*")) if path.is_file()}

    data = ["layout=models", f"core_url={core_repo.as_uri()}", "core_version=v0.1.0"]
    split = scaffold("update", "--project", mono, *(arg for item in data for arg in ("--data", item)))
    assert split.exit_code == 0, split.output
    commit_all(mono, "split: the core now comes from ml-core")

    assert {path: path.read_bytes() for path in sorted(models.rglob("*")) if path.is_file()} == kept
    assert not (mono / "src" / "ml_project" / "core").exists() and not (mono / "tests" / "test_training.py").exists()
    assert git("rev-list", "--count", "HEAD", cwd=mono) == "2"
    install_core(mono)
    project_tests(mono, "tests/models/prices", "tests/test_workflows.py")  # the moved model, on the installed core
    cli(mono, "train", "prices", "trainer.progress=false")
    bundle = tmp_path / "prices.tar.gz"
    cli(mono, "bundle", "prices", "--out", str(bundle))
    with tarfile.open(bundle) as tar:
        names = set(tar.getnames())
    assert {
        "code/ml_core/core/basics/project.py",
        "code/ml_project/models/prices/model.py",
    } <= names
