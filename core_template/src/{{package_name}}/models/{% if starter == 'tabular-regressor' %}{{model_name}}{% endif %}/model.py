"""The network, its loss and its config schema."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ...core.basics import config, config_rules
from ...core.catalog import runs
from ...core.inference import codecs, instances
from ...core.trainer import devices


@dataclass
class TableConfig(config.DataConfig):
    """The data section, plus which features are categories and the categories each takes."""

    categorical: list[str] = field(default_factory=list)
    categories: dict[str, list[str]] | None = None  # None: learned from the training data


@dataclass
class NetworkConfig:
    """Shape of the multi-layer perceptron."""

    hidden_sizes: list[int] = field(default_factory=lambda: [32, 32])
    dropout: float = 0.0

    def rules(self) -> list[config_rules.Rule]:
        """Values the network cannot use (`config.validate` checks them, keys relative to `model`)."""
        return [
            config_rules.Rule(
                "hidden_sizes", self.hidden_sizes, config_rules.each(config_rules.at_least(1)), "sizes of 1 or more"
            ),
            config_rules.Rule(
                "dropout", self.dropout, config_rules.between(0, 1, high_allowed=False), "0 or more, below 1"
            ),
        ]


@dataclass
class Config(config.RunConfig):
    """Everything `config.yaml` may set for this model."""

    data: TableConfig = field(default_factory=TableConfig)
    model: NetworkConfig = field(default_factory=NetworkConfig)


class TabularRegressor(nn.Module):
    """An MLP over standardised numbers and one-hot categories, returning the target in its own units."""

    def __init__(self, feature_names: list[str], categories: dict[str, list[str]], network: NetworkConfig):
        super().__init__()
        self.feature_names = list(feature_names)
        self.categories = {name: list(categories[name]) for name in self.feature_names if name in categories}
        self.numeric = [name for name in self.feature_names if name not in self.categories]
        # Feature and target scales are part of the model (and its weights), so serving needs no extra file.
        self.register_buffer("mean", torch.zeros(len(self.numeric)))
        self.register_buffer("std", torch.ones(len(self.numeric)))
        self.register_buffer("target_mean", torch.tensor(0.0))
        self.register_buffer("target_std", torch.tensor(1.0))
        layers: list[nn.Module] = []
        width = len(self.numeric) + sum(len(values) for values in self.categories.values())
        for size in network.hidden_sizes:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(network.dropout)]
            width = size
        layers.append(nn.Linear(width, 1))
        self.layers = nn.Sequential(*layers)

    def encode(self, rows: Sequence[Sequence[object]]) -> torch.Tensor:
        """Rows of values in `feature_names` order as network inputs: the numbers, then one-hot categories."""
        encoded = []
        for index, row in enumerate(rows):
            values = dict(zip(self.feature_names, row, strict=True))
            numbers = instances.numbers([values[name] for name in self.numeric], f"row {index}")
            one_hot = [
                float(category == known)
                for name, categories in self.categories.items()
                for category in [_category(values[name], name, categories, f"row {index}")]
                for known in categories
            ]
            encoded.append(numbers + one_hot)
        return torch.tensor(encoded, dtype=torch.float32)

    def fit_standardization(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        """Learn the means and spreads of the numeric features and of the target from the training data."""
        numbers = inputs[:, : len(self.numeric)]
        self.mean.copy_(numbers.mean(dim=0))
        self.std.copy_(numbers.std(dim=0).clamp_min(1e-6))
        self.target_mean.copy_(targets.mean())
        self.target_std.copy_(targets.std().clamp_min(1e-6))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        numbers, one_hot = inputs[:, : len(self.numeric)], inputs[:, len(self.numeric) :]
        standardized = self.layers(torch.cat([(numbers - self.mean) / self.std, one_hot], dim=1)).squeeze(1)
        return standardized * self.target_std + self.target_mean

    @torch.inference_mode()
    def predict(self, request: codecs.Request) -> list[dict]:
        """The predicted value for each row of a request; call in eval mode."""
        values = self(self.encode(instances.rows(request, self.feature_names)).to(devices.of(self))).tolist()
        return [{"value": round(value, 4)} for value in values]


class StandardizedMSE(nn.Module):
    """Mean squared error in units of the target's spread: predictions stay in the target's own units."""

    def __init__(self, target_std: float):
        super().__init__()
        self.target_std = float(target_std)

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return ((predictions - targets) / self.target_std).pow(2).mean()


def _category(value: object, name: str, known: list[str], where: str) -> str:
    """`value` as one of the categories `known` for column `name` (text or whole numbers), else a 400."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise codecs.PayloadError(400, f"{where}: '{name}' must be one of {known}, got {value!r}")
    category = str(value).strip()
    if category not in known:
        raise codecs.PayloadError(400, f"{where}: unknown {name} '{category}'; expected one of {known}")
    return category


def build(cfg: Config) -> TabularRegressor:
    """A fresh network for the features and categories recorded in `cfg.data`."""
    return TabularRegressor(cfg.data.features, cfg.data.categories or {}, cfg.model)


def load(model_dir: Path) -> TabularRegressor:
    """The trained network saved in `model_dir` (a run folder or an unpacked bundle)."""
    cfg = config.load(Config, Path(model_dir) / runs.CONFIG)
    network = build(cfg)
    devices.load_weights(network, Path(model_dir) / runs.WEIGHTS)
    return network.eval()
