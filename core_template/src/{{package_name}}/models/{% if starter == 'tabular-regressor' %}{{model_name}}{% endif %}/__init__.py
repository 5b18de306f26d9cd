"""A tabular regressor: an MLP over numeric and categorical features, predicting a number from CSV data.

Files: `config.yaml` (defaults), `model.py` (network, loss and config schema), `contract.py` (what
core reads: task, goal metric, examples, media types), `train.py` (training entry point),
`inference.py` (SageMaker handlers), `requirements.txt` (what the serving container installs).
Its sample data is in `data/samples/<name>/`, its tests in `tests/models/<name>/`.
"""
