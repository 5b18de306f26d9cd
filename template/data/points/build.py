"""Build the example data set `points`: random 2-D points, labelled by the side of a line they are on.

`<package> data build points` runs it here (into data/built/points/), `<package> data build
points --remote` in a SageMaker Processing job (into S3). Like every build script it is plain
Python, run as `python build.py --out FOLDER`, that writes its files into FOLDER: here CSV
shards with a header row, which a tabular model reads as one data set, e.g.
    <package> train <model> data.path=data/built/points data.target=side
(`--format parquet` writes Parquet shards instead, with pyarrow).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the (empty) folder to write the shards to")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    args = parser.parse_args()

    generator = np.random.default_rng(args.seed)
    points = generator.uniform(-1.0, 1.0, size=(args.rows, 2)).round(4)
    sides = np.where(points[:, 1] > 0.5 * points[:, 0] + 0.1, "above", "below")
    args.out.mkdir(parents=True, exist_ok=True)
    for shard, rows in enumerate(np.array_split(np.arange(args.rows), args.shards)):
        columns = {"x": points[rows, 0].tolist(), "y": points[rows, 1].tolist(), "side": sides[rows].tolist()}
        path = args.out / f"part-{shard:05d}.{args.format}"
        if args.format == "parquet":
            import pyarrow
            import pyarrow.parquet

            pyarrow.parquet.write_table(pyarrow.table(columns), path)
        else:
            with path.open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(columns)
                writer.writerows(zip(*columns.values(), strict=True))
        print(f"wrote {path} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
