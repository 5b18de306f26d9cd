"""A bundle served on this machine, by our server or by TorchServe with SageMaker's toolkit."""
