"""Bad input to the project CLI: one line on stderr, exit code 2, no traceback, and nothing written.

Each row of the table is a command line, the files it needs first (bad data, a run that failed...),
and the message it must print. The check that nothing was written compares every file and folder
of the working folder (run folders included) before and after. Interruptions (SIGTERM, Ctrl-C) of
`train` leave the run marked interrupted and resumable, and no process behind.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_MODELS = Path(__file__).with_name("fixture_models")
HEADER = "x,y,side\n"
GOOD = "0.1,0.2,above\n0.3,-0.4,below\n"
FAILED = "runs/probe/20200101-000000-aaaaaa"  # a run that failed, with weights from an earlier attempt
LOSS_NAN = "epoch 3: the training loss is nan"


def failed_run(metrics: dict | None = None) -> dict[str, bytes | str]:
    files = {
        f"{FAILED}/model.pt": b"weights",
        f"{FAILED}/config.yaml": "data:\n  path: data/samples/probe/points.csv\n  target: side\n",
        f"{FAILED}/status.json": json.dumps({"status": "failed", "error": LOSS_NAN}),
    }
    return files | ({f"{FAILED}/metrics.json": json.dumps(metrics)} if metrics else {})


def running_run() -> dict[str, bytes | str]:
    """A run still training: its process (this one) is alive."""
    status = json.dumps({"status": "running", "pid": os.getpid()})
    return failed_run() | {f"{FAILED}/status.json": status, f"{FAILED}/checkpoints/last.pt": b"state"}


BAD_INPUTS = [  # (command line, files to write first, message)
    (["train", "no_such_model"], {}, "unknown model 'no_such_model'"),
    (["train", "../etc"], {}, "unknown model"),
    (["train", "probe", "--sagemaker-local", "trainer.speed=1"], {}, "Key 'speed' not in 'TrainerConfig'"),
    (["train", "probe", "trainer.precision=fp8"], {}, "trainer.precision: 'fp8' is not allowed"),
    (["config", "probe", "model.bias=[a]"], {}, "model.bias"),
    (["train", "probe", "optimizer.lr=-1"], {}, "optimizer.lr: -1.0 is not allowed; expected a number, 0 or more"),
    (["train", "probe", "optimizer.lr=nan"], {}, "optimizer.lr: nan is not allowed"),
    (["train", "probe", "optimizer.weight_decay=-0.5"], {}, "optimizer.weight_decay: -0.5 is not allowed"),
    (["train", "probe", "data.batch_size=0"], {}, "data.batch_size: 0 is not allowed; expected 1 or more"),
    (["train", "probe", "data.val_fraction=1"], {}, "data.val_fraction: 1.0 is not allowed"),
    (["train", "probe", "trainer.max_epochs=0"], {}, "trainer.max_epochs: 0 is not allowed"),
    (["train", "probe", "trainer.max_epochs=-5"], {}, "trainer.max_epochs: -5 is not allowed"),
    (["train", "probe", "trainer.checkpoint_every=-1"], {}, "trainer.checkpoint_every: -1 is not allowed"),
    (["train", "probe", "trainer.max_epochz=1"], {}, "max_epochz"),
    (["train", "probe", "trainer.device=tpu"], {}, "'tpu' is not a device"),  # refused once the run folder exists
    (["train", "probe", "scheduler.name=Nope"], {}, "'Nope' is not a scheduler"),
    (["train", "probe", "model.bias=&x [*x]"], {}, "not valid YAML: YAML recursive aliases are not supported"),
    (["train", "probe", "trainer.max_epochs=[1"], {}, "not valid YAML"),
    (["train", "probe", "[=1"], {}, "not a key OmegaConf can read"),
    (["train", "probe", "just-a-word"], {}, "'just-a-word' is not of the form key=value"),
    (["config", "probe", "trainer=1"], {}, "Merge error"),
    (["config", "probe", "optimizer.lr=fast"], {}, "key: optimizer.lr"),
    (["train", "probe", "data.path=missing.csv"], {}, "data not found: missing.csv"),
    (
        ["train", "probe", "data.path=d.csv"],
        {"d.csv": HEADER + GOOD + "0.5,nan,above\n"},
        r"d.csv: row 3 \(line 4\): column 'y' is empty or NaN",
    ),
    (
        ["train", "probe", "data.path=d.csv"],
        {"d.csv": HEADER + "inf,0.5,above\n" + GOOD},
        r"d.csv: row 1 \(line 2\): column 'x' is inf",
    ),
    (
        ["train", "probe", "data.path=d.csv"],
        {"d.csv": HEADER + GOOD + "0.5,above\n"},
        "d.csv: line 4: 2 values, but the header has 3",
    ),
    (
        ["train", "probe", "data.path=d.csv"],
        {"d.csv": HEADER + "0.5,0.1,above,7\n" + GOOD},
        "d.csv: line 2: 4 values, but the header has 3",
    ),
    (
        ["train", "probe", "data.path=d.csv"],
        {"d.csv": (HEADER + GOOD + "0.5,0.1,\xe0bove\n").encode("latin-1")},
        "d.csv: line 4: not UTF-8 text",
    ),
    (["train", "probe", "data.path=d.csv"], {"d.csv": bytes(range(256)) * 8}, "d.csv: not a CSV file of UTF-8 text"),
    (
        ["train", "probe", "data.path=d.csv"],
        {"d.csv": (HEADER + GOOD).encode("utf-16")},
        "d.csv: not a CSV file of UTF-8 text",
    ),
    (["train", "probe", "data.path=d.csv.gz"], {"d.csv.gz": HEADER + GOOD}, "d.csv.gz: not readable as CSV"),
    (["train", "probe", "data.path=d.csv"], {"d.csv": ""}, "d.csv: empty file, expected a header row"),
    (["train", "probe", "data.path=d.csv"], {"d.csv": HEADER}, "d.csv: no data rows"),
    (["train", "probe", "data.path=d.csv"], {"d.csv": "a,b\n1,2\n"}, r"d.csv: missing column\(s\) \['side'\]"),
    (["train", "probe", "--resume", "nope"], {}, "no run 'nope' of model 'probe' to resume"),
    (["train", "probe", "--resume", "../probe"], {}, "no run '../probe' of model 'probe' to resume"),
    (["train", "probe", "--resume", FAILED[11:]], running_run(), "is still running"),
    (
        ["train", "probe", "--resume", FAILED[11:]],
        {**failed_run(), f"{FAILED}/checkpoints/last.pt": b"cut short"},
        "checkpoints/last.pt cannot be read",
    ),
    (["train", "probe", "--stage", "data"], {}, "is not empty"),
    (["bundle", "probe"], {}, "model 'probe' has no finished run yet"),
    (["bundle", "probe"], failed_run(), "model 'probe' has no finished run yet"),
    (["bundle", "probe", "--run", FAILED[11:]], failed_run(), f"did not finish: failed: {LOSS_NAN}"),
    (
        ["bundle", "probe", "--run", "nope"],
        failed_run(),
        r"no finished run 'nope' for model 'probe' \(finished runs: none\)",
    ),
    (
        ["bundle", "probe", "--best", "val_loss"],
        failed_run({"val_loss": 0.1}),
        "no run of model 'probe' has metric 'val_loss'",
    ),
    (["bundle", "probe", "--run", "x", "--best", "val_loss"], {}, "give --run or --best, not both"),
    (["bundle", "probe", "--goal", "min"], {}, "--goal needs --best METRIC"),
    (["bundle", "no_such_model"], {}, "unknown model 'no_such_model'"),
    (["runs", "no_such_model"], {}, "unknown model 'no_such_model'"),
    (["runs", "probe", "--goal", "up"], {}, r"'up' is not one of 'min', 'max'. \(see `root runs --help`\)"),
    (["train"], {}, "Missing argument 'model'"),
    (["train", "probe", "--epochs", "3"], {}, "No such option: --epochs"),
    (["train", "probe", "--wait"], {}, "--wait only applies to --remote"),
    (["train", "probe", "--endpoint-url", "http://127.0.0.1:1"], {}, "--endpoint-url only applies to --remote"),
    (["train", "probe", "--remote", "--stage", "out"], {}, "give one of --remote, --stage, not several"),
    (["train", "probe", "--resume", "r1", "--sagemaker-local"], {}, "give one of --sagemaker-local, --resume, not"),
    (["train", "probe", "--stage", "out", "trainer.max_epochs=2"], {}, "overrides apply when a job is launched"),
    (["deploy", "probe", "--stage", "qa"], {}, "'qa' is not one of 'dev', 'prod'"),
    (["bundle", "probe", "--compression", "zip"], {}, "'zip' is not one of 'gzip', 'none'"),
    (["serve"], {}, "give either a MODEL or --bundle PATH"),
    (["serve", "--bundle", "missing.tar.gz"], {}, "not a readable tar archive"),
    (["serve", "probe"], failed_run(), "model 'probe' has no finished run yet"),
    (["serve", "probe", "--run", FAILED[11:]], failed_run(), "did not finish: failed"),
]


@pytest.fixture(scope="module")
def cli(package):
    app = importlib.import_module(f"{package}.cli").app
    return lambda *args: CliRunner().invoke(app, [str(a) for a in args])


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folder`: its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.mark.parametrize(("args", "files", "message"), BAD_INPUTS, ids=lambda value: None)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, workdir, args, files, message):
    for name, content in files.items():
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".gz") or isinstance(content, bytes):
            path.write_bytes(content.encode() if isinstance(content, str) else content)
        else:
            path.write_text(content)
    before = tree(workdir)
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert re.search(message, lines[0]), (message, lines[0])
    assert tree(workdir) == before


def test_a_run_that_fails_in_training_is_marked_failed_and_never_picked(core, cli, workdir):
    overflowing = "".join(f"3e38,3e38,{side}\n" for side in ["above", "below"] * 4)  # logits beyond float32
    (workdir / "d.csv").write_text(HEADER + overflowing)
    result = cli("train", "probe", "data.path=d.csv", "trainer.progress=false")
    assert result.exit_code == 2 and "epoch 1: the training loss is inf" in result.output, result.output
    [run_dir] = core.catalog.runs.every_run("probe")
    assert core.catalog.runs.status(run_dir) == ("failed", result.output.strip().removeprefix("error: "))
    assert core.catalog.runs.list_runs("probe") == []
    listed = cli("runs", "probe")
    assert listed.exit_code == 0 and "1 run(s) did not finish" in listed.output, listed.output
    everything = cli("runs", "probe", "--all")
    assert f"{run_dir.name} failed: epoch 1: the training loss is inf" in everything.output, everything.output


class Unreadable(torch.utils.data.Dataset):
    """A dataset whose items fail as a data file with a bad row would."""

    def __init__(self, error: type[Exception]):
        self.error = error

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int):
        raise self.error("d.csv: row 3 (line 4): column 'y' is empty or NaN")


def test_an_error_raised_in_a_dataloader_worker_is_reported_as_its_own_line(core):
    loader = torch.utils.data.DataLoader(Unreadable(core.basics.errors.ProjectError), num_workers=1)
    with pytest.raises(core.basics.errors.ProjectError) as raised:
        next(iter(loader))
    assert "Traceback" in str(raised.value)  # torch carries the worker's traceback in the message
    assert core.basics.errors.one_line(raised.value) == "d.csv: row 3 (line 4): column 'y' is empty or NaN"


def watch_and_signal(run_root: Path, number: int, send) -> threading.Thread:
    """A thread that sends signal `number` (with `send`) once a run under `run_root` has a checkpoint."""

    def watch() -> None:
        deadline = time.monotonic() + 120
        while not list(run_root.glob("*/checkpoints/last.pt")) and time.monotonic() < deadline:
            time.sleep(0.02)
        send(number)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def assert_resumable(core, cli, run_dir: Path, number: int) -> None:
    """The interrupted run says so, and goes on from its checkpoint to finish."""
    assert core.catalog.runs.status(run_dir) == ("interrupted", f"interrupted by {signal.Signals(number).name}")
    assert core.catalog.runs.list_runs("probe") == []
    epoch = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["epoch"]
    resumed = cli(
        "train", "probe", "--resume", run_dir.name, f"trainer.max_epochs={epoch + 1}", "trainer.progress=false"
    )
    assert resumed.exit_code == 0, resumed.output
    assert core.catalog.runs.status(run_dir)[0] == "finished" and core.catalog.runs.list_runs("probe") == [run_dir]


LONG_RUN = ["trainer.max_epochs=100000", "trainer.checkpoint_every=1", "trainer.progress=false"]


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_training_is_one_line_marked_and_resumable(core, cli, workdir, number):
    watch_and_signal(workdir / "runs" / "probe", number, lambda n: os.kill(os.getpid(), n))
    result = cli("train", "probe", *LONG_RUN)
    assert result.exit_code == 128 + number, result.output
    [run_dir] = core.catalog.runs.every_run("probe")
    assert result.output.strip() == (
        f"stopped: run {Path('runs/probe') / run_dir.name} interrupted by {signal.Signals(number).name}; "
        f"go on with `train --resume {run_dir.name}`"
    )
    assert_resumable(core, cli, run_dir, number)


@pytest.mark.slow
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_train_leaves_no_process_and_a_resumable_run(core, cli, package, workdir, number):
    models = f"import {package}.models as m; m.__path__.append({str(FIXTURE_MODELS)!r})"
    launch = f"{models}; from {package}.cli import app; app()"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-c", launch, "train", "probe", *LONG_RUN, "data.num_workers=2"]
    process = subprocess.Popen(command, cwd=workdir, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    watch_and_signal(workdir / "runs" / "probe", number, process.send_signal)
    _, stderr = process.communicate(timeout=180)
    assert process.returncode == 128 + number, stderr
    assert "Traceback" not in stderr and stderr.startswith("stopped: run runs/probe/"), stderr
    deadline = time.monotonic() + 30
    while alive(process.pid) and time.monotonic() < deadline:  # its DataLoader workers, in its process group
        time.sleep(0.05)
    assert not alive(process.pid), "a DataLoader worker outlived the interrupted training"
    [run_dir] = core.catalog.runs.every_run("probe")
    assert not list(run_dir.rglob("*.partial"))
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["data"]["num_workers"] == 2
    assert_resumable(core, cli, run_dir, number)


def alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
