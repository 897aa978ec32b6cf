"""The command line's one error style: a sub-command raises UserError for a mistake in its arguments or files;
the entry point prints it as one line (`error: ...`) on stderr and exits with status 2, without a traceback.

It lives in its own module because `python -m playground` runs `playground/__main__.py` as the script `__main__`:
a class defined there and imported by a sub-command as `playground.__main__.UserError` would be a second,
different class that the entry point does not catch.
"""

from __future__ import annotations

import sys
from typing import Callable


class UserError(Exception):
    """A mistake in the command line or its files: printed as one line, exit code 2."""


def run_command(func: Callable, args) -> int:
    """Run a parsed sub-command: 0 when it returns, 2 (and the message on stderr) on a UserError."""
    try:
        func(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
