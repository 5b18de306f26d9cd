"""AWS: the account's project stack, images, the model registry, promotion and deployment."""
