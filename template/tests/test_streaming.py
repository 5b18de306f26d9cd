"""Streaming: shards read as batches in bounded memory, split across ranks and DataLoader workers."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
import torch

SRC = Path(__file__).resolve().parents[1] / "src"


def write_shards(folder: Path, sizes: list[int], parquet_every: int = 2) -> int:
    """Shards of rows numbered across shards (column `id`), alternating CSV and Parquet; returns the row count."""
    folder.mkdir(parents=True, exist_ok=True)
    first = 0
    for i, size in enumerate(sizes):
        ids = np.arange(first, first + size, dtype=np.float32)
        table = pa.table({"id": ids, "x": ids / 2, "label": np.where(ids % 3 == 0, "fizz", "other")})
        if i % parquet_every:
            pq.write_table(table, folder / f"part-{i:02}.parquet", row_group_size=16)
        else:
            pcsv.write_csv(table, folder / f"part-{i:02}.csv")
        first += size
    return first


def stream(core, folder, batch_size=8, **options):
    files = core.loading.tables.shard_files(folder)
    return core.loading.streaming.ShardStream(files, ["id", "x"], "label", batch_size, ["fizz", "other"], **options)


def ids(batches) -> list[int]:
    return [int(i) for features, _ in batches for i in features[:, 0]]


def test_a_stream_yields_whole_batches_of_every_row_in_order(core, tmp_path, monkeypatch):
    monkeypatch.setattr(core.loading.csv_shards, "CSV_BLOCK_BYTES", 1024)  # several blocks a shard
    total = write_shards(tmp_path, [100, 45, 130])
    batches = list(stream(core, tmp_path))
    assert ids(batches) == list(range(total))
    assert [len(f) for f, _ in batches] == [8] * (total // 8) + [total % 8]
    features, targets = batches[0]
    assert features.dtype == torch.float32 and targets.dtype == torch.int64
    assert targets.tolist() == [0 if i % 3 == 0 else 1 for i in range(8)]
    assert features[:, 1].tolist() == [i / 2 for i in range(8)]


def test_two_ranks_of_two_workers_read_every_row_exactly_once_each_epoch(core, tmp_path):
    total = write_shards(tmp_path, [50] * 8)
    seen, firsts = [], []
    for rank in range(2):
        shards = stream(core, tmp_path, rank=rank, world_size=2, shuffle=True, seed=3)
        loader = core.loading.batching.make_loader(shards, None, num_workers=2)
        epochs = [list(loader) for _ in range(2)]
        assert len(epochs[0]) == len(epochs[1]) == 2 * 13  # 2 workers x 100 rows in batches of 8
        seen.append([ids(batches) for batches in epochs])
        firsts.append([ids(batches[:1]) for batches in epochs])
    for epoch in range(2):
        assert sorted(seen[0][epoch] + seen[1][epoch]) == list(range(total))
    assert firsts[0][0] != firsts[0][1]  # persistent workers shuffle each epoch anew


def test_ranks_take_as_many_steps_when_shards_differ_in_size(core, tmp_path):
    write_shards(tmp_path, [80, 10, 30, 40, 25])
    steps = [len(list(stream(core, tmp_path, rank=rank, world_size=2))) for rank in range(2)]
    assert steps[0] == steps[1] == 7  # rank 1 has 50 rows: 7 batches of 8 (the last short); rank 0 stops there too


def test_the_shuffle_is_seeded_per_epoch(core, tmp_path):
    write_shards(tmp_path, [40, 40, 40])
    shards = stream(core, tmp_path, shuffle=True, seed=1)
    first, second = ids(shards), ids(shards)
    assert first != second and sorted(first) == sorted(second) == list(range(120))
    shards.set_epoch(0)
    assert ids(shards) == first
    assert ids(stream(core, tmp_path, shuffle=True, seed=2)) != first


def test_fewer_shards_than_readers_is_a_clear_error(core, tmp_path):
    write_shards(tmp_path, [10, 10, 10])
    with pytest.raises(
        core.loading.data.DataError, match=r"3 shard\(s\) cannot feed 2 rank\(s\) x 2 DataLoader worker"
    ):
        core.loading.streaming.readers(3, world_size=2, workers=2)
    with pytest.raises(
        core.loading.data.DataError, match=r"3 shard\(s\) cannot feed 4 rank\(s\) x 1 DataLoader worker"
    ):
        list(stream(core, tmp_path, world_size=4))  # checked in workers too (their errors stall torch's shutdown)
    settings = core.basics.config.DataConfig(path=str(tmp_path), target="label", num_workers=3)
    with pytest.raises(core.loading.data.DataError, match=r"2 shard\(s\) cannot feed 1 rank\(s\) x 3"):
        core.loading.streaming.loaders(settings, seed=0)  # before starting any worker


def test_numeric_targets_without_classes(core, tmp_path):
    write_shards(tmp_path, [20])
    files = core.loading.tables.shard_files(tmp_path)
    features, targets = next(iter(core.loading.streaming.ShardStream(files, ["x"], "id", 4)))
    assert targets.dtype == torch.float32 and targets.tolist() == [0, 1, 2, 3] and features.shape == (4, 1)


def test_head_gives_the_first_rows_for_statistics(core, tmp_path):
    write_shards(tmp_path, [5, 5])
    features, targets = stream(core, tmp_path, batch_size=4).head(7)
    assert features[:, 0].tolist() == list(range(7)) and len(targets) == 7


def test_loaders_hold_out_the_last_shards_or_read_the_validation_source(core, tmp_path):
    write_shards(tmp_path / "train", [16, 16, 16, 16])
    settings = core.basics.config.DataConfig(
        path=str(tmp_path / "train"), target="label", batch_size=8, val_fraction=0.25
    )
    train, val = core.loading.streaming.loaders(settings, seed=0)
    assert (settings.features, settings.classes) == (["id", "x"], ["fizz", "other"])
    assert sorted(ids(train)) == list(range(48)) and ids(val) == list(range(48, 64))
    write_shards(tmp_path / "val", [3])
    settings.validation = str(tmp_path / "val")
    train, val = core.loading.streaming.loaders(settings, seed=0)
    assert len(ids(train)) == 64 and ids(val) == [0, 1, 2]
    settings.path, settings.validation = str(tmp_path / "val"), None
    with pytest.raises(core.loading.data.DataError, match=r"streaming needs data\.validation, or two shards or more"):
        core.loading.streaming.loaders(settings, seed=0)


MEMORY_PROBE = """
import json, sys
from pathlib import Path
import importlib

streaming, tables = (importlib.import_module(f"{sys.argv[1]}.core.loading.{name}") for name in ("streaming", "tables"))
files = tables.shard_files(Path(sys.argv[2]))
names = [f"f{i}" for i in range(16)]


def memory_mb(field):  # VmHWM: this process's peak, unlike ru_maxrss (which can be the parent's at fork)
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1]) / 1000


next(iter(streaming.ShardStream(files[:1], names, "label", 256, ["a", "b"])))  # warm up: imports, thread pools
before, rows = memory_mb("VmRSS"), 0
for features, targets in streaming.ShardStream(files, names, "label", 256, ["a", "b"]):
    rows += len(features) + 0 * int(targets[0])
print(json.dumps({"rows": rows, "growth_mb": memory_mb("VmHWM") - before}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the process's memory from /proc (Linux)")
def test_streaming_twice_the_memory_cap_grows_the_process_less_than_the_cap(package, tmp_path):
    shard_rows, shards, cap_mb = 400_000, 8, 100  # 8 shards of 25.6 MB float32 features: 205 MB
    features = np.random.default_rng(0).standard_normal((shard_rows, 16), dtype=np.float32)
    columns = {f"f{j}": features[:, j] for j in range(16)} | {"label": np.where(features[:, 0] > 0, "a", "b")}
    pq.write_table(pa.table(columns), tmp_path / "part-0.parquet", row_group_size=65536, compression="none")
    for i in range(1, shards):
        shutil.copyfile(tmp_path / "part-0.parquet", tmp_path / f"part-{i}.parquet")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    command = [sys.executable, "-c", textwrap.dedent(MEMORY_PROBE), package, str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["rows"] == shard_rows * shards and features.nbytes * shards / 1e6 > 2 * cap_mb
    assert result["growth_mb"] < cap_mb, result  # peak over the resident size before streaming
