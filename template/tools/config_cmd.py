"""`python -m tools config`: config.json made from config.example.json (the runtime's settings) and
app-settings.json (your app's), checked like the board does.

Every setting is asked with its current value (Enter keeps it); a required one must not stay empty.
Secrets (app settings marked "secret", and names such as wifi_password) are read with getpass,
never echoed and never shown back. Every key of the existing config.json is kept: a value the
board would refuse is asked again (Enter then stops, changing nothing), keys nobody declares stay.
The result is validated by the firmware's own validator (device/lib/runtime/config.py, run here
on the exact bytes, with the board's build facts and watchdog limit) before it is written,
atomically, readable by you only. Written are the settings that differ from their defaults, the
required ones and those the file had, so new defaults from a template update still reach the board.
"""
import getpass
import json
import os
import sys
import types

from .project import BOARDS, DEVICE, PORT_HELP, PROJECT, ROOT, Failure, Usage

CONFIG = ROOT / "config.json"
EXAMPLE = ROOT / "config.example.json"
SECRET_WORDS = ("password", "secret", "token", "psk", "key")
HELP = "make config.json from config.example.json, or push it"


def add_arguments(p):
    from .build import board_argument

    board_argument(p, help="check config.json against this board's rules (default: %(default)s)")
    p.add_argument("--port", default="auto", help=PORT_HELP)
    p.add_argument("--push", action="store_true", help="send config.json (only) to the board, then reset it")
    p.add_argument("--dry-run", action="store_true", help="with --push: say whether it would travel")


def run(args):
    from . import deploy

    if args.dry_run and not args.push:
        raise Usage("--dry-run only applies to --push")
    if args.push:
        deploy.push_config(args.port, args.dry_run, board=args.board)
    else:
        if sys.stdin.isatty():
            make(board=args.board)
        else:
            # Piped answers: no terminal echoes them, so each prompt ends its own line; and no
            # terminal to hide a secret on, so a secret is read as the others (getpass would only
            # warn that it cannot hide it). Neither is ever printed.
            def piped(prompt):
                answer = input(prompt)
                print()
                return answer

            make(ask=piped, ask_secret=piped, board=args.board)
    return 0


def _runtime_config():
    """The firmware's runtime/config.py (and the runtime modules it imports), run by this Python."""
    lib = str(DEVICE / "lib")
    if lib not in sys.path:
        sys.path.insert(0, lib)
    from runtime import config

    return config


def defaults():
    return rules()[0]


def rules():
    """(defaults, required, ranges, choices, secrets) of the runtime's and the app's settings."""
    from . import build

    defaults, required, ranges, choices, secrets = build.settings()
    if not PROJECT["wifi"]:
        required = tuple(k for k in required if k != "wifi_ssid")
    return defaults, required, ranges, choices, secrets


def required():
    return rules()[1]


def target(board=None):
    """The board's runtime/target and runtime/schema in one, as `build` writes them: its watchdog,
    defaults, required keys ..."""
    from . import build

    facts = {}
    for source in (build.target_source(board or BOARDS[0]), build.schema_source(board or BOARDS[0])):
        exec(source, facts)  # our own generated source
    return types.SimpleNamespace(**facts)


def problem(data, board=None):
    """What the board would say about this config.json (bytes), or None when it is valid.

    The firmware's own parse() on the same bytes with the same rules: one validator, so the host
    accepts exactly what the board accepts."""
    config = _runtime_config()
    facts = target(board)
    try:
        return config.parse(bytes(data), *config.rules(facts, facts))[1]
    except (RecursionError, MemoryError, ValueError) as e:  # parse() should catch them all: a last net
        return f"config.json could not be checked ({e.__class__.__name__})"


def is_secret(key, secrets=()):
    return key in secrets or any(word in key.lower() for word in SECRET_WORDS)


def parse(raw, default):
    """The typed value of an answer, in the type of the setting's default."""
    kind = type(default)
    if kind is bool:
        if raw.lower() in ("y", "yes", "true", "1", "on"):
            return True
        if raw.lower() in ("n", "no", "false", "0", "off"):
            return False
        raise ValueError("answer yes or no")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError("a whole number is needed") from None
    if kind is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError("a number is needed") from None
    if kind is str:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        raise ValueError("a JSON value is needed") from None


def current():
    """The settings in config.json now; a file that cannot be read is never overwritten."""
    if not CONFIG.exists():
        return {}
    raw = CONFIG.read_bytes()
    bad = _runtime_config().parse(raw, {})[1]  # the board's JSON rules; the settings are asked next
    if bad:
        raise Failure(f"{bad}: fix it or move it away, then run `python -m tools config` again")
    return json.loads(raw)


def make(ask=input, ask_secret=getpass.getpass, say=print, board=None):
    """Prompt for every setting, validate, write config.json. Returns its path.

    Nothing is written unless the board (`board`, default the primary) would accept the file;
    the old file is replaced only by renaming a complete new one over it. Input that ends
    (piped answers, no terminal) counts as Enter for every setting left: a required one
    stops it with the file unchanged."""
    base, need, ranges, choices, secrets = rules()
    now = current()
    config = _runtime_config()

    def refused(key, value):  # the board's own rules for one setting: type, range, choices, not empty
        return config.check({key: value}, base, (key,) if key in need else (), None, ranges, choices, secrets)[1]

    say(f"{'Updating' if now else 'Making'} config.json (Enter keeps the value in brackets)")
    answers = {}
    for key, default in base.items():
        value = now.get(key, default)
        secret = is_secret(key, secrets)
        wrong = refused(key, value)
        if wrong and key in now:  # never dropped silently: asked again
            say(f"{wrong.removeprefix('config.json: ')}: give a new value")
        while True:
            shown = ("set" if value else "empty") if secret else json.dumps(value)
            try:
                raw = (ask_secret if secret else ask)(f"{key}{' (required)' * (key in need)} [{shown}]: ").strip()
            except EOFError:  # the input ended (a pipe, </dev/null): Enter for this setting and the rest
                ask = ask_secret = lambda prompt: ""
                raw = ""
                say("\n(input ended: every setting left keeps the value in brackets)")
            if not raw:
                if wrong:  # Enter cannot keep what the board refuses: stop, the file as it was
                    raise Failure(f"{wrong}: give {key} a value, or fix config.json; it was not changed")
                break
            try:
                answer = parse(raw, default)
            except ValueError as e:
                say(f"{key}: {e}; try again")
                continue
            wrong = refused(key, answer)
            if wrong:
                say(f"{wrong.removeprefix('config.json: ')}; try again")
                continue
            value = answer
            break
        answers[key] = value
    extra = {k: v for k, v in now.items() if k not in base}  # keys nobody declares stay as they are
    conf = {k: v for k, v in answers.items() if v != base[k] or k in need or k in now}
    conf.update(extra)
    data = (json.dumps(conf, indent=2) + "\n").encode()
    bad = problem(data, board)
    if bad:
        raise Failure(f"{bad}: run `python -m tools config` again; config.json was not changed")
    tmp = CONFIG.with_name(CONFIG.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, CONFIG)
    say(f"wrote {CONFIG.name} ({len(conf)} settings; secrets not shown); "
        "`python -m tools config --push` sends it to the board")
    return CONFIG
