"""python -m tools <command>: check, build and run the firmware on the virtual board."""
import argparse
import sys

from . import build, check, sim, typecheck
from .project import BOARDS, Failure


def parser():
    ap = argparse.ArgumentParser(prog="python -m tools", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    for name, helptext in (("check", "run the validators on device/"),
                           ("build", "check, then compile device/ into build/<board>/"),
                           ("sim", "run the build on the virtual board (MicroPython unix port)")):
        p = sub.add_parser(name, help=helptext)
        if name == "check":
            p.add_argument("--board", choices=BOARDS, help="check for this board only (default: every board)")
            p.add_argument("--format", choices=("text", "json"), default="text", help="json: for other tools")
        else:
            p.add_argument("--board", default=BOARDS[0], choices=BOARDS, help="board id (default: %(default)s)")
        if name == "sim":
            p.add_argument("--flash", help="folder used as the board's flash (default: .sim/<board>)")
            p.add_argument("--ticks", type=int, default=0, help="stop cleanly after N ticks (0: run until Ctrl-C)")
            p.add_argument("--heap", type=int, help="heap in bytes (default: the board's modeled heap)")
            p.add_argument("--hold-button", action="store_true", help="hold the safe-mode button at boot")
            p.add_argument("--wifi", choices=("ok", "fail", "drop"), default="ok",
                           help="fake Wi-Fi: ok, fail (never connects), drop (lost at tick 5, back at tick 15)")
            p.add_argument("--flash-size", type=int, default=0, metavar="BYTES",
                           help="flash capacity: writes beyond it fail with OSError 28 (ENOSPC)")
            p.add_argument("--http-port", type=int, default=0, metavar="N",
                           help="loopback port of the setup page (default 0: any free port)")
    sub.add_parser("typecheck", help="type-check device/ against the MicroPython stubs in requirements-dev.txt")
    return ap


def checked_build(board):
    if not check.check(board):
        raise Failure("check failed; fix the problems above before building")
    return build.build(board)


def main(argv=None):
    a = parser().parse_args(argv)
    try:
        if a.command == "check":
            return 0 if check.check(a.board, a.format) else 1
        if a.command == "typecheck":
            return 0 if typecheck.typecheck(typecheck.stubs_board()) else 1
        if a.command == "build":
            print(f"built {checked_build(a.board)}")
            return 0
        return sim.run(a.board, checked_build(a.board), a.flash, a.ticks, a.heap, a.hold_button, a.wifi,
                       a.flash_size, a.http_port)
    except Failure as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
