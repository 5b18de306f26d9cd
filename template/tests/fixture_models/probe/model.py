"""A linear layer over standardised numeric features."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ...core.basics import config
from ...core.catalog import runs
from ...core.inference import codecs, instances


@dataclass
class Settings:
    bias: bool = True


class Probe(nn.Module):
    def __init__(self, feature_names: list[str], classes: list[str], settings: Settings):
        super().__init__()
        self.linear = nn.Linear(len(feature_names), len(classes), bias=settings.bias)
        self.feature_names, self.classes = list(feature_names), list(classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)

    @torch.inference_mode()
    def predict(self, request: codecs.Request) -> list[dict]:
        features = torch.tensor(instances.number_rows(request, self.feature_names))
        return [
            {"label": self.classes[int(p.argmax())], "probabilities": dict(zip(self.classes, p.tolist(), strict=True))}
            for p in self(features).softmax(dim=1)
        ]


@dataclass
class Config(config.RunConfig):
    model: Settings = field(default_factory=Settings)


def load(model_dir: str | Path) -> Probe:
    cfg = config.load(Config, Path(model_dir) / runs.CONFIG)
    network = Probe(cfg.data.features, cfg.data.classes, cfg.model)
    network.load_state_dict(torch.load(Path(model_dir) / runs.WEIGHTS, map_location="cpu", weights_only=True))
    return network.eval()
