"""Bundles: the SageMaker PyTorch layout, reproducible bytes, safe unpacking."""

import dataclasses
import hashlib
import importlib
import io
import shutil
import tarfile

import pytest


@pytest.fixture(scope="module")
def model():
    return "probe"


@pytest.fixture
def run_with(core, model, trained_run, tmp_path, monkeypatch):
    """`run_with(files, artifacts)`: a copy of a trained run plus `files`, whose contract lists `artifacts`."""

    def make(files: dict[str, str], artifacts: tuple[str, ...]):
        run_dir = tmp_path / "run"
        shutil.copytree(trained_run(model), run_dir, ignore=shutil.ignore_patterns("*.tar.gz", "checkpoints"))
        for name, text in files.items():
            (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (run_dir / name).write_text(text)
        declared = dataclasses.replace(core.catalog.contract.of(model), artifacts=artifacts)
        monkeypatch.setattr(core.bundling.bundle.contract, "of", lambda name: declared)
        monkeypatch.chdir(tmp_path)
        return run_dir

    return make


def test_bundle_has_the_container_layout(core, model, trained_run, package, tmp_path):
    path = core.bundling.bundle.build(model, trained_run(model), tmp_path / "model.tar.gz")
    with tarfile.open(path, "r:gz") as tar:
        names = tar.getnames()
        entry = tar.extractfile("code/inference.py").read().decode()
        requirements = tar.extractfile("code/requirements.txt").read().decode()
    assert {"model.pt", "config.yaml", "code/inference.py", "code/requirements.txt"} <= set(names)
    assert f"code/{package}/core/inference/payloads.py" in names
    assert f"code/{package}/models/{model}/inference.py" in names
    assert not [n for n in names if "/tests/" in n or "__pycache__" in n or n.endswith((".pyc", "cli.py"))]
    others = set(core.catalog.registry.names()) - {model}
    assert not [n for n in names if any(f"/models/{other}/" in n for other in others)]
    # The model's handlers behind one transform_fn that answers errors as JSON on any server; no
    # input_fn beside it (SageMaker's handler service refuses both), run on both servers elsewhere.
    assert f"from {package}.models.{model} import inference as handlers" in entry
    assert "model_fn = handlers.model_fn" in entry and "transform_fn = handling.transform_fn(handlers)" in entry
    assert "input_fn" not in entry
    assert core.bundling.scripts.PLACEHOLDER.search(entry) is None  # its template, filled in whole
    required = [line.split(">")[0].split("=")[0].strip() for line in requirements.splitlines()]
    assert "torch" not in required and {"omegaconf", "python-mimeparse"} <= set(required)


def test_a_script_template_is_filled_in_whole_or_refused(core, tmp_path, monkeypatch):
    monkeypatch.setattr(core.bundling.scripts, "TEMPLATES", tmp_path)
    (tmp_path / "job.py").write_text('"""Job __NAME__."""\n\nif __name__ == "__main__":\n    run(__DETAILS__)\n')
    filled = core.bundling.scripts.render("job.py", NAME="build", DETAILS=repr({"rows": 3}))
    assert filled == '"""Job build."""\n\nif __name__ == "__main__":\n    run({\'rows\': 3})\n'
    with pytest.raises(ValueError, match=r"missing values \['DETAILS'\], unused values \[\]"):
        core.bundling.scripts.render("job.py", NAME="build")
    with pytest.raises(ValueError, match=r"unused values \['EXTRA'\]"):
        core.bundling.scripts.render("job.py", NAME="build", DETAILS="{}", EXTRA="1")


def test_bundle_bytes_are_reproducible(core, model, trained_run, tmp_path):
    digests = {
        hashlib.sha256(
            core.bundling.bundle.build(model, trained_run(model), tmp_path / f"{i}.tar.gz").read_bytes()
        ).hexdigest()
        for i in range(2)
    }
    assert len(digests) == 1


def test_a_bundles_identity_covers_code_weights_and_config(core, model, trained_run, package, tmp_path, monkeypatch):
    """Promotion keys bundles by sha256: any change to the model's code, its weights or its config is a new bundle."""
    models = importlib.import_module(f"{package}.models")
    shutil.copytree(
        core.catalog.registry.folder(model), tmp_path / "models" / "twin", ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setattr(models, "__path__", [*models.__path__, str(tmp_path / "models")])
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run(model), run_dir, ignore=shutil.ignore_patterns("*.tar.gz", "checkpoints"))

    def digest() -> str:
        return core.cloud.uploads.sha256(core.bundling.bundle.build("twin", run_dir, tmp_path / "bundle.tar.gz"))

    seen = [digest()]
    with (tmp_path / "models" / "twin" / "model.py").open("a") as code:
        code.write("\n# a change to the code\n")
    seen.append(digest())
    (run_dir / "config.yaml").write_text((run_dir / "config.yaml").read_text() + "# a change to the config\n")
    seen.append(digest())
    (run_dir / "model.pt").write_bytes((run_dir / "model.pt").read_bytes() + b"\0")
    seen.append(digest())
    assert len(set(seen)) == 4


def test_unpacking_refuses_unsafe_members(core, tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(core.bundling.unpacking.BundleError, match="unsafe"):
        core.bundling.unpacking.unpack(evil, tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists()


def test_a_run_without_weights_cannot_be_bundled(core, model, tmp_path):
    with pytest.raises(core.basics.errors.ProjectError, match=r"missing model\.pt"):
        core.bundling.bundle.build(model, tmp_path, tmp_path / "model.tar.gz")
    assert not (tmp_path / "model.tar.gz").exists()


def test_uncompressed_bundle_is_the_same_layout_as_a_folder(core, model, trained_run, tmp_path):
    archive = core.bundling.bundle.build(model, trained_run(model), tmp_path / "model.tar.gz")
    folder = core.bundling.bundle.build(model, trained_run(model), tmp_path / "model", compression="none")
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == sorted(
            p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
        )
        assert tar.extractfile("model.pt").read() == (folder / "model.pt").read_bytes()


def test_a_bundle_packed_with_tar_from_its_folder_unpacks_and_serves(core, model, trained_run, tmp_path):
    folder = core.bundling.bundle.build(model, trained_run(model), tmp_path / "model", compression="none")
    archive = tmp_path / "by-hand.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=".")  # what `tar -czf by-hand.tar.gz -C model .` writes: ./code/...
    assert "code/inference.py" in core.bundling.unpacking.check_layout(archive)
    unpacked = core.bundling.unpacking.servable(archive, tmp_path / "scratch")
    assert (unpacked / "model.pt").read_bytes() == (folder / "model.pt").read_bytes()


def test_bundle_never_overwrites_what_is_not_a_bundle(core, model, trained_run, tmp_path):
    mine = tmp_path / "notes.txt"
    mine.write_text("mine")
    with pytest.raises(core.bundling.unpacking.BundleError, match="not a bundle"):
        core.bundling.bundle.build(model, trained_run(model), mine)
    assert mine.read_text() == "mine"
    with pytest.raises(core.bundling.unpacking.BundleError, match="compression must be"):
        core.bundling.bundle.build(model, trained_run(model), tmp_path / "x.tar.zst", compression="zstd")


def test_the_artifacts_a_contract_lists_ship_next_to_the_weights(core, model, run_with, tmp_path):
    run_dir = run_with(
        {"vocab.json": '{"a": 1}', "tokenizer/merges.txt": "a b", "scratch.txt": "x"},
        ("vocab.json", "tokenizer/merges.txt"),
    )
    with tarfile.open(core.bundling.bundle.build(model, run_dir, tmp_path / "model.tar.gz")) as tar:
        names = set(tar.getnames())
        assert tar.extractfile("vocab.json").read() == b'{"a": 1}'
    assert {"model.pt", "config.yaml", "vocab.json", "tokenizer/merges.txt"} <= names
    assert "scratch.txt" not in names


@pytest.mark.parametrize(
    ("artifact", "message"),
    [
        (".env", "dotfile"),
        ("secrets/.aws/credentials", "dotfile"),
        ("analysis.ipynb", "notebook"),
        ("__pycache__/x.pyc", "cache"),
        ("../outside.txt", "inside the run folder"),
        ("absent.json", "missing absent.json"),
        ("link.txt", "outside the project"),
    ],
)
def test_secrets_junk_and_links_out_of_the_project_are_refused(core, model, run_with, tmp_path, artifact, message):
    files = {".env": "KEY=secret", "secrets/.aws/credentials": "k", "analysis.ipynb": "{}", "__pycache__/x.pyc": "x"}
    run_dir = run_with(files, (artifact,))
    (tmp_path.parent / "elsewhere.txt").write_text("not ours")
    (run_dir / "link.txt").symlink_to(tmp_path.parent / "elsewhere.txt")
    with pytest.raises(core.basics.errors.ProjectError, match=message):
        core.bundling.bundle.build(model, run_dir, tmp_path / "model.tar.gz")
    assert not (tmp_path / "model.tar.gz").exists()


def test_a_secret_in_the_model_folder_stops_the_bundle(core, model, trained_run, tmp_path):
    secret = core.catalog.registry.folder(model) / ".env"
    secret.write_text("KEY=secret")
    try:
        with pytest.raises(core.basics.errors.ProjectError, match="dotfile"):
            core.bundling.bundle.build(model, trained_run(model), tmp_path / "model.tar.gz")
    finally:
        secret.unlink()
