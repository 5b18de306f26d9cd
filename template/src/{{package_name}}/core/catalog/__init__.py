"""What the project holds: its models, their contracts and their runs on disk."""
