"""Reading the YAML data files (programmes, directory, regions): with libyaml's C loader when PyYAML
has it. The pure-Python loader took over a second for the catalogue on every start (and the test
suite starts the application hundreds of times); the C one takes a few hundredths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text("utf-8"), Loader=_Loader)
