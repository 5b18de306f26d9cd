"""Train this model: locally, or as the entry point of a SageMaker training job.

    <package> train <model> [key=value ...]            # from the project CLI
    python -m <package>.models.<model>.train [key=value ...]
    torchrun --nproc_per_node=2 -m <package>.models.<model>.train [key=value ...]

The data is a folder with a sub-folder of images per class; the folder names are the classes.
In a SageMaker job the data comes from the `train` channel, hyperparameters become config
overrides, and the model is saved to SM_MODEL_DIR; locally a run folder under runs/ is used.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from PIL import Image
from torch import nn
from torch.utils.data import Dataset, Subset

from ...core.basics import config
from ...core.inference import codecs
from ...core.loading import batching, data
from ...core.trainer import distributed, environment, training
from . import model

NAME = __package__.rsplit(".", 1)[-1]
CONFIG_FILE = Path(__file__).with_name("config.yaml")


class ImageFiles(Dataset):
    """Image files and their class indices, read and converted as they are used."""

    def __init__(self, files: list[Path], targets: list[int], settings: model.NetworkConfig):
        self.files, self.targets, self.settings = files, targets, settings

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path = self.files[index]
        try:
            with Image.open(path) as image:
                return model.to_tensor(image, self.settings, str(path)), self.targets[index]
        except OSError as error:  # not an image, or cut short (Pillow's UnidentifiedImageError is an OSError)
            raise data.DataError(f"{path}: not a readable image ({error.strerror or error})") from None
        except codecs.PayloadError as error:
            raise data.DataError(str(error)) from None


def main(argv: list[str] | None = None) -> training.TrainingResult:
    """Train with `config.yaml`, then `argv` overrides, then a SageMaker job's hyperparameters."""
    overrides = list(sys.argv[1:] if argv is None else argv) + environment.hyperparameter_overrides()
    cfg = config.load(model.Config, CONFIG_FILE, overrides)
    environment.use_channels(cfg.data)  # in a SageMaker job: its train, validation and test channels
    files, labels = data.labelled_files(Path(cfg.data.path), model.SUFFIXES)
    cfg.data.classes = list(cfg.data.classes or sorted(set(labels)))
    held_out = data.labelled_files(Path(cfg.data.validation), model.SUFFIXES) if cfg.data.validation else ([], [])
    unknown = sorted(set(labels + held_out[1]) - set(cfg.data.classes))
    if unknown:
        raise data.DataError(f"{cfg.data.path}: class folder(s) {unknown} are not among the classes {cfg.data.classes}")
    all_labels = labels + held_out[1]
    dataset = ImageFiles(files + held_out[0], [cfg.data.classes.index(label) for label in all_labels], cfg.model)
    with distributed.process_group():
        shard = {"rank": distributed.rank(), "world_size": distributed.world_size()}
        train, val = batching.train_and_validation(
            len(files), len(held_out[0]), cfg.data.val_fraction, cfg.trainer.seed
        )
        train_loader, val_loader = batching.dataset_loaders(
            Subset(dataset, train.tolist()),
            Subset(dataset, val.tolist()),
            cfg.data.batch_size,
            cfg.trainer.seed,
            **shard,
            **batching.loader_options(cfg.data),
        )
        training.seed_everything(cfg.trainer.seed)
        network = model.build(cfg)
        paths = distributed.from_main(lambda: environment.run_paths(NAME))  # the run folder, once all else is ready
        return training.fit(network, nn.CrossEntropyLoss(), train_loader, val_loader, cfg, paths, NAME)


if __name__ == "__main__":
    main()
