"""The bottom layer: errors, the project this core serves, typed configs, tasks, data fingerprints, pins."""
