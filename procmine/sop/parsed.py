"""SOP versions parsed once per library, not once per process.

Every process that reads the SOP library (a dashboard server, each command) parses the versions
it reads: the YAML front matter, the steps, the body rendered to check its anchors. A commit
never changes, so the parse of one file's text (its git blob) is kept beside the repository,
in its ``.git`` folder, one pickle per blob, file name and procmine code::

    sops/.git/procmine-parsed/<code stamp>/<digest of blob id and file name>.pickle

A newer procmine (another code stamp) parses again and removes the older folder. A file that
cannot be read back (cut short, or not a :class:`~procmine.sop.document.Sop`) is parsed again
and replaced; a text that does not parse is never kept (it is parsed, and refused, each time).
The pickles are written only by procmine, as trusted as the repository beside them.

Example:
    >>> from procmine.sop.document import parse_sop
    >>> from procmine.sop.repository import bundled_sops_dir
    >>> text = (bundled_sops_dir() / "SOP-P17.md").read_text(encoding="utf-8")
    >>> git = Path("sops/.git")
    >>> keep(git, b"0" * 40, "SOP-P17.md", parse_sop(text, "SOP-P17.md"))
    >>> kept(git, b"0" * 40, "SOP-P17.md").version, kept(git, b"1" * 40, "SOP-P17.md")
    ('2.1', None)
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
from pathlib import Path
from typing import Final

from procmine.sop.document import Sop
from procmine.store.result_cache import code_stamp, keep_pickle

__all__ = ["FOLDER", "keep", "kept"]

FOLDER: Final[str] = "procmine-parsed"  # in the repository's .git folder


def _path(git_dir: Path, blob_id: bytes, name: str) -> Path:
    digest = hashlib.sha1(blob_id + b"\0" + name.encode("utf-8")).hexdigest()
    return git_dir / FOLDER / code_stamp() / f"{digest}.pickle"


def kept(git_dir: Path, blob_id: bytes, name: str) -> Sop | None:
    """The parse of blob ``blob_id`` as file ``name`` kept by an earlier process, or None."""
    path = _path(git_dir, blob_id, name)
    try:
        with path.open("rb") as fh:
            sop = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:  # cut short, or written by another procmine: parsed again
        path.unlink(missing_ok=True)
        return None
    return sop if isinstance(sop, Sop) else None


def keep(git_dir: Path, blob_id: bytes, name: str, sop: Sop) -> None:
    """Keep the parse of blob ``blob_id`` as file ``name`` for the next process (nothing kept,
    and nothing said, when it cannot be written: the caller has it)."""
    path = _path(git_dir, blob_id, name)
    if not path.parent.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            for folder in path.parent.parent.iterdir():   # an older procmine's parses
                if folder.is_dir() and folder.name != path.parent.name:
                    shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            return
    keep_pickle(path, sop)
