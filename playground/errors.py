"""One error for bad input, for the app and the command line. On the command line: a sub-command raises UserError for a mistake in its arguments or files;
the entry point prints it as one line (`error: ...`) on stderr and exits with status 2, without a traceback.

It lives in its own module because `python -m playground` runs `playground/__main__.py` as the script `__main__`:
a class defined there and imported by a sub-command as `playground.__main__.UserError` would be a second,
different class that the entry point does not catch.
"""

from __future__ import annotations

import sys
from typing import Callable


class UserError(ValueError):
    """A bad input worded for the user: the command line prints it as one line and exits 2, the app shows it beside
    the control (a ValueError, so the app's input checks treat it as theirs)."""


def run_command(func: Callable, args) -> int:
    """Run a parsed sub-command: 0 when it returns, 2 (and the message on stderr) on a UserError."""
    try:
        func(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def shown(value, limit: int = 60) -> str:
    """repr(value) for an error message, cut to about `limit` characters: a message echoes what was given, not a
    100,000-character paste of it."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"
