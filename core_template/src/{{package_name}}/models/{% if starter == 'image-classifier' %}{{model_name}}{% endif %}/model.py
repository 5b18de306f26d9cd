"""The network, its config schema, and the one conversion of an image to a tensor."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from ...core.basics import config, config_rules
from ...core.catalog import runs
from ...core.inference import codecs, instances
from ...core.trainer import devices

SUFFIXES = (".png", ".jpg", ".jpeg")  # image files training reads
MODES = {1: "L", 3: "RGB"}  # Pillow mode for each number of channels


@dataclass
class NetworkConfig:
    """Input size and shape of the convolutional network."""

    image_size: int = 32  # images are resized to image_size x image_size pixels
    channels: int = 3  # 3: RGB, 1: greyscale
    widths: list[int] = field(default_factory=lambda: [16, 32, 64])  # one convolution block each
    dropout: float = 0.1

    def rules(self) -> list[config_rules.Rule]:
        """Values the network cannot use (`config.validate` checks them, keys relative to `model`)."""
        smallest = 2 ** len(self.widths)  # each convolution block halves the image
        return [
            config_rules.Rule("channels", self.channels, config_rules.among(MODES), "1 (greyscale) or 3 (RGB)"),
            config_rules.Rule(
                "widths", self.widths, config_rules.each(config_rules.at_least(1)), "widths of 1 or more"
            ),
            config_rules.Rule(
                "image_size", self.image_size, config_rules.at_least(smallest), f"{smallest} or more (2 ** blocks)"
            ),
            config_rules.Rule(
                "dropout", self.dropout, config_rules.between(0, 1, high_allowed=False), "0 or more, below 1"
            ),
        ]


@dataclass
class Config(config.RunConfig):
    """Everything `config.yaml` may set for this model."""

    model: NetworkConfig = field(default_factory=NetworkConfig)


def to_tensor(image: Image.Image | np.ndarray, settings: NetworkConfig, where: str = "image") -> torch.Tensor:
    """An image as the network's input: a (channels, size, size) tensor, standardised per image.

    The image is resized, converted to the configured mode and scaled to [0, 1], then shifted and scaled to
    zero mean and unit spread (so colours and brightness matter less than shapes). Training and serving both
    call this, so the network always sees images prepared the same way. Numpy arrays (from npy requests)
    are (height, width[, 1, 3 or 4]) pixels: 0-255 integers or 0-1 floats; others are refused with a 400.
    """
    if isinstance(image, np.ndarray):
        image = _from_array(image, where)
    size = settings.image_size
    try:
        image = image.convert(MODES[settings.channels]).resize((size, size), Image.Resampling.BILINEAR)
    except (OSError, ValueError) as error:
        raise codecs.PayloadError(400, f"{where}: cannot convert a {image.mode} image ({error})") from error
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
    pixels = pixels.reshape(size, size, settings.channels).permute(2, 0, 1)
    return (pixels - pixels.mean()) / pixels.std().clamp_min(1 / 255)


def _from_array(array: np.ndarray, where: str) -> Image.Image:
    """A Pillow image of an array of pixels; a 400 for arrays that are not one."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or 0 in array.shape:
        raise codecs.PayloadError(
            400, f"{where}: expected pixels of shape (height, width[, 1, 3 or 4 channels]), got {array.shape}"
        )
    if array.shape[0] * array.shape[1] > codecs.MAX_IMAGE_PIXELS:
        raise codecs.PayloadError(413, f"{where}: {array.shape[1]}x{array.shape[0]} pixels is too large")
    if array.dtype.kind not in "iuf":
        raise codecs.PayloadError(400, f"{where}: pixels must be integers or floats, not {array.dtype}")
    if not np.isfinite(array).all():
        raise codecs.PayloadError(400, f"{where}: pixels must be finite numbers")
    top = 1 if array.dtype.kind == "f" else 255
    if array.min() < 0 or array.max() > top:
        raise codecs.PayloadError(
            400,
            f"{where}: pixels must be integers from 0 to 255 or floats from 0 to 1, "
            f"got {array.dtype} values from {array.min():g} to {array.max():g}",
        )
    return Image.fromarray((array * (255 / top)).round().astype(np.uint8))


class ImageClassifier(nn.Module):
    """Convolution blocks (conv, batch norm, ReLU, max-pool), then class logits from each feature's peak."""

    def __init__(self, classes: list[str], settings: NetworkConfig):
        super().__init__()
        self.classes, self.settings = list(classes), settings
        layers: list[nn.Module] = []
        width = settings.channels
        for size in settings.widths:
            layers += [nn.Conv2d(width, size, 3, padding=1), nn.BatchNorm2d(size), nn.ReLU(), nn.MaxPool2d(2)]
            width = size
        layers += [nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Dropout(settings.dropout), nn.Linear(width, len(classes))]
        self.layers = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)

    @torch.inference_mode()
    def predict(self, request: codecs.Request) -> list[dict]:
        """Label and class probabilities for each image of a request; call in eval mode."""
        images = instances.images(request)
        batch = torch.stack([to_tensor(image, self.settings, f"image {i}") for i, image in enumerate(images)])
        probabilities = self(batch.to(devices.of(self))).softmax(dim=1).tolist()  # one conversion, not one per value
        return [
            {
                "label": self.classes[p.index(max(p))],
                "probabilities": {c: round(v, 6) for c, v in zip(self.classes, p, strict=True)},
            }
            for p in probabilities
        ]


def build(cfg: Config) -> ImageClassifier:
    """A fresh network for the classes recorded in `cfg.data`."""
    return ImageClassifier(cfg.data.classes, cfg.model)


def load(model_dir: Path) -> ImageClassifier:
    """The trained network saved in `model_dir` (a run folder or an unpacked bundle)."""
    cfg = config.load(Config, Path(model_dir) / runs.CONFIG)
    network = build(cfg)
    devices.load_weights(network, Path(model_dir) / runs.WEIGHTS)
    return network.eval()
