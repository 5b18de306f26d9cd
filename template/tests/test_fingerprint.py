"""Data fingerprints: of files, folders and S3 prefixes; recorded by every training run and shown by `runs`."""

import importlib
import json
import re

import boto3
import pytest
from typer.testing import CliRunner

FULL = re.compile(r"^sha256:[0-9a-f]{64}$")


def write(folder, files: dict[str, bytes]):
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return folder


FILES = {"train/part-0.csv": b"x,y\n1,2\n", "train/part-1.csv": b"x,y\n3,4\n", "images/a/0.png": bytes(range(256))}


def test_a_folder_fingerprint_is_stable_and_short_to_print(core, tmp_path):
    folder = write(tmp_path / "data", FILES)
    found = core.basics.fingerprint.of(folder)
    assert found == core.basics.fingerprint.of(folder) == core.basics.fingerprint.of(str(folder))
    assert FULL.match(found.value) and found.short == found.value[: len("sha256:") + 12]
    assert (found.files, found.bytes) == (3, sum(len(content) for content in FILES.values()))
    assert found.as_dict() == {"fingerprint": found.value, "short": found.short, "files": 3, "bytes": found.bytes}


def test_one_changed_byte_changes_the_fingerprint(core, tmp_path):
    folder = write(tmp_path / "data", FILES)
    before = core.basics.fingerprint.of(folder).value
    (folder / "train/part-1.csv").write_bytes(b"x,y\n3,5\n")  # same size, one byte different
    assert core.basics.fingerprint.of(folder).value != before


def test_names_count_not_only_contents(core, tmp_path):
    folder = write(tmp_path / "data", FILES)
    before = core.basics.fingerprint.of(folder).value
    (folder / "train/part-1.csv").rename(folder / "train/part-2.csv")
    assert core.basics.fingerprint.of(folder).value != before


def test_hidden_files_and_folders_are_not_data(core, tmp_path):
    folder = write(tmp_path / "data", FILES)
    before = core.basics.fingerprint.of(folder)
    write(folder, {".DS_Store": b"junk", ".cache/x.bin": b"cached", "train/.part-0.csv.crc": b"crc"})
    assert core.basics.fingerprint.of(folder) == before


def test_the_files_are_those_a_training_jobs_channel_gets(core, tmp_path):
    folder = write(tmp_path / "data", {**FILES, ".env": b"secret", "a/.git/config": b"", "a/b/.hidden.csv": b""})
    assert core.basics.fingerprint.files(folder) == core.loading.data.channel_files(folder)
    assert sorted(core.basics.fingerprint.files(folder)) == sorted(FILES)
    assert core.basics.fingerprint.files(folder / "images/a/0.png") == core.loading.data.channel_files(
        folder / "images/a/0.png"
    )


def test_the_same_content_written_in_another_order_has_the_same_fingerprint(core, tmp_path):
    first = write(tmp_path / "first", FILES)
    second = write(tmp_path / "second", dict(reversed(FILES.items())))
    assert core.basics.fingerprint.of(first) == core.basics.fingerprint.of(second)


def test_a_file_and_a_folder_holding_only_it_are_the_same_channel(core, tmp_path):
    folder = write(tmp_path / "data", {"points.csv": b"x,y\n1,2\n"})
    assert core.basics.fingerprint.of(folder / "points.csv") == core.basics.fingerprint.of(folder)


def test_large_files_are_hashed_in_chunks_and_in_parallel(core, tmp_path, monkeypatch):
    monkeypatch.setattr(core.basics.fingerprint, "CHUNK", 1000)
    folder = write(tmp_path / "data", {f"shard-{i}.bin": bytes([i]) * 2500 for i in range(4)})
    found = core.basics.fingerprint.of_local(folder)
    assert found == core.basics.fingerprint.of_local(folder, workers=1)
    (folder / "shard-3.bin").write_bytes(bytes([3]) * 2499 + b"\xff")  # the last byte of the last chunk
    assert core.basics.fingerprint.of_local(folder) != found


def test_missing_or_empty_data_is_a_clear_error(core, tmp_path):
    with pytest.raises(core.basics.fingerprint.FingerprintError, match="data not found"):
        core.basics.fingerprint.of(tmp_path / "missing")
    (tmp_path / "empty" / ".hidden").mkdir(parents=True)
    with pytest.raises(core.basics.fingerprint.FingerprintError, match="no data files"):
        core.basics.fingerprint.of(tmp_path / "empty")


def test_channels_are_fingerprinted_and_a_missing_one_gets_an_error_not_an_exception(core, tmp_path):
    folder = write(tmp_path / "data", FILES)
    section = core.basics.config.DataConfig(path=str(folder / "train"), validation=str(tmp_path / "missing.csv"))
    channels = core.basics.fingerprint.of_channels(core.basics.config.channel_sources(section))
    assert set(channels) == {"train", "validation"}
    assert channels["train"] == {
        "source": str(folder / "train"),
        **core.basics.fingerprint.of(folder / "train").as_dict(),
    }
    assert "data not found" in channels["validation"]["error"] and "fingerprint" not in channels["validation"]
    assert core.basics.fingerprint.of_channels({}) == {}


class RecordingBackend:
    def __init__(self):
        self.reference = {"fake_run_id": "1"}
        self.params = []

    def log_params(self, params):
        self.params.append(params)

    def log_metrics(self, metrics, step): ...
    def log_model(self, files): ...
    def finish(self, succeeded): ...


def test_the_tracker_records_the_data_fingerprints_in_run_json_and_as_params(core, tmp_path, monkeypatch):
    folder = write(tmp_path / "data", FILES)
    backend = RecordingBackend()
    monkeypatch.setattr(core.trainer.tracking, "start_backend", lambda *args: backend)
    run_dir = tmp_path / "runs" / "m" / "r1"
    with core.trainer.tracking.Tracker("m", run_dir) as tracker:
        tracker.log_params({"trainer": {"seed": 0}})
        tracker.log_data({"train": str(folder / "train"), "validation": str(folder / "images")})
    record = json.loads((run_dir / "run.json").read_text())
    train, validation = core.basics.fingerprint.of(folder / "train"), core.basics.fingerprint.of(folder / "images")
    assert record["data"]["train"]["fingerprint"] == train.value and record["data"]["train"]["files"] == 2
    assert record["data"]["validation"]["short"] == validation.short
    assert "git_commit" in record and record["fake_run_id"] == "1"  # provenance and tracker reference kept
    assert backend.params == [
        {"trainer": {"seed": 0}},
        {"data_fingerprint": {"train": train.value, "validation": validation.value}},
    ]
    assert core.basics.fingerprint.shown(record) == train.short and core.basics.fingerprint.shown({}) == "-"


def test_a_training_run_records_its_data_fingerprint_and_runs_shows_it(core, trained_run, session_workdir, package):
    run_dir = trained_run("probe")
    record = json.loads((run_dir / "run.json").read_text())
    expected = core.basics.fingerprint.of(session_workdir / "data" / "samples" / "probe" / "points.csv")
    assert record["data"]["train"]["fingerprint"] == expected.value
    assert record["data"]["train"]["source"] == "data/samples/probe/points.csv"
    app = importlib.import_module(f"{package}.cli").app
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(session_workdir)
        listed = CliRunner().invoke(app, ["runs", "probe"])
    assert listed.exit_code == 0, listed.output
    assert "data" in listed.output and expected.short in listed.output


def test_data_fingerprint_command_compares_with_a_builds_manifest(core, tmp_path, package):
    folder = write(tmp_path / "data", FILES)
    manifest = core.basics.fingerprint.write_manifest(folder, {"git_commit": "0123456789abcdef"})
    assert core.basics.fingerprint.read_manifest(folder) == manifest
    assert core.basics.fingerprint.of(folder).value == manifest["fingerprint"]  # the manifest is hidden: not data
    app = importlib.import_module(f"{package}.cli").app
    shown = CliRunner().invoke(app, ["data", "fingerprint", str(folder)])
    assert shown.exit_code == 0, shown.output
    assert manifest["short"] in shown.output and "0123456" in shown.output
    assert "matches .fingerprint.json" in shown.output
    (folder / "train/part-0.csv").write_bytes(b"x,y\n0,0\n")
    changed = CliRunner().invoke(app, ["data", "fingerprint", str(folder)])
    assert changed.exit_code == 0 and "differs from .fingerprint.json" in changed.output
    one_file = CliRunner().invoke(app, ["data", "fingerprint", str(folder / "train/part-1.csv")])
    assert one_file.exit_code == 0 and core.basics.fingerprint.of(folder / "train/part-1.csv").short in one_file.output
    missing = CliRunner().invoke(app, ["data", "fingerprint", str(tmp_path / "missing")])
    assert missing.exit_code == 2 and "data not found" in missing.output


@pytest.fixture
def s3(fresh_emulator):
    """An S3 client of a fresh emulator, with a bucket `data` holding FILES under `sets/a/` (and a hidden file)."""
    client = boto3.client("s3", endpoint_url=fresh_emulator)
    client.create_bucket(Bucket="data")
    for name, content in {**FILES, ".hidden/x": b"not data"}.items():
        client.put_object(Bucket="data", Key=f"sets/a/{name}", Body=content)
    return client


def test_s3_fingerprints_come_from_the_listing(core, s3):
    found = core.basics.fingerprint.of("s3://data/sets/a", s3)
    assert re.match(r"^s3etag:[0-9a-f]{64}$", found.value) and found.short == found.value[: len("s3etag:") + 12]
    assert found == core.basics.fingerprint.of("s3://data/sets/a/", s3)  # a folder, with or without the slash
    assert (found.files, found.bytes) == (3, sum(len(content) for content in FILES.values()))
    s3.put_object(Bucket="data", Key="sets/a/.more-hidden", Body=b"x")
    s3.put_object(Bucket="data", Key="sets/ab/other.csv", Body=b"x")  # shares the prefix, not the folder
    assert core.basics.fingerprint.of("s3://data/sets/a", s3) == found
    s3.put_object(Bucket="data", Key="sets/a/train/part-1.csv", Body=b"x,y\n3,5\n")
    assert core.basics.fingerprint.of("s3://data/sets/a", s3) != found


def test_an_s3_object_is_a_channel_of_one_file(core, s3):
    one = core.basics.fingerprint.of("s3://data/sets/a/train/part-0.csv", s3)
    assert (one.files, one.bytes) == (1, len(FILES["train/part-0.csv"]))
    s3.put_object(Bucket="data", Key="sets/b/part-0.csv", Body=FILES["train/part-0.csv"])
    assert core.basics.fingerprint.of("s3://data/sets/b/part-0.csv", s3) == one  # the same name and content
    assert core.basics.fingerprint.of("s3://data/sets/b", s3) == one


def test_s3_problems_are_clear_errors(core, s3, emulator, package):
    with pytest.raises(core.basics.fingerprint.FingerprintError, match="no data files in s3://data/nothing"):
        core.basics.fingerprint.of("s3://data/nothing", s3)
    with pytest.raises(core.basics.fingerprint.FingerprintError, match="NoSuchBucket"):
        core.basics.fingerprint.of("s3://no-such-bucket/x", s3)
    with pytest.raises(core.basics.fingerprint.FingerprintError, match="not an S3 URI"):
        core.basics.fingerprint.of("s3:///x", s3)
    app = importlib.import_module(f"{package}.cli").app
    shown = CliRunner().invoke(app, ["data", "fingerprint", "s3://data/sets/a", "--endpoint-url", emulator])
    assert shown.exit_code == 0, shown.output
    assert core.basics.fingerprint.of("s3://data/sets/a", s3).short in shown.output
