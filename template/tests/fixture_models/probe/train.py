"""Train the probe: locally, under torchrun, or as a SageMaker training job's entry point."""

from __future__ import annotations

import sys
from pathlib import Path

from torch import nn

from ...core.basics import config
from ...core.loading import batching, data
from ...core.trainer import distributed, environment, training
from . import model

NAME = __package__.rsplit(".", 1)[-1]
CONFIG_FILE = Path(__file__).with_name("config.yaml")


def main(argv: list[str] | None = None) -> training.TrainingResult:
    overrides = list(sys.argv[1:] if argv is None else argv) + environment.hyperparameter_overrides()
    cfg = config.load(model.Config, CONFIG_FILE, overrides)
    cfg.data.path = str(environment.data_source("train", cfg.data.path))
    dataset = data.load_tabular(Path(cfg.data.path), cfg.data.target, cfg.data.features, cfg.data.classes)
    cfg.data.features, cfg.data.classes = dataset.feature_names, dataset.classes
    with distributed.process_group():
        paths = distributed.from_main(lambda: environment.run_paths(NAME))
        shard = {"rank": distributed.rank(), "world_size": distributed.world_size()}
        train, val = batching.split(dataset, cfg.data.val_fraction, cfg.trainer.seed)
        train_loader, val_loader = batching.dataset_loaders(train, val, cfg.data.batch_size, cfg.trainer.seed, **shard)
        training.seed_everything(cfg.trainer.seed)
        network = model.Probe(cfg.data.features, cfg.data.classes, cfg.model)
        return training.fit(network, nn.CrossEntropyLoss(), train_loader, val_loader, cfg, paths, NAME)


if __name__ == "__main__":
    main()
