import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))


@pytest.fixture(autouse=True, scope="session")
def _compiler_and_cache(tmp_path_factory):
    """The repository's own sparsek-compile and a fresh cache per session."""
    build = Path(os.environ.get("SPARSEK_BUILD_DIR", ROOT / "build"))
    os.environ.setdefault("SPARSEK_COMPILE", str(build / "bin" / "sparsek-compile"))
    os.environ["SPARSEK_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    os.environ.pop("SPARSEK_KERNELS", None)
    yield
