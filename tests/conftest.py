"""Shared fixtures: the hand-made mini export and the real Brain-Score export (skips if absent)."""

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).parents[1]
DATA = Path(__file__).parent / "data"
BRAINSCORE = PROJECT_ROOT / "../shared/data/brainscore_vision_leaderboard_2025-05-07.csv"


@pytest.fixture
def brainscore_path() -> Path:
    """The real 2025-05-07 Brain-Score vision export, kept beside the project."""
    if not BRAINSCORE.is_file():
        pytest.skip(
            "real Brain-Score export not found at ../shared/data/"
            "brainscore_vision_leaderboard_2025-05-07.csv; it lives beside the project, "
            "see shared/data/README.md"
        )
    return BRAINSCORE


@pytest.fixture
def mini_path() -> Path:
    """Hand-made export: 5 models, 3 tree levels, X and empty cells, repeated model_name."""
    return DATA / "mini_brainscore.csv"
