"""Copy the rendered report from the DVC-cached ``outputs/report/`` to the git-tracked ``reports/``.

Why two copies: DVC 3.67 restores a stage from its run-cache only when every output it does
not cache is a metric or a plot, and a report's HTML and Markdown are neither. So the
``report`` stage renders into cached outputs, and DVC can restore it without rendering again
(``train.vae.beta`` 1 → 0.5 → 1 re-renders nothing on the way back); the ``publish`` stage
copies the result to ``reports/``, where git, GitHub and ``dvc plots diff`` read it. A copy
takes a fraction of a second, imports nothing heavy and makes no MLflow run.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Sequence

from latentlab.errors import DataFileError
from latentlab.io import atomic_write_bytes


def publish(source: Path, target: Path, names: Sequence[str]) -> list[Path]:
    """Copy each of ``names`` (files or folders) from ``source`` to ``target``; the copies.

    Files are replaced atomically; a folder is built beside its target and swapped in, so a
    kill leaves the old folder, the new one, or (between the two renames) none, never a mix.
    Files in a target folder that the source no longer has are gone after the swap.
    """
    missing = [name for name in names if not (Path(source) / name).exists()]
    if missing:
        raise DataFileError(f"{source}: lacks {', '.join(missing)}; run `dvc repro report` "
                            "to render the report")
    written = []
    for name in names:
        src, dst = Path(source) / name, Path(target) / name
        if src.is_dir():
            _replace_dir(src, dst)
        else:
            atomic_write_bytes(dst, src.read_bytes())
        written.append(dst)
    return written


def _replace_dir(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent))
    old = staging.with_suffix(".old")
    try:
        for path in sorted(src.rglob("*")):
            if path.is_file():
                out = staging / path.relative_to(src)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, out)
        staging.chmod(0o755)
        if dst.exists():
            dst.rename(old)
        staging.rename(dst)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
