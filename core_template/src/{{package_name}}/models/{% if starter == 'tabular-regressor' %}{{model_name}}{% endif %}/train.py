"""Train this model: locally, or as the entry point of a SageMaker training job.

    <package> train <model> [key=value ...]            # from the project CLI
    python -m <package>.models.<model>.train [key=value ...]
    torchrun --nproc_per_node=2 -m <package>.models.<model>.train [key=value ...]

In a SageMaker job the data comes from the `train` channel, hyperparameters become config
overrides, and the model is saved to SM_MODEL_DIR; locally a run folder under runs/ is used.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from ...core.basics import config, tasks
from ...core.inference import codecs, instances
from ...core.loading import batching, data
from ...core.trainer import distributed, environment, training
from . import model

NAME = __package__.rsplit(".", 1)[-1]
CONFIG_FILE = Path(__file__).with_name("config.yaml")


def main(argv: list[str] | None = None) -> training.TrainingResult:
    """Train with `config.yaml`, then `argv` overrides, then a SageMaker job's hyperparameters."""
    overrides = list(sys.argv[1:] if argv is None else argv) + environment.hyperparameter_overrides()
    cfg = config.load(model.Config, CONFIG_FILE, overrides)
    environment.use_channels(cfg.data)  # in a SageMaker job: its train, validation and test channels
    rows = read_columns(cfg.data)
    held_out = read_validation(cfg.data)
    with distributed.process_group():
        shard = {"rank": distributed.rank(), "world_size": distributed.world_size()}
        training.seed_everything(cfg.trainer.seed)
        network = model.build(cfg)
        inputs, targets = tensors(network, cfg.data, rows, held_out)
        train, val = batching.train_and_validation(len(rows), len(held_out), cfg.data.val_fraction, cfg.trainer.seed)
        train_loader, val_loader = batching.dataset_loaders(
            TensorDataset(inputs[train], targets[train]),
            TensorDataset(inputs[val], targets[val]),
            cfg.data.batch_size,
            cfg.trainer.seed,
            **shard,
            **batching.loader_options(cfg.data),
        )
        network.fit_standardization(inputs[train], targets[train])
        loss = model.StandardizedMSE(network.target_std)
        paths = distributed.from_main(lambda: environment.run_paths(NAME))  # the run folder, once all else is ready
        return training.fit(network, loss, train_loader, val_loader, cfg, paths, NAME, metrics=tasks.REGRESSION.metrics)


def read_columns(settings: model.TableConfig) -> list[dict[str, str]]:
    """The data's rows; fills in the feature columns and the categories of each categorical one."""
    header, rows = data.read_rows(Path(settings.path))
    settings.features = settings.features or [name for name in header if name != settings.target]
    missing = [name for name in [settings.target, *settings.features, *settings.categorical] if name not in header]
    if missing or not rows:
        raise data.DataError(f"{settings.path}: no data rows, or missing column(s) {missing}; the header is {header}")
    if settings.categories is None:
        settings.categories = {name: sorted({row[name].strip() for row in rows}) for name in settings.categorical}
    return rows


def read_validation(settings: model.TableConfig) -> list[dict[str, str]]:
    """The rows of `data.validation` (none when it is not set), with the training data's columns."""
    if not settings.validation:
        return []
    header, rows = data.read_rows(Path(settings.validation))
    missing = [name for name in [settings.target, *settings.features] if name not in header]
    if missing or not rows:
        raise data.DataError(f"{settings.validation}: no data rows, or missing column(s) {missing}")
    return rows


def tensors(
    network: model.TabularRegressor, settings: model.TableConfig, rows: list[dict], held_out: list[dict]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The training rows, then the held-out ones, as network inputs and their targets.

    A value that is not a finite number, or not a known category, is an error naming its file and row.
    """
    parts = [(rows, settings.path), (held_out, settings.validation)]
    encoded = [_checked(network, settings, part, Path(str(source))) for part, source in parts if part]
    return torch.cat([inputs for inputs, _ in encoded]), torch.cat([targets for _, targets in encoded])


def _checked(network, settings: model.TableConfig, rows: list[dict], source: Path) -> tuple[torch.Tensor, ...]:
    try:
        inputs = network.encode([[row[name] for name in settings.features] for row in rows])
        targets = instances.numbers([row[settings.target] for row in rows], f"column '{settings.target}'")
    except codecs.PayloadError as error:
        for index, row in enumerate(rows):  # the first bad row, to name it
            problem = _problem(network, settings, row)
            if problem:
                raise data.DataError(f"{data.row_origin(source, index)}: {problem}") from None
        raise data.DataError(f"{source}: {error}") from None
    return inputs, torch.tensor(targets, dtype=torch.float32)


def _problem(network, settings: model.TableConfig, row: dict) -> str | None:
    """What is wrong with one row, naming its column (None: nothing)."""
    try:
        for name in [*network.numeric, settings.target]:
            instances.numbers([row[name]], f"column '{name}'")
        network.encode([[row[name] for name in settings.features]])
    except codecs.PayloadError as error:
        return str(error).removeprefix("row 0: ")  # `encode` counts the rows it is given from 0
    return None


if __name__ == "__main__":
    main()
