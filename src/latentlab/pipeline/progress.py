"""``[k/n, 0:42] Running stage 'train@vae':``: where ``make repro`` is, on DVC's own lines.

DVC says which stage it starts (``Running stage 'x':``) or skips (``Stage 'x' didn't
change, skipping``, ``Stage 'x' is cached - skipping run, ...``) but not how far along the
pipeline is or for how long it has run. The wrapper (:mod:`latentlab.pipeline.run`) reads
DVC's stdout through a pipe and prefixes those lines with the stage's number among the stages
DVC will visit and the time since DVC started; everything else passes through unchanged and
at once. Only stdout is read: stderr, where the training bar draws itself when it is a
terminal (:mod:`latentlab.train.progress`), stays the terminal's.

``n`` is the number of stages in ``dvc.yaml`` with ``matrix`` and ``foreach`` expanded, what a
``repro`` without targets visits (each is run, skipped or restored). With targets or flags that
change the set (``--single-item``, ``--downstream``) it is not counted and the prefix is
``[k, 0:42]``. With no remote configured, DVC's closing hint ``Use `dvc push` ...`` (printed
whatever the config: ``dvc/commands/repro.py``) is dropped, since there is nowhere to push.
"""

from __future__ import annotations

import configparser
import itertools
import re
import time
from pathlib import Path
from typing import Callable

STAGE_LINE = re.compile(r"^(Running stage '([^']+)':|Stage '([^']+)' (didn't change|is cached))")
PUSH_HINT = "Use `dvc push` to send your updates to remote storage."
SUBSET_FLAGS = ("-s", "--single-item", "--downstream", "-p", "--pipeline")


def elapsed(seconds: float) -> str:
    """``0:42``, ``12:05``, ``1:02:03``."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _resolve(value, params: dict):
    """A ``${a.b}`` reference to params.yaml, resolved; anything else unchanged."""
    if isinstance(value, str) and (m := re.fullmatch(r"\$\{([\w.]+)\}", value.strip())):
        node = params
        for key in m.group(1).split("."):
            node = node[key]
        return node
    return value


def stage_names(dvc_yaml: str | Path = "dvc.yaml", params_file: str | Path = "params.yaml"
                ) -> list[str]:
    """Every stage of ``dvc_yaml``, ``matrix`` and ``foreach`` expanded (``train@vae``)."""
    import yaml

    stages = (yaml.safe_load(Path(dvc_yaml).read_text()) or {}).get("stages") or {}
    params = yaml.safe_load(Path(params_file).read_text()) if Path(params_file).exists() else {}
    names = []
    for name, body in stages.items():
        if "matrix" in body:
            axes = [_resolve(v, params or {}) for v in body["matrix"].values()]
            names += [f"{name}@{'-'.join(str(x) for x in combo)}"
                      for combo in itertools.product(*axes)]
        elif "foreach" in body:
            items = _resolve(body["foreach"], params or {})
            names += [f"{name}@{key}" for key in (items if isinstance(items, dict)
                                                  else range(len(items)))]
        else:
            names.append(name)
    return names


def visited_count(args: list[str]) -> int | None:
    """How many stages ``dvc <args>`` visits; None when targets or flags pick a subset."""
    try:
        names = stage_names()
    except Exception:  # noqa: BLE001 - no count is shown, nothing else changes
        return None
    families = {name.split("@")[0] for name in names}
    if any(a in SUBSET_FLAGS or a in names or a.split(":")[-1] in families
           or a.startswith("dvc.yaml:") for a in args):
        return None
    return len(names)


def has_remote(config_dir: str | Path = ".dvc") -> bool:
    """Whether DVC's config (``config`` or ``config.local``) names a remote."""
    parser = configparser.ConfigParser()
    parser.read([Path(config_dir) / "config", Path(config_dir) / "config.local"])
    return any(section.startswith("remote ") for section in parser.sections())


class StageLines:
    """Rewrites DVC's stdout line by line (see the module docstring)."""

    def __init__(self, total: int | None, *, drop_push_hint: bool,
                 clock: Callable[[], float] = time.monotonic):
        self.total, self.drop_push_hint, self.clock = total, drop_push_hint, clock
        self.started, self.count = clock(), 0

    def __call__(self, line: str) -> str | None:
        """The line to print (``line`` ends with its newline), or None to drop it."""
        if self.drop_push_hint and line.strip() == PUSH_HINT:
            return None
        if not STAGE_LINE.match(line):
            return line
        self.count += 1
        where = f"{self.count}/{self.total}" if self.total else str(self.count)
        return f"[{where}, {elapsed(self.clock() - self.started)}] {line}"


def pump(stream, rewrite: Callable[[str], str | None], out) -> None:
    """Copy ``stream`` (text, line-buffered) to ``out`` through ``rewrite``, line by line."""
    for line in iter(stream.readline, ""):
        text = rewrite(line)
        if text is not None:
            out.write(text)
            out.flush()
