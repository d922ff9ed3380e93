# A small logger with a rotating file on flash.
#
# Lines go to the console and, when a file is set, to it. The file never grows
# past max_bytes: it is renamed to file.1 (file.1 to file.2, ...) and the oldest
# is removed, so the logs never take more than max_bytes * (backups + 1) bytes.
# A full flash (OSError 28) drops the line and counts it instead of crashing.
# Lines are written whole (one longer than max_bytes is cut on a character
# boundary), so no file ever ends in the middle of a UTF-8 character.
import io
import os
import sys
import time

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}


class Log:
    def __init__(self, level="INFO", path=None, max_bytes=8192, backups=2):
        self.level = self.level_of(level)
        self.path = path or ""  # "": console only
        self.max_bytes = max_bytes
        self.backups = backups
        self.dropped = 0
        self.size = 0
        if path:
            try:
                self.size = os.stat(path)[6]
            except OSError:
                pass

    @staticmethod
    def level_of(name):
        return LEVELS.get(name, 20)

    def debug(self, msg, *args):
        self._log(10, "DEBUG", msg, args)

    def info(self, msg, *args):
        self._log(20, "INFO", msg, args)

    def warning(self, msg, *args):
        self._log(30, "WARNING", msg, args)

    def error(self, msg, *args):
        self._log(40, "ERROR", msg, args)

    def exception(self, msg, exc):
        # The message, then the traceback, on the console and in the file.
        self._log(40, "ERROR", msg, ())
        buf = io.StringIO()
        # MicroPython's StringIO is a stream with getvalue(); its stubs (1.29) say neither.
        sys.print_exception(exc, buf)  # pyright: ignore[reportArgumentType]
        trace = buf.getvalue()  # pyright: ignore[reportAttributeAccessIssue]
        print(trace, end="")
        if self.path:
            self._append(trace)

    def _log(self, level, name, msg, args):
        if level < self.level:
            return
        if args:
            msg = msg % args
        ms = time.ticks_ms()  # an int that wraps; the stubs make it opaque to steer towards ticks_diff()
        line = "%d.%03d %s %s\n" % (ms // 1000, ms % 1000, name, msg)  # pyright: ignore[reportOperatorIssue]
        print(line, end="")
        if self.path:
            self._append(line)

    def _append(self, text):
        data = text.encode()
        if len(data) > self.max_bytes:  # cut before the first byte of a character, end the line
            cut = self.max_bytes - 1
            while cut and data[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte
                cut -= 1
            data = data[:cut] + b"\n"
        try:
            if self.size + len(data) > self.max_bytes:
                self.rotate()
            with open(self.path, "ab") as f:
                if self.dropped:
                    note = ("%d log lines dropped: flash full\n" % self.dropped).encode()
                    if self.size + len(note) + len(data) <= self.max_bytes:
                        self.size += f.write(note)
                    self.dropped = 0
                self.size += f.write(data)
        except OSError as e:
            # Most often ENOSPC (28): the flash is full. Drop the line, keep running.
            if not self.dropped:
                print("log: cannot write %s (%r): dropping lines until there is room" % (self.path, e))
            self.dropped += 1
            try:
                self.size = os.stat(self.path)[6]
            except OSError:
                self.size = 0

    def rotate(self):
        # Oldest out, the rest renamed down; each step tolerates a missing file,
        # so a reset between two steps loses no current log.
        base = self.path
        for i in range(self.backups, 0, -1):
            older = "%s.%d" % (base, i)
            newer = "%s.%d" % (base, i - 1) if i > 1 else base
            try:
                os.remove(older)
            except OSError:
                pass
            try:
                os.rename(newer, older)
            except OSError:
                pass
        if not self.backups:
            try:
                os.remove(base)
            except OSError:
                pass
        self.size = 0
