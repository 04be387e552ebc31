"""Where the app finds its files: the repository root, templates, migrations, instance data."""

from pathlib import Path


def _find_root() -> Path:
    # The app runs from a checkout: the package sits beside `templates/` and
    # `alembic/`. An installed copy of the package finds them from the
    # working directory instead (the operator runs it from the checkout).
    beside_package = Path(__file__).resolve().parent.parent
    if (beside_package / "templates").is_dir():
        return beside_package
    return Path.cwd()


ROOT = _find_root()
TEMPLATES_DIR = ROOT / "templates"
INSTANCE_DIR = ROOT / "instance"
ALEMBIC_INI = ROOT / "alembic.ini"
STATIC_DIR = Path(__file__).resolve().parent / "static"
