"""The bot's server process on a clock the tests move: `python -m bot.testing.clocked FILE …`.

Everything is as `python -m bot …` (the arguments after FILE are its command), except that the
guardrails read the time from `SharedClock(FILE)`. Only the tests start it (ServerProcess).
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot import __main__ as entry
from bot.testing.clock import SharedClock


def main() -> int:
    """Serve with the guardrails' clock in the file the first argument names."""
    clock = SharedClock(Path(sys.argv.pop(1)))
    return entry.main(clock=clock)


if __name__ == "__main__":
    sys.exit(main())
