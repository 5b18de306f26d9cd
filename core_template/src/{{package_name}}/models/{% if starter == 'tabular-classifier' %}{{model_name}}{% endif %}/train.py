"""Train this model: locally, or as the entry point of a SageMaker training job.

    <package> train <model> [key=value ...]            # from the project CLI
    python -m <package>.models.<model>.train [key=value ...]
    torchrun --nproc_per_node=2 -m <package>.models.<model>.train [key=value ...]

In a SageMaker job the data comes from the `train` channel, hyperparameters become config
overrides, and the model is saved to SM_MODEL_DIR; locally a run folder under runs/ is used.
With `data.streaming=true` the shards are read as a stream instead of loaded (data larger than
memory; see core/loading/streaming.py for the validation data), and the feature standardisation comes
from the first STANDARDIZATION_ROWS rows of the training shards.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from ...core.basics import config
from ...core.loading import batching, data, streaming
from ...core.trainer import distributed, environment, training
from . import model

NAME = __package__.rsplit(".", 1)[-1]
CONFIG_FILE = Path(__file__).with_name("config.yaml")
STANDARDIZATION_ROWS = 100_000


def main(argv: list[str] | None = None) -> training.TrainingResult:
    """Train with `config.yaml`, then `argv` overrides, then a SageMaker job's hyperparameters."""
    overrides = list(sys.argv[1:] if argv is None else argv) + environment.hyperparameter_overrides()
    cfg = config.load(model.Config, CONFIG_FILE, overrides)
    environment.use_channels(cfg.data)  # in a SageMaker job: its train, validation and test channels
    dataset = None if cfg.data.streaming else read(cfg)
    with distributed.process_group():
        train_loader, val_loader, features = loaders(cfg, dataset, distributed.rank(), distributed.world_size())
        training.seed_everything(cfg.trainer.seed)
        network = model.build(cfg)
        network.fit_standardization(features)
        paths = distributed.from_main(lambda: environment.run_paths(NAME))  # the run folder, once all else is ready
        return training.fit(network, nn.CrossEntropyLoss(), train_loader, val_loader, cfg, paths, NAME)


def read(cfg: model.Config) -> data.TabularData:
    """The whole data set, in memory; records its features and classes in `cfg`."""
    dataset = data.load_tabular(Path(cfg.data.path), cfg.data.target, cfg.data.features, cfg.data.classes)
    cfg.data.features, cfg.data.classes = dataset.feature_names, dataset.classes
    return dataset


def loaders(
    cfg: model.Config, dataset: data.TabularData | None, rank: int, world_size: int
) -> tuple[DataLoader, DataLoader, torch.Tensor]:
    """Training and validation loaders (streams without a `dataset`), and features to fit the standardisation to."""
    if dataset is None:
        train_loader, val_loader = streaming.loaders(cfg.data, cfg.trainer.seed, rank, world_size)
        return train_loader, val_loader, train_loader.dataset.head(STANDARDIZATION_ROWS)[0]
    train, val = batching.held_out(dataset, cfg.data, cfg.trainer.seed)  # data.validation, or a split
    options = batching.loader_options(cfg.data)
    train_loader, val_loader = batching.dataset_loaders(
        train, val, cfg.data.batch_size, cfg.trainer.seed, rank, world_size, **options
    )
    return train_loader, val_loader, train.tensors[0]


if __name__ == "__main__":
    main()
