"""`pytest examples/` runs the passing specs; `pytest examples/broken` runs the broken ones."""

from pathlib import Path

BROKEN = Path(__file__).parent / "broken"


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    if collection_path == BROKEN:
        asked = [Path(arg.split("::")[0]).resolve() for arg in config.args]
        return not any(path == BROKEN or BROKEN in path.parents for path in asked)
    return None
