"""Python files that bundles and jobs ship (entry points), written from templates in `script_templates/`.

A template is real Python that ruff checks: what varies is a `__UPPER_CASE__` name (a valid
Python name; the dunder names Python itself uses are lower case), and `render` puts the given
source text in its place. A value that must be a Python literal is passed as its `repr`.
"""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).with_name("script_templates")
PLACEHOLDER = re.compile(r"__([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)__")


def render(template: str, **values: str) -> str:
    """The text of `script_templates/<template>` with each `__NAME__` replaced by `values["NAME"]`."""
    text = (TEMPLATES / template).read_text()
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in values})
    unused = sorted(set(values) - set(PLACEHOLDER.findall(text)))
    if missing or unused:
        raise ValueError(f"script template {template}: missing values {missing}, unused values {unused}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)
