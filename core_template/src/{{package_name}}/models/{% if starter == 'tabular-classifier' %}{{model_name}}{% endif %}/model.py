"""The network and its config schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ...core.basics import config, config_rules
from ...core.catalog import runs
from ...core.inference import codecs, instances
from ...core.trainer import devices


@dataclass
class NetworkConfig:
    """Shape of the multi-layer perceptron."""

    hidden_sizes: list[int] = field(default_factory=lambda: [32, 32])
    dropout: float = 0.1

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

    model: NetworkConfig = field(default_factory=NetworkConfig)


class TabularClassifier(nn.Module):
    """An MLP over standardised numeric features, returning class logits."""

    def __init__(self, feature_names: list[str], classes: list[str], network: NetworkConfig):
        super().__init__()
        self.feature_names, self.classes = list(feature_names), list(classes)
        # Standardisation is part of the model (and its weights), so serving needs no extra file.
        self.register_buffer("mean", torch.zeros(len(feature_names)))
        self.register_buffer("std", torch.ones(len(feature_names)))
        layers: list[nn.Module] = []
        width = len(feature_names)
        for size in network.hidden_sizes:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(network.dropout)]
            width = size
        layers.append(nn.Linear(width, len(classes)))
        self.layers = nn.Sequential(*layers)

    def fit_standardization(self, features: torch.Tensor) -> None:
        """Learn the feature means and spreads from the training features."""
        self.mean.copy_(features.mean(dim=0))
        self.std.copy_(features.std(dim=0).clamp_min(1e-6))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers((features - self.mean) / self.std)

    @torch.inference_mode()
    def predict(self, request: codecs.Request) -> list[dict]:
        """Label and class probabilities for each row of a request; call in eval mode."""
        features = torch.tensor(instances.number_rows(request, self.feature_names)).to(devices.of(self))
        probabilities = self(features).softmax(dim=1).tolist()  # one conversion, not one per value
        return [
            {
                "label": self.classes[p.index(max(p))],
                "probabilities": {c: round(v, 6) for c, v in zip(self.classes, p, strict=True)},
            }
            for p in probabilities
        ]


def build(cfg: Config) -> TabularClassifier:
    """A fresh network for the features and classes recorded in `cfg.data`."""
    return TabularClassifier(cfg.data.features, cfg.data.classes, cfg.model)


def load(model_dir: Path) -> TabularClassifier:
    """The trained network saved in `model_dir` (a run folder or an unpacked bundle)."""
    cfg = config.load(Config, Path(model_dir) / runs.CONFIG)
    network = build(cfg)
    devices.load_weights(network, Path(model_dir) / runs.WEIGHTS)
    return network.eval()
