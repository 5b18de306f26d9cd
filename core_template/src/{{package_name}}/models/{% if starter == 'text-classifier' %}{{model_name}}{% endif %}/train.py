"""Train this model: locally, or as the entry point of a SageMaker training job.

    <package> train <model> [key=value ...]            # from the project CLI
    python -m <package>.models.<model>.train [key=value ...]
    torchrun --nproc_per_node=2 -m <package>.models.<model>.train [key=value ...]

In a SageMaker job the data comes from the `train` channel, hyperparameters become config
overrides, and the model is saved to SM_MODEL_DIR; locally a run folder under runs/ is used.
The vocabulary is built from the training split only and saved as `vocab.json` beside the weights.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

from ...core.basics import config
from ...core.loading import batching, data
from ...core.trainer import distributed, environment, training
from . import model
from .contract import CONTRACT

NAME = __package__.rsplit(".", 1)[-1]
CONFIG_FILE = Path(__file__).with_name("config.yaml")


def read_texts(cfg: model.Config, source: str) -> tuple[list[str], list[int]]:
    """The texts of `source` and their class indices; records the classes in `cfg` (from the first source read)."""
    header, rows = data.read_rows(Path(source))
    missing = [name for name in (cfg.data.text, cfg.data.target) if name not in header]
    if missing:
        raise data.DataError(f"{source}: missing column(s) {missing}; the header is {header}")
    if not rows:
        raise data.DataError(f"{source}: no data rows")
    labels = [row[cfg.data.target] for row in rows]
    cfg.data.classes = cfg.data.classes or sorted(set(labels))
    unknown = sorted(set(labels) - set(cfg.data.classes))
    if unknown:
        raise data.DataError(f"{source}: label(s) {unknown} are not among the classes {cfg.data.classes}")
    return [row[cfg.data.text] for row in rows], [cfg.data.classes.index(label) for label in labels]


def collate(batch: list[tuple[list[int], int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of (token ids, class) pairs as padded ids and a tensor of classes."""
    ids, targets = zip(*batch, strict=True)
    return model.pad(list(ids)), torch.tensor(targets)


def main(argv: list[str] | None = None) -> training.TrainingResult:
    """Train with `config.yaml`, then `argv` overrides, then a SageMaker job's hyperparameters."""
    overrides = list(sys.argv[1:] if argv is None else argv) + environment.hyperparameter_overrides()
    cfg = config.load(model.Config, CONFIG_FILE, overrides)
    environment.use_channels(cfg.data)  # in a SageMaker job: its train, validation and test channels
    texts, targets = read_texts(cfg, cfg.data.path)
    held_out = read_texts(cfg, cfg.data.validation) if cfg.data.validation else ([], [])
    train, val = batching.train_and_validation(len(texts), len(held_out[0]), cfg.data.val_fraction, cfg.trainer.seed)
    texts, targets = texts + held_out[0], targets + held_out[1]
    tokenizer = model.Tokenizer.build([texts[i] for i in train], cfg.model.min_count, cfg.model.max_tokens)
    encoded = [(tokenizer.encode(text), target) for text, target in zip(texts, targets, strict=True)]
    with distributed.process_group():
        shard = {"rank": distributed.rank(), "world_size": distributed.world_size()}
        train_loader, val_loader = batching.dataset_loaders(
            [encoded[i] for i in train],
            [encoded[i] for i in val],
            cfg.data.batch_size,
            cfg.trainer.seed,
            collate_fn=collate,  # texts differ in length: pad each batch
            **shard,
            **batching.loader_options(cfg.data),
        )
        training.seed_everything(cfg.trainer.seed)
        network = model.build(cfg, tokenizer)
        loss = nn.CrossEntropyLoss()
        paths = distributed.from_main(lambda: environment.run_paths(NAME))  # the run folder, once all else is ready
        if distributed.is_main():
            tokenizer.save(paths.model_dir / model.VOCAB)
        return training.fit(network, loss, train_loader, val_loader, cfg, paths, NAME, artifacts=CONTRACT.artifacts)


if __name__ == "__main__":
    main()
