"""Command-line entry point. Each module below adds its commands to ``app``."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

from semifer.cli.app import app
from semifer.errors import SemiferError

# Command modules register on import; keep this list in sync with src/semifer/cli/.
from semifer.cli import data_commands  # noqa: F401,E402
from semifer.cli import spatial_commands  # noqa: F401,E402
from semifer.cli import predict_commands  # noqa: F401,E402
from semifer.cli import synth_commands  # noqa: F401,E402
from semifer.cli import temporal_commands  # noqa: F401,E402
from semifer.cli import demo_commands  # noqa: F401,E402
from semifer.cli import review_commands  # noqa: F401,E402


def main() -> None:
    """Run the CLI; user errors print one red line and exit with status 2, no traceback."""
    try:
        app(standalone_mode=True)
    except SemiferError as error:
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        sys.exit(2)
