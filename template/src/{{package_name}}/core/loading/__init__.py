"""Data in memory and larger than memory: tables, samples, splits, batches and streams."""
