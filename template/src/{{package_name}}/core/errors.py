"""The one exception type the CLI turns into a clear message instead of a traceback."""


class ProjectError(Exception):
    """A problem with the user's input: a config, a data file, a model name, a run, a bundle."""
