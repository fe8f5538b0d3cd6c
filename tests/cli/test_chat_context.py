"""chat stays in the conversation when it outgrows the context: the oldest turns are dropped (with a
note on stderr), a single line too long for the context is refused, and the rest of the input is
still answered, ending with the --stats line and exit 0."""
import re

import pytest

from turbine_cli import MODEL, run

CHAT = ["chat", MODEL, "--device", "cpu", "--session-len", "64", "--max-new-tokens", "12", "--stats"]
TURNS = [
    "In the beginning God created the heaven and the earth.",
    "And the earth was without form, and void.",
    "And God said, Let there be light: and there was light.",
    "And God saw the light, that it was good.",
    "And God called the light Day, and the darkness he called Night.",
    "And God said, Let there be a firmament in the midst of the waters.",
    "And God made the firmament, and divided the waters.",
    "And God called the firmament Heaven.",
]


def replies(stdout):
    """The replies: each is followed by a blank line."""
    assert stdout.endswith(b"\n\n"), stdout
    return stdout[:-2].split(b"\n\n")


@pytest.mark.parametrize("system", [[], ["--system", "Speak as the prophets spoke."]], ids=["plain", "system"])
def test_long_conversation_drops_the_oldest_turns(system):
    result = run(*CHAT, *system, stdin="\n".join(TURNS).encode() + b"\n", timeout=300)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert len(replies(result.stdout)) == len(TURNS), result.stdout
    assert re.search(r"note: dropped the \d+ oldest turns? to fit --session-len 64", stderr), stderr
    assert stderr.strip().splitlines()[-1].startswith("stats: steps="), stderr
    assert "error" not in stderr


def test_a_line_longer_than_the_context_is_refused_and_the_next_is_answered():
    long_line = " ".join(["and the waters"] * 40)
    short = run(*CHAT, stdin=b"And God said, Let there be light\n", timeout=300)
    assert short.returncode == 0, short.stderr
    both = run(*CHAT, stdin=(long_line + "\nAnd God said, Let there be light\n").encode(), timeout=300)
    stderr = both.stderr.decode()
    assert both.returncode == 0, stderr
    assert "note: that message is too long" in stderr and "--session-len 64" in stderr, stderr
    # The refused line left no trace: the next one gets the reply it gets in a fresh conversation.
    assert both.stdout == short.stdout
    assert len(replies(both.stdout)) == 1
    assert stderr.strip().splitlines()[-1].startswith("stats: steps=")


def test_reset_after_a_dropped_turn_still_works():
    lines = TURNS[:5] + ["/reset"] + TURNS[:1]
    result = run(*CHAT, stdin="\n".join(lines).encode() + b"\n", timeout=300)
    assert result.returncode == 0, result.stderr
    got = replies(result.stdout)
    assert len(got) == 6
    assert got[5] == got[0]  # after /reset the first turn is answered as it was the first time
