# Written by `data build --remote` from core/bundling/script_templates/build.py (see core/bundling/scripts.py).
"""Processing job entry point of data set __DATA_SET__: builds.job_main on the script beside it."""

from pathlib import Path

from __CORE__.core.jobs.builds import job_main

if __name__ == "__main__":
    job_main(Path(__file__).with_name(__SCRIPT__), __DETAILS__)  # noqa: F821 (literals put in by scripts.render)
