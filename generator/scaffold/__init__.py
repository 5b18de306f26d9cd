"""sagescaffold's `scaffold` command: create ML projects from the template and grow them."""

__version__ = "0.1.0"
