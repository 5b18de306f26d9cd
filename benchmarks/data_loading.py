"""Reading tabular data: `data.load_tabular` against plain pyarrow code, and shards streamed under a memory cap.

A synthetic data set (ROWS x FEATURES float32 values and a label: about 108 MiB of CSV) is written
as one CSV file, one Parquet file (row groups of 64k rows) and eight shards of each. Every
measurement runs in a fresh process of the rendered project's environment (this file, run as
`data_loading.py PACKAGE MODE PATH`), after its imports and a warm-up read of a tiny file of the
same kind, so the time and memory are the read's own: wall time, and peak resident memory (VmHWM,
reset after the warm-up; ru_maxrss can report the parent's). The baseline is the plain code:
`pyarrow.csv.read_csv` (or `pyarrow.parquet.read_table`), the numpy columns stacked into float32,
`torch.from_numpy`. Memory is compared with what any loader holds: the decoded tensors plus the
process at start-up. Streams read the shards through `streaming.ShardStream` with the address
space limited (RLIMIT_AS) to the warmed-up process's plus half the decoded data (Linux only).
Figures are medians of REPEATS alternating runs; the spread is that of the per-repeat ratios;
MB are MiB.
"""

from __future__ import annotations

import importlib
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import torch
from project import PACKAGE, Row, project_env, rendered_project, sh

ROWS, FEATURES, SHARDS, REPEATS = 500_000, 20, 8, 3
LABELS = ("alpha", "beta", "gamma")
MODES = ("ours", "plain")
MB = 2**20


def measure(folder: Path) -> list[Row]:
    project = rendered_project(folder)
    files = write_data(folder / "data")
    env = project_env(project)
    runs: dict[tuple[str, str], list[dict]] = {}
    for _ in range(REPEATS):
        for kind in ("csv", "parquet"):
            for mode in MODES:
                runs.setdefault((kind, mode), []).append(child_run(project, env, mode, files[kind]))
            runs.setdefault((kind, "stream"), []).append(child_run(project, env, "stream", files[f"{kind}-shards"]))
    size = files["csv"].stat().st_size / MB
    rows = []
    for kind, label in (("csv", f"CSV, {size:.0f} MB"), ("parquet", "Parquet")):
        ours, plain, streamed = (runs[(kind, mode)] for mode in ("ours", "plain", "stream"))
        rows.append(speed_row(f"`load_tabular` {label}: time", ours, plain))
        rows.append(memory_row(f"`load_tabular` {label}", ours, plain))
        rows.append(stream_row(f"stream {SHARDS} {kind} shards under a memory cap", streamed, ours))
    return rows


def write_data(folder: Path) -> dict[str, Path]:
    """The data set as one CSV file, one Parquet file and shards of each (plus tiny files to warm up with)."""
    generator = np.random.default_rng(0)
    features = generator.standard_normal((ROWS, FEATURES), dtype=np.float32)
    labels = np.array(LABELS)[generator.integers(0, len(LABELS), ROWS)]
    table = pa.table({**{f"f{i}": features[:, i] for i in range(FEATURES)}, "label": labels})
    for kind in ("csv-shards", "parquet-shards", "tiny"):
        (folder / kind).mkdir(parents=True)
    pcsv.write_csv(table, folder / "data.csv")
    pq.write_table(table, folder / "data.parquet", row_group_size=65536)
    for i in range(SHARDS):
        part = table.slice(i * ROWS // SHARDS, ROWS // SHARDS)
        pcsv.write_csv(part, folder / "csv-shards" / f"part-{i}.csv")
        pq.write_table(part, folder / "parquet-shards" / f"part-{i}.parquet", row_group_size=16384)
    pcsv.write_csv(table.slice(0, 10), folder / "tiny" / "data.csv")
    pq.write_table(table.slice(0, 10), folder / "tiny" / "data.parquet")
    return {
        "csv": folder / "data.csv",
        "parquet": folder / "data.parquet",
        "csv-shards": folder / "csv-shards",
        "parquet-shards": folder / "parquet-shards",
    }


def child_run(project: Path, env: dict[str, str], mode: str, path: Path) -> dict:
    done = sh(sys.executable, Path(__file__).resolve(), PACKAGE, mode, path, cwd=project, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def speed_row(name: str, ours: list[dict], plain: list[dict]) -> Row:
    """Our speed relative to the plain code's (its time over ours), per repeat."""
    ratios = sorted(p["seconds"] / o["seconds"] for o, p in zip(ours, plain, strict=True))
    return Row(
        name,
        f"{_median(ours, 'seconds'):.2f} s (speed ratio {ratios[0]:.2f}-{ratios[-1]:.2f} over {len(ratios)} repeats)",
        f"`read_csv`/`read_table` -> `torch.from_numpy` {_median(plain, 'seconds'):.2f} s",
        statistics.median(ratios),
        ">= 0.8x its speed",
    )


def memory_row(name: str, ours: list[dict], plain: list[dict]) -> Row:
    """Our peak resident memory relative to the decoded tensors plus the process at start-up."""
    ratios = sorted(r["peak"] / (r["decoded"] + r["startup"]) for r in ours)
    peak, startup, decoded = (_median(ours, key) / MB for key in ("peak", "startup", "decoded"))
    return Row(
        f"{name}: peak memory",
        f"{peak:.0f} MB, {peak - startup:.0f} MB over start-up ({ratios[0]:.2f}-{ratios[-1]:.2f}x)",
        f"tensors {decoded:.0f} MB + start-up {startup:.0f} MB (plain code: peak {_median(plain, 'peak') / MB:.0f} MB)",
        statistics.median(ratios),
        "<= 1.5x",
    )


def stream_row(name: str, runs: list[dict], loads: list[dict]) -> Row:
    """A stream over all the shards, its address space capped at half the decoded data: its peak memory growth,
    relative to loading the same data with `load_tabular`."""
    ratios = sorted((s["peak"] - s["startup"]) / (o["peak"] - o["startup"]) for s, o in zip(runs, loads, strict=True))
    growth, loaded = (statistics.median(r["peak"] - r["startup"] for r in group) / MB for group in (runs, loads))
    return Row(
        name,
        f"+{growth:.0f} MB peak over start-up, {_median(runs, 'seconds'):.2f} s, with only "
        f"+{_median(runs, 'cap') / MB:.0f} MB of address space ({ratios[0]:.2f}-{ratios[-1]:.2f}x)",
        f"data {_median(runs, 'decoded') / MB:.0f} MB; `load_tabular` +{loaded:.0f} MB",
        statistics.median(ratios),
        "< 1x, within the cap (0.5x the data)",
    )


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


# What runs in the child process.


def main(package: str, mode: str, path: str) -> None:
    """Read `path` the `mode` way once to warm up on a tiny copy, then measured; prints the figures as JSON."""
    reader = {"ours": load_ours, "plain": load_plain, "stream": stream}[mode]
    modules = [importlib.import_module(f"{package}.core.loading.{name}") for name in ("data", "streaming")]
    path = Path(path)
    reader(*modules, path.parent / "tiny" if path.is_dir() else path.parent / "tiny" / f"data{path.suffix}")
    Path("/proc/self/clear_refs").write_text("5")  # the peak so far (imports, warm-up) is not the read's
    startup, cap = _status("VmRSS"), ROWS * (FEATURES * 4 + 8) // 2 if mode == "stream" else 0
    if cap:  # after the warm-up, which started the thread pools (threads need address space of their own)
        resource.setrlimit(resource.RLIMIT_AS, (_status("VmSize") + cap, resource.RLIM_INFINITY))
    start = time.perf_counter()
    decoded = reader(*modules, path)
    seconds = time.perf_counter() - start
    figures = {"seconds": seconds, "startup": startup, "peak": _status("VmHWM"), "decoded": decoded, "cap": cap}
    print(json.dumps(figures))


def load_ours(data, streaming, path: Path) -> int:
    loaded = data.load_tabular(path, "label")
    return loaded.features.nbytes + loaded.targets.nbytes


def load_plain(data, streaming, path: Path) -> int:
    table = pcsv.read_csv(path) if path.suffix == ".csv" else pq.read_table(path)
    names = [name for name in table.column_names if name != "label"]
    features = torch.from_numpy(np.column_stack([table[name].to_numpy() for name in names]).astype(np.float32))
    classes = pa.array(sorted(pc.unique(table["label"]).to_pylist()))
    targets = torch.from_numpy(pc.index_in(table["label"], value_set=classes).to_numpy().astype(np.int64))
    return features.nbytes + targets.nbytes


def stream(data, streaming, folder: Path) -> int:
    """Every batch of the shards."""
    files = streaming.tables.shard_files(folder)
    shards = streaming.ShardStream(files, [f"f{i}" for i in range(FEATURES)], "label", 256, LABELS)
    return sum(len(targets) for _, targets in shards) * (FEATURES * 4 + 8)


def _status(field: str) -> int:
    """A memory figure of this process, in bytes, from /proc/self/status."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1]) * 1024


if __name__ == "__main__":
    main(*sys.argv[1:4])
