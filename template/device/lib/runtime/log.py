# A small logger with a rotating file on flash.
#
# Lines go to the console and, when a file is set, to it. The file never grows
# past max_bytes: it is renamed to file.1 (file.1 to file.2, ...) and the oldest
# is removed, so the logs never take more than max_bytes * (backups + 1) bytes.
# A full flash (OSError 28) drops the line and counts it instead of crashing.
# Lines are written whole (one longer than max_bytes is cut on a character
# boundary), so no file ever ends in the middle of a UTF-8 character.
#
# Lines reach the file in batches: on littlefs every close of a file opened
# for append rewrites its last block (a 4 KB erase and ~10 page programs, ~66 ms
# on a W25Q16), whether it adds one line or twenty. So lines wait in a buffer of
# 512 bytes, taken once, until flush(): the heartbeat calls it at the end of
# every tick, an error or a traceback calls it at once (a reset may follow), and
# so does anything that resets the board. A full buffer is flushed early.
import io
import os
import sys
import time

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")  # a level is its place here: INFO is 1


class Log:
    def __init__(self, level="INFO", path=None, max_bytes=8192, backups=2):
        self.level = self.level_of(level)
        self.path = path or ""  # "": console only
        self.max_bytes = max_bytes
        self.backups = backups
        self.dropped = 0  # lines lost to a full flash
        self.size = 0  # of the file, with the lines in the buffer
        self.buf = bytearray(512 if path else 0)  # log lines held in RAM between two writes
        self.used = 0  # bytes in the buffer
        if path:
            try:
                self.size = os.stat(path)[6]
            except OSError:
                pass

    @staticmethod
    def level_of(name):
        return LEVELS.index(name) if name in LEVELS else 1

    def debug(self, msg, *args):
        self._log(0, msg, args)

    def info(self, msg, *args):
        self._log(1, msg, args)

    def warning(self, msg, *args):
        self._log(2, msg, args)

    def error(self, msg, *args):
        self._log(3, msg, args)
        self.flush()  # now: a reset may follow

    def exception(self, msg, exc):
        # The message, then the traceback, on the console and in the file.
        self._log(3, msg, ())
        buf = io.StringIO()
        # MicroPython's StringIO is a stream with getvalue(); its stubs (1.29) say neither.
        sys.print_exception(exc, buf)  # pyright: ignore[reportArgumentType]
        trace = buf.getvalue()  # pyright: ignore[reportAttributeAccessIssue]
        print(trace, end="")
        if self.path:
            self._append(trace)
        self.flush()  # the traceback reaches the file before any reset

    def _log(self, level, msg, args):
        if level < self.level:
            return
        if args:
            msg = msg % args
        ms = time.ticks_ms()  # an int that wraps; the stubs make it opaque to steer towards ticks_diff()
        line = "%d.%03d %s %s\n" % (ms // 1000, ms % 1000, LEVELS[level], msg)  # pyright: ignore[reportOperatorIssue]
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
        n = len(data)
        if self.size + n > self.max_bytes:  # the line starts a new file: the cap holds per file
            self.flush()
            self.rotate()
        if self.used + n > len(self.buf):
            self.flush()
        self.size += n
        if n > len(self.buf):  # longer than the whole buffer (a traceback): on its own
            self._write(data)
        else:
            self.buf[self.used:self.used + n] = data
            self.used += n

    def flush(self):
        # Write the buffered lines in one open-append-close: one block rewritten.
        if self.used:
            self._write(memoryview(self.buf)[:self.used])
            self.used = 0

    def _write(self, data):
        try:
            with open(self.path, "ab") as f:
                if self.dropped:
                    note = ("%d log lines dropped: flash full\n" % self.dropped).encode()
                    if self.size + len(note) <= self.max_bytes:
                        self.size += f.write(note)
                    self.dropped = 0
                f.write(data)
        except OSError as e:
            # Most often ENOSPC (28): the flash is full. Drop the lines, keep running.
            if not self.dropped:
                print("log: cannot write %s (%r): dropping lines until there is room" % (self.path, e))
            self.dropped += bytes(data).count(b"\n")
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
