# Types of runtime/target, the module `python -m tools build` writes into each build
# (tools/build.py: target_source): this board's facts (the config rules are in
# runtime/schema). It is not in device/, so the type checker and the editor read these
# declarations instead.
PROJECT: str
BOARD: str
LABEL: str
LED: int | str | None
LED_ACTIVE_LOW: bool
BUTTON: int | str
WDT_MAX_MS: int | None
WIFI: bool
COUNTRY: str | None
WATCHDOG: bool
LOG_LEVEL: str
LOG_FILE: str | None
LOG_MAX_BYTES: int
LOG_BACKUPS: int
