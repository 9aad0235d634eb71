"""What `pip install .` ships: the product alone. The lab's fit and make scripts, the
benchmarks and devkit/ (shared by tests, benchmarks and lab) stay in the checkout."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_ships_the_product_and_nothing_of_the_lab(tmp_path: Path) -> None:
    # Built from a copy of the checkout, lab, devkit, scripts and tests included, so the
    # build leaves nothing behind (setuptools writes build/ and *.egg-info in the tree).
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", "data"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q",
                    "-w", str(tmp_path)], check=True, capture_output=True, timeout=300)
    [wheel] = tmp_path.glob("voicecoach-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"voicecoach"}, tops
    # What the product needs at run time is in it.
    for needed in ("voicecoach/py.typed", "voicecoach/audio_prompts/manifest.json",
                   "voicecoach/progress/export.schema.json"):
        assert needed in names
    modules = [n for n in names if n.endswith(".py")]
    stems = {Path(n).stem for n in modules}
    assert not {s for s in stems if s.startswith(("fit_", "make_", "bench_", "eval_"))}
    # No shipped module imports what the wheel leaves out.
    with zipfile.ZipFile(wheel) as archive:
        for name in modules:
            tree = ast.parse(archive.read(name))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module:
                    imported = [node.module]
                elif isinstance(node, ast.Import):
                    imported = [a.name for a in node.names]
                else:
                    continue
                for module in imported:
                    assert module.split(".")[0] not in {"devkit", "lab", "scripts", "tests"}, \
                        f"{name} imports {module}"
