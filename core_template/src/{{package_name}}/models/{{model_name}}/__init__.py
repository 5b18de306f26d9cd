"""A tabular classifier: an MLP over numeric features, trained on CSV data.

Files: `config.yaml` (defaults), `model.py` (network and config schema), `train.py` (training
entry point), `inference.py` (SageMaker handlers), `requirements.txt` (what the serving
container installs). Its tests are in `tests/models/<name>/`.
"""
