"""Run inside a rendered project: the core trainer's `fit` against a plain PyTorch loop.

    PYTHONPATH=<project>/src python benchmarks/training_loops.py PACKAGE MODEL

Both train the model's own network on the same synthetic data through the same DataLoaders,
with the same optimizer, and evaluate on the validation loader after every epoch. `fit` adds
what a real run has: the run folder, provenance, checkpoints, and tracking, timed once with
no backend and once with the project's own, and both again in bf16 mixed precision (torch.autocast).
Prints JSON: seconds per training step of each variant in every one of the alternating repeats.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

ROWS, FEATURES, CLASSES, EPOCHS, REPEATS = 40_000, 16, 3, 8, 5


def main(package: str, model: str) -> None:
    layered = ("loading.data", "loading.batching", "trainer.environment", "trainer.training")
    core = {name.split(".")[1]: importlib.import_module(f"{package}.core.{name}") for name in layered}
    settings = importlib.import_module(f"{package}.settings")
    backend = settings.TRACKING
    network_module = importlib.import_module(f"{package}.models.{model}.model")
    folder = Path(tempfile.mkdtemp())
    cfg, dataset = synthetic_problem(core["data"], network_module, folder)
    train, val = core["batching"].split(dataset, cfg.data.val_fraction, 0)
    train_loader, val_loader = core["batching"].dataset_loaders(train, val, cfg.data.batch_size, 0)
    steps = EPOCHS * len(train_loader)

    def build() -> nn.Module:
        torch.manual_seed(0)
        network = network_module.build(cfg)
        network.fit_standardization(train_loader.dataset.tensors[0])
        return network

    def with_fit(run: int, tracking: str, precision: str = "32") -> None:
        settings.TRACKING = tracking
        cfg.trainer.precision = precision
        run_dir = folder / "runs" / f"fit-{tracking}-{precision}-{run}"
        paths = core["environment"].RunPaths(run_dir, run_dir, run_dir / "checkpoints")
        core["training"].fit(build(), nn.CrossEntropyLoss(), train_loader, val_loader, cfg, paths, "benchmark")

    def plain(bf16: bool = False) -> None:
        plain_loop(build(), train_loader, val_loader, cfg.optimizer.lr, bf16)

    variants = {
        "plain": lambda run: plain(),
        "fit": lambda run: with_fit(run, "none"),
        "fit_tracked": lambda run: with_fit(run, backend),
        "plain_bf16": lambda run: plain(bf16=True),
        "fit_bf16": lambda run: with_fit(run, "none", "bf16-mixed"),
    }
    variants["fit_tracked"](-1)  # warm-up: imports, the tracking store's creation
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for run in range(REPEATS):
        for name, action in variants.items():
            start = time.perf_counter()
            action(run)
            timings[name].append((time.perf_counter() - start) / steps)
    print(json.dumps({**timings, "steps": steps, "backend": backend}))


def synthetic_problem(data, network_module, folder: Path):
    """A learnable classification problem as a CSV file, and the model's config pointed at it."""
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(ROWS, FEATURES, generator=generator)
    labels = (features[:, :CLASSES] + 0.5 * torch.randn(ROWS, CLASSES, generator=generator)).argmax(dim=1)
    lines = [",".join([*(f"f{i}" for i in range(FEATURES)), "label"])]
    rows = zip(features.tolist(), labels.tolist(), strict=True)
    lines += [",".join([*(f"{v:.5f}" for v in values), f"c{label}"]) for values, label in rows]
    (folder / "data.csv").write_text("\n".join(lines) + "\n")
    cfg = network_module.Config()
    cfg.data.path, cfg.data.target, cfg.data.batch_size = str(folder / "data.csv"), "label", 64
    cfg.trainer.max_epochs, cfg.trainer.progress = EPOCHS, False
    dataset = data.load_tabular(Path(cfg.data.path), cfg.data.target, None, None)
    cfg.data.features, cfg.data.classes = dataset.feature_names, dataset.classes
    return cfg, dataset


def plain_loop(network: nn.Module, train_loader, val_loader, lr: float, bf16: bool = False) -> None:
    """The loop everyone writes first: train, then evaluate loss and accuracy, every epoch."""
    optimizer = torch.optim.Adam(network.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(EPOCHS):
        network.train()
        running = 0.0
        for inputs, targets in train_loader:
            optimizer.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(network(inputs), targets)
            loss.backward()
            optimizer.step()
            running += loss.item() * len(targets)
        network.eval()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            outputs = [(network(inputs).float(), targets) for inputs, targets in val_loader]
            logits, targets = torch.cat([o[0] for o in outputs]), torch.cat([o[1] for o in outputs])
            _ = (loss_fn(logits, targets).item(), (logits.argmax(dim=1) == targets).float().mean().item())


if __name__ == "__main__":
    main(*sys.argv[1:3])
