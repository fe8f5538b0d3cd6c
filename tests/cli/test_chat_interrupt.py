"""chat at a terminal (a pty): Ctrl-C during a reply stops that reply and returns to the prompt;
Ctrl-C (or Ctrl-D) at the prompt then quits, printing the --stats line, with exit status 0."""
import os
import pty
import select
import time

import pytest

from turbine_cli import BIN, MODEL

# A reply that would run for the whole context (thousands of tokens, tens of seconds on a CPU).
ARGS = [BIN, "chat", str(MODEL), "--device", "cpu", "--ignore-eos", "--max-new-tokens", "4000", "--stats"]


class Terminal:
    def __init__(self):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execv(ARGS[0], ARGS)
        self.seen = b""

    def read_until(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while not predicate(self.seen):
            left = deadline - time.monotonic()
            assert left > 0, f"timed out; the terminal shows {self.seen[-400:]!r}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk:
                    assert predicate(self.seen), f"the terminal closed; it shows {self.seen[-400:]!r}"
                    return
                self.seen += chunk

    def exit_status(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            try:
                if select.select([self.fd], [], [], 0.1)[0]:
                    self.seen += os.read(self.fd, 4096)
            except OSError:
                time.sleep(0.1)
        os.kill(self.pid, 9)
        pytest.fail(f"chat did not exit; the terminal shows {self.seen[-400:]!r}")

    def close(self):
        try:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


def stop_a_reply(term):
    term.read_until(lambda s: s.endswith(b"> "), timeout=120)
    os.write(term.fd, b"In the beginning God created\n")
    start = len(term.seen)
    # Wait until the reply streams (well past the echo of the line typed), then press Ctrl-C.
    term.read_until(lambda s: len(s) - start > 80, timeout=120)
    pressed = time.monotonic()
    os.write(term.fd, b"\x03")
    term.read_until(lambda s: b"note: reply stopped" in s and s.endswith(b"> "), timeout=30)
    return time.monotonic() - pressed


@pytest.mark.parametrize("quit_key", [b"\x03", b"\x04"], ids=["ctrl-c", "ctrl-d"])
def test_ctrl_c_stops_the_reply_then_quits(quit_key):
    term = Terminal()
    try:
        took = stop_a_reply(term)
        assert took < 10, took
        # Still in the conversation: a second turn is answered (and stopped) the same way.
        stop_a_reply(term)
        os.write(term.fd, quit_key)
        assert term.exit_status(timeout=30) == 0, term.seen[-400:]
        assert b"stats: steps=" in term.seen
        assert b"error" not in term.seen
    finally:
        term.close()
