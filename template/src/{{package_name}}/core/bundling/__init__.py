"""A run packaged as a SageMaker `model.tar.gz`: the code and artifacts one model ships."""
