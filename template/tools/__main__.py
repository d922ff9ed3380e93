"""python -m tools <command>: check, build, deploy and run the firmware on the virtual board."""
import argparse
import sys

from . import build, check
from .project import BOARDS, Failure

PORT_HELP = ("serial port, anything `mpremote connect` takes: auto (the first USB serial board), "
             "/dev/ttyUSB0, COM3, id:SERIAL, or the pty `sim --serve` prints (default: %(default)s)")


class Usage(Exception):
    """A bad combination of options: printed with the usage, exit code 2."""


def parser():
    ap = argparse.ArgumentParser(prog="python -m tools", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    for name, helptext in (("check", "run the validators on device/"),
                           ("build", "check, then compile device/ into build/<board>/"),
                           ("deploy", "check, build, then sync the build onto the board with mpremote"),
                           ("sim", "run the build on the virtual board (MicroPython unix port)"),
                           ("config", "make config.json from config.example.json, or push it"),
                           ("logs", "print the board's log files, or follow its console")):
        p = sub.add_parser(name, help=helptext, description=helptext)
        if name == "check":
            p.add_argument("--board", choices=BOARDS, help="check for this board only (default: every board)")
            p.add_argument("--format", choices=("text", "json"), default="text", help="json: for other tools")
        if name in ("build", "deploy", "sim"):
            p.add_argument("--board", default=BOARDS[0], choices=BOARDS, help="board id (default: %(default)s)")
        if name == "config":
            p.add_argument("--board", default=BOARDS[0], choices=BOARDS,
                           help="check config.json against this board's rules (default: %(default)s)")
        if name in ("deploy", "config", "logs"):
            p.add_argument("--port", default="auto", help=PORT_HELP)
        if name == "deploy":
            p.add_argument("--dry-run", action="store_true", help="print what would change on the board and "
                           "write nothing (the board is still reset, so its firmware runs again)")
            p.add_argument("--py", action="store_true", help="deploy source .py files instead of .mpy "
                           "(for firmware that cannot load this build's .mpy version)")
        if name in ("deploy", "logs"):
            p.add_argument("--follow", action="store_true", help="stream the board's console (Ctrl-C stops)")
        if name == "config":
            p.add_argument("--push", action="store_true", help="send config.json (only) to the board, then reset it")
            p.add_argument("--dry-run", action="store_true", help="with --push: say whether it would travel")
        if name == "sim":
            p.add_argument("--flash", help="folder used as the board's flash (default: .sim/<board>)")
            p.add_argument("--ticks", type=count(0), default=0, help="stop cleanly after N ticks (0: run until Ctrl-C)")
            p.add_argument("--heap", type=count(2048), help="heap in bytes (default: the board's modeled heap)")
            p.add_argument("--hold-button", action="store_true",
                           help="press the safe-mode button just after the reset, inside its window")
            p.add_argument("--wifi", choices=("ok", "fail", "drop"), default="ok",
                           help="fake Wi-Fi: ok, fail (never connects), drop (lost at tick 5, back at tick 15)")
            p.add_argument("--reset-cause", default="PWRON_RESET",
                           choices=("PWRON_RESET", "HARD_RESET", "WDT_RESET", "DEEPSLEEP_RESET", "SOFT_RESET"),
                           help="why the first boot happens (default: %(default)s, power applied)")
            p.add_argument("--flash-size", type=count(0), default=0, metavar="BYTES",
                           help="flash capacity: writes beyond it fail with OSError 28 (ENOSPC); 0: no limit")
            p.add_argument("--serve", action="store_true",
                           help="expose the board on a serial port (pty) for mpremote and `deploy --port`")
            p.add_argument("--blank", action="store_true",
                           help="with --serve: install nothing, serve the flash as it is (then deploy onto it)")
            p.add_argument("--http-port", type=count(0), default=0, metavar="N",
                           help="loopback port of the setup page (default 0: any free port)")
    sub.add_parser("typecheck", help="type-check device/ against the MicroPython stubs in requirements-dev.txt")
    deps_parser(sub)
    return ap


def deps_parser(sub):
    helptext = "device libraries as mip names them: declared, locked by sha256 and vendored into vendor/"
    deps = sub.add_parser("deps", help=helptext, description=helptext).add_subparsers(dest="action", required=True)
    p = deps.add_parser("add", help="declare a library, resolve it with its dependencies, vendor and lock them")
    p.add_argument("spec", metavar="SPEC", help="a micropython-lib name[@version], github:org/repo[/path][@ref], "
                   "gitlab:..., an https:// URL of a .py or package.json, or a local path")
    p.add_argument("--index", metavar="URL", help="a mip package index, kept in device-deps.json "
                   "(default: https://micropython.org/pi/v2)")
    deps.add_parser("remove", help="drop a declared library and what only it needed (no network)") \
        .add_argument("name", metavar="NAME", help="the name `deps list` shows")
    deps.add_parser("install", help="make vendor/ exactly what device-deps.lock.json says, verifying every sha256")
    deps.add_parser("update", help="resolve again from the index: newer versions into the lock and vendor/") \
        .add_argument("name", metavar="NAME", nargs="?", help="only this package (default: all)")
    deps.add_parser("list", help="the locked libraries: name, version, source, files")


def count(least):
    """An argparse type: a whole number of at least `least` (a bad value is a usage error, exit 2)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is less than {least}")
        return value
    return parse


def checked_build(board, as_py=False):
    if not check.check(board):
        raise Failure("check failed; fix the problems above before building")
    return build.build(board, as_py)


def run(a):
    if a.command == "check":
        return 0 if check.check(a.board, a.format) else 1
    if a.command == "typecheck":
        from . import typecheck

        return 0 if typecheck.typecheck(typecheck.stubs_board()) else 1
    if a.command == "build":
        print(f"built {checked_build(a.board)}")
        return 0
    if a.command == "deploy":
        from . import deploy

        if not check.check(a.board):
            raise Failure("check failed; fix the problems above, nothing was sent to the board")
        deploy.deploy(a.board, build.build(a.board, a.py), a.port, a.dry_run, a.py, a.follow)
        return 0
    if a.command == "config":
        from . import config_cmd, deploy

        if a.dry_run and not a.push:
            raise Usage("--dry-run only applies to --push")
        if a.push:
            deploy.push_config(a.port, a.dry_run, board=a.board)
        else:
            config_cmd.make(board=a.board)
        return 0
    if a.command == "deps":
        from . import deps

        return deps.run(a)
    if a.command == "logs":
        from . import logs

        return logs.follow(a.port) if a.follow else logs.fetch(a.port)
    if a.serve and a.ticks:
        raise Usage("--ticks does not apply to --serve: stop the served board with Ctrl-C")
    if a.blank and not a.serve:
        raise Usage("--blank only applies to --serve")
    from . import sim

    build_dir = None if a.blank else checked_build(a.board)
    return sim.run(a.board, build_dir, a.flash, a.ticks, a.heap, a.hold_button, a.wifi, a.flash_size,
                   a.reset_cause, a.serve, a.http_port)


def main(argv=None):
    ap = parser()
    a = ap.parse_args(argv)
    try:
        return run(a) or 0
    except Usage as e:
        ap.print_usage(sys.stderr)
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Failure as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
