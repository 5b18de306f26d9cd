"""The tokenizer, the network and the config schema."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ...core.basics import config, config_rules
from ...core.catalog import runs
from ...core.inference import codecs, instances
from ...core.trainer import devices

VOCAB = "vocab.json"  # the tokenizer, written beside the weights and shipped with them
WORDS = r"[a-z0-9]+(?:'[a-z]+)?"  # a word of a lower-cased text: letters and digits, "don't" as one
PAD, UNK = 0, 1  # ids of the padding token and of any word not in the vocabulary
SPECIALS = ("<pad>", "<unk>")


@dataclass
class TextDataConfig(config.DataConfig):
    """Core's data settings, plus the column holding the texts."""

    text: str = "text"


@dataclass
class NetworkConfig:
    """Vocabulary and embedding sizes."""

    embedding_dim: int = 32
    min_count: int = 2  # words seen fewer times in the training texts are unknown
    max_tokens: int = 64  # longer texts are cut to their first `max_tokens` words

    def rules(self) -> list[config_rules.Rule]:
        """Values the network cannot use (`config.validate` checks them, keys relative to `model`)."""
        return [
            config_rules.Rule(name, getattr(self, name), config_rules.at_least(1), "1 or more")
            for name in ("embedding_dim", "min_count", "max_tokens")
        ]


@dataclass
class Config(config.RunConfig):
    """Everything `config.yaml` may set for this model."""

    data: TextDataConfig = field(default_factory=TextDataConfig)
    model: NetworkConfig = field(default_factory=NetworkConfig)


class Tokenizer:
    """Texts to token ids, the same way in training and serving: lower-cased regex words in a vocabulary."""

    def __init__(self, tokens: list[str], max_tokens: int, pattern: str = WORDS):
        self.tokens, self.max_tokens, self.pattern = list(tokens), max_tokens, pattern
        self.ids = {token: i for i, token in enumerate(self.tokens)}
        self._words = re.compile(pattern)

    def words(self, text: str) -> list[str]:
        """The words of `text`, lower-cased."""
        return self._words.findall(text.lower())

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int, max_tokens: int) -> Tokenizer:
        """The vocabulary of `texts`: words seen at least `min_count` times, most frequent first."""
        empty = cls(list(SPECIALS), max_tokens)
        counts = Counter(word for text in texts for word in empty.words(text))
        kept = sorted((word for word, n in counts.items() if n >= min_count), key=lambda word: (-counts[word], word))
        return cls([*SPECIALS, *kept], max_tokens)

    def encode(self, text: str) -> list[int]:
        """Ids of the text's first `max_tokens` words (a text without any word is one unknown token)."""
        return [self.ids.get(word, UNK) for word in self.words(text)[: self.max_tokens]] or [UNK]

    def __len__(self) -> int:
        return len(self.tokens)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        settings = {"pattern": self.pattern, "max_tokens": self.max_tokens, "tokens": self.tokens}
        path.write_text(json.dumps(settings, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> Tokenizer:
        settings = json.loads(path.read_text())
        return cls(settings["tokens"], settings["max_tokens"], settings["pattern"])


def pad(sequences: list[list[int]]) -> torch.Tensor:
    """Lists of token ids as one LongTensor, padded with PAD to the longest."""
    width = max(len(ids) for ids in sequences)
    return torch.tensor([ids + [PAD] * (width - len(ids)) for ids in sequences], dtype=torch.long)


class TextClassifier(nn.Module):
    """The mean embedding of a text's words (padding left out), then a linear layer to class logits."""

    def __init__(self, tokenizer: Tokenizer, classes: list[str], network: NetworkConfig):
        super().__init__()
        self.tokenizer, self.classes = tokenizer, list(classes)
        self.embedding = nn.EmbeddingBag(len(tokenizer), network.embedding_dim, mode="mean", padding_idx=PAD)
        self.output = nn.Linear(network.embedding_dim, len(classes))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.output(self.embedding(ids))

    @torch.inference_mode()
    def predict(self, request: codecs.Request) -> list[dict]:
        """Label and class probabilities for each text of a request; call in eval mode."""
        ids = pad([self.tokenizer.encode(text) for text in instances.texts(request)]).to(devices.of(self))
        probabilities = self(ids).softmax(dim=1).tolist()  # one conversion, not one per value
        return [
            {
                "label": self.classes[p.index(max(p))],
                "probabilities": {c: round(v, 6) for c, v in zip(self.classes, p, strict=True)},
            }
            for p in probabilities
        ]


def build(cfg: Config, tokenizer: Tokenizer) -> TextClassifier:
    """A fresh network for `tokenizer`'s vocabulary and the classes recorded in `cfg.data`."""
    return TextClassifier(tokenizer, cfg.data.classes, cfg.model)


def load(model_dir: Path) -> TextClassifier:
    """The trained network saved in `model_dir` (a run folder or an unpacked bundle), with its vocabulary."""
    model_dir = Path(model_dir)
    cfg = config.load(Config, model_dir / runs.CONFIG)
    network = build(cfg, Tokenizer.load(model_dir / VOCAB))
    devices.load_weights(network, model_dir / runs.WEIGHTS)
    return network.eval()
