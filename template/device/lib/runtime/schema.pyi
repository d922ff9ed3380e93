# Types of runtime/schema, the module `python -m tools build` writes into each build
# (tools/build.py: schema_source): what config.json may hold, from config.example.json and
# app-settings.json. It is not in device/, so the type checker and the editor read these
# declarations instead. Loaded at boot and by the setup page only: ctx.config holds the result.
from typing import Any

DEFAULTS: dict[str, Any]
REQUIRED: tuple[str, ...]
RANGES: dict[str, tuple[float, float]]
CHOICES: dict[str, tuple[Any, ...]]
SECRETS: tuple[str, ...]
