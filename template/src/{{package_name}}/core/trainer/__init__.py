"""The training loop and what it runs on: devices, processes, optimizers, stopping, tracking."""
