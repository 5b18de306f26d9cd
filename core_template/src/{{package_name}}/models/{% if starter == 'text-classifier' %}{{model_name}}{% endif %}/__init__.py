"""A text classifier: an embedding bag over the words of a vocabulary built from its training texts.

Files: `config.yaml` (defaults), `model.py` (tokenizer, network and config schema), `contract.py`
(what core reads: task, goal metric, examples, artifacts, media types), `train.py` (training entry
point), `inference.py` (SageMaker handlers), `requirements.txt` (what the serving container installs).
Training writes the vocabulary to `vocab.json` beside the weights; the bundle ships it with them.
Its sample data is in `data/samples/<name>/`, its tests in `tests/models/<name>/`.
"""
