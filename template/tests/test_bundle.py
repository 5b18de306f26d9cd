"""Bundles: the SageMaker PyTorch layout, reproducible bytes, safe unpacking."""

import hashlib
import io
import tarfile

import pytest


@pytest.fixture(scope="module")
def model(core):
    return core.registry.names()[0]


def test_bundle_has_the_container_layout(core, model, trained_run, package, tmp_path):
    path = core.bundle.build(model, trained_run(model), tmp_path / "model.tar.gz")
    with tarfile.open(path, "r:gz") as tar:
        names = tar.getnames()
        entry = tar.extractfile("code/inference.py").read().decode()
        requirements = tar.extractfile("code/requirements.txt").read().decode()
    assert {"model.pt", "config.yaml", "code/inference.py", "code/requirements.txt"} <= set(names)
    assert f"code/{package}/core/payloads.py" in names
    assert f"code/{package}/models/{model}/inference.py" in names
    assert not [n for n in names if "/tests/" in n or "__pycache__" in n or n.endswith((".pyc", "cli.py"))]
    others = set(core.registry.names()) - {model}
    assert not [n for n in names if any(f"/models/{other}/" in n for other in others)]
    assert f"from {package}.models.{model}.inference import model_fn" in entry
    assert "torch" not in [line.split(">")[0].split("=")[0].strip() for line in requirements.splitlines()]


def test_bundle_bytes_are_reproducible(core, model, trained_run, tmp_path):
    digests = {
        hashlib.sha256(core.bundle.build(model, trained_run(model), tmp_path / f"{i}.tar.gz").read_bytes()).hexdigest()
        for i in range(2)
    }
    assert len(digests) == 1


def test_unpacking_refuses_unsafe_members(core, tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(core.bundle.BundleError, match="unsafe"):
        core.bundle.unpack(evil, tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists()


def test_a_run_without_weights_cannot_be_bundled(core, model, tmp_path):
    with pytest.raises(core.bundle.BundleError, match=r"missing model\.pt"):
        core.bundle.build(model, tmp_path, tmp_path / "model.tar.gz")
    assert not (tmp_path / "model.tar.gz").exists()


def test_uncompressed_bundle_is_the_same_layout_as_a_folder(core, model, trained_run, tmp_path):
    archive = core.bundle.build(model, trained_run(model), tmp_path / "model.tar.gz")
    folder = core.bundle.build(model, trained_run(model), tmp_path / "model", compression="none")
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == sorted(
            p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
        )
        assert tar.extractfile("model.pt").read() == (folder / "model.pt").read_bytes()


def test_bundle_never_overwrites_what_is_not_a_bundle(core, model, trained_run, tmp_path):
    mine = tmp_path / "notes.txt"
    mine.write_text("mine")
    with pytest.raises(core.bundle.BundleError, match="not a bundle"):
        core.bundle.build(model, trained_run(model), mine)
    assert mine.read_text() == "mine"
    with pytest.raises(core.bundle.BundleError, match="compression must be"):
        core.bundle.build(model, trained_run(model), tmp_path / "x.tar.zst", compression="zstd")
