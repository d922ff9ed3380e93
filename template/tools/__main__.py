"""python -m tools <command>: check, build, deploy and run the firmware on the virtual board."""
import argparse
import sys

from . import build, check, config_cmd, deploy, deps, logs, release, sim, typecheck
from .project import Failure, Usage

# The commands, in the order `--help` lists them. Each module declares its own command:
# HELP (one line), add_arguments(parser) and run(args) -> exit code.
COMMANDS = {
    "check": check,
    "build": build,
    "deploy": deploy,
    "sim": sim,
    "config": config_cmd,
    "logs": logs,
    "typecheck": typecheck,
    "deps": deps,
    "release": release,
}


def parser(arguments=True):
    """The argument parser, built from COMMANDS; without arguments, only the commands' names
    (what `--help` can still show when tools/project.json is broken)."""
    ap = argparse.ArgumentParser(prog="python -m tools", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.HELP, description=command.HELP)
        if arguments:
            command.add_arguments(p)
    return ap


def main(argv=None):
    try:
        ap = parser()
    except Failure as e:  # the board choices come from a broken tools/project.json
        parser(arguments=False).parse_known_args(argv)  # --help still answers
        print(f"error: {e}", file=sys.stderr)
        return 1
    a = ap.parse_args(argv)
    try:
        return COMMANDS[a.command].run(a) or 0
    except Usage as e:
        ap.print_usage(sys.stderr)
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Failure as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C: what it left, for a command that leaves a board mid-way
        said = getattr(COMMANDS[a.command], "INTERRUPTED", None)
        if said:
            print(f"\ninterrupted: {said}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
