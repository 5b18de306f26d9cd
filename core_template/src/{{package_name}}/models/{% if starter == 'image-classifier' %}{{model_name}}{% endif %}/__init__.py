"""An image classifier: a small CNN over a folder of PNG/JPEG files per class.

Files: `config.yaml` (defaults), `model.py` (network, config schema and image conversion),
`contract.py` (what core reads: task, goal metric, examples, media types), `train.py` (training
entry point), `inference.py` (SageMaker handlers), `requirements.txt` (what the serving container
installs). Its sample data is in `data/samples/<name>/<class>/`, its tests in `tests/models/<name>/`.
"""
