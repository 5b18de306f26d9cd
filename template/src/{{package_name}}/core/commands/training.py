"""`train` and `config`: a model's resolved config, and training it here, as a local job, or on SageMaker."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..basics import config
from ..basics.errors import ProjectError
from ..catalog import selection
from ..jobs import launch as jobs
from ..jobs import staging
from ..trainer import launch
from . import printing
from .console import interruptible, out, user_errors
from .options import EndpointUrlOpt, ModelArg, Overrides

SageMakerLocalOpt = Annotated[
    bool,
    typer.Option(
        "--sagemaker-local",
        help="Run as a SageMaker training job would: /opt/ml tree, SM_* environment, remote.instance_count hosts.",
    ),
]
StageDirOpt = Annotated[
    Path | None, typer.Option("--stage", help="Only write the job's source_dir (entry point, package) here.")
]
RemoteOpt = Annotated[bool, typer.Option("--remote", help="Launch a SageMaker training job.")]
ResumeOpt = Annotated[
    str | None, typer.Option("--resume", help="Go on with this run (id under runs/MODEL/) from its last checkpoint.")
]
WaitOpt = Annotated[bool, typer.Option("--wait", help="With --remote: wait, then fetch the model as a run.")]


def train(
    model: ModelArg,
    overrides: Overrides = None,
    sagemaker_local: SageMakerLocalOpt = False,
    stage: StageDirOpt = None,
    remote: RemoteOpt = False,
    resume: ResumeOpt = None,
    wait: WaitOpt = False,
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Train MODEL from its config.yaml plus overrides; the run lands in runs/MODEL/<run-id>/.

    One way at a time: --remote (with --wait, --endpoint-url), --stage DIR, --sagemaker-local or
    --resume RUN; without any, a new run on this machine.
    """
    overrides = list(overrides or [])
    with user_errors(), interruptible():
        mode = check_mode(remote=remote, stage=stage, sagemaker_local=sagemaker_local, resume=resume)
        if mode == "remote":
            _remote(model, overrides, wait, endpoint_url)
        elif wait or endpoint_url:
            raise ProjectError(f"{'--wait' if wait else '--endpoint-url'} only applies to --remote")
        elif mode == "stage":
            _stage(model, overrides, stage)
        elif mode == "sagemaker-local":
            out.print(f"job finished; its model and output are in [bold]{jobs.local_job(model, overrides)}[/bold]")
        else:
            result = launch.resume(model, resume, overrides) if resume else launch.new_run(model, overrides)
            stopped = f"stopped early after epoch {result.epochs}; " if getattr(result, "stopped_early", False) else ""
            saved = f"run saved to [bold]{result.paths.model_dir}[/bold]"
            out.print(f"{saved}  {stopped}{printing.metrics(result.metrics)}")


def show_config(model: ModelArg, overrides: Overrides = None) -> None:
    """Print MODEL's config as training would resolve it: config.yaml, then overrides, checked against its schema."""
    with user_errors():
        resolved = selection.model_config(model, list(overrides or []))
    print(config.to_yaml(resolved), end="")


def check_mode(**given: object) -> str:
    """The one training mode the options name ("local" when none); naming two is an error."""
    chosen = [name.replace("_", "-") for name, value in given.items() if value]
    if len(chosen) > 1:
        raise ProjectError(f"give one of --{', --'.join(chosen)}, not several")
    return chosen[0] if chosen and chosen[0] != "resume" else "local"


def _stage(model: str, overrides: list[str], dest: Path) -> None:
    if overrides:
        raise ProjectError("overrides apply when a job is launched (--remote or --sagemaker-local), not to --stage")
    out.print(f"training job source_dir written to [bold]{staging.stage(model, dest)}[/bold]")


def _remote(model: str, overrides: list[str], wait: bool, endpoint_url: str | None) -> None:
    launched = jobs.remote_job(model, overrides, endpoint_url)
    resources = launched.resources
    spot = ", spot" if resources.spot else ""
    shape = f"{resources.instance_count} x {resources.instance_type}{spot}"
    out.print(f"training job [bold]{launched.job}[/bold] created ({shape})")
    if wait:
        run_dir = jobs.fetch_when_done(model, launched.job, endpoint_url)
        out.print(f"job finished; its model is the run [bold]{run_dir}[/bold]")
