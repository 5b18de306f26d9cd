"""A tabular classifier: an MLP over numeric features, trained on CSV data.

Files: `config.yaml` (defaults), `model.py` (network and config schema), `contract.py` (what
core reads: task, goal metric, examples, media types), `train.py` (training entry point),
`inference.py` (SageMaker handlers), `requirements.txt` (what the serving container installs).
Its sample data is in `data/samples/<name>/`, its tests in `tests/models/<name>/`.
"""
