"""Where the project's own folders are, resolved from the package, so that every command finds them from any
working directory."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = REPO_ROOT / "models" / "worldsim-s"  # the shipped model
SCREENSHOTS_DIR = REPO_ROOT / "assets" / "screenshots"
