"""What was given (files, folders, zips) → the documents to import, format by format.

`--format auto` looks at each path: a zip is opened safely and its content looked at;
a folder with `posts.csv` is Substack, one with Medium's `posts/*.html` is Medium;
otherwise each file by itself: a WordPress `.xml`, a Ghost `.json`, or a Markdown
document (front matter or a page copied from a browser)."""

import hashlib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

from . import ghost, medium, substack, wxr
from .archive import archive_extract
from .base import DocumentError, ImportItem
from .document import parse_document

# Beside the documents of an export: media and data, never documents themselves.
SKIPPED_SUFFIXES = {
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".ico", ".pdf", ".mp3", ".mp4",
    ".mov", ".zip", ".css", ".js", ".woff", ".woff2", ".ttf", ".csv", ".xml", ".json",
}  # fmt: skip
SKIPPED_FOLDERS = {"wp-content", "uploads", "images", "img", "assets", "static", "media"}


@dataclass
class Failure:
    """A path refused whole (missing, a bad archive, malformed XML…)."""

    name: str
    message: str


def markdown_item(path: Path, *, key: str, name: str) -> ImportItem | Failure:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Failure(name, _("Lecture impossible : %(error)s") % {"error": exc.strerror})
    return ImportItem(
        name=name,
        key=key,
        digest=hashlib.sha256(raw).hexdigest(),
        parse=lambda: parse_document(raw, name=str(path)),
    )


def _shown(key: str, path: Path) -> str:
    return key[4:] if key.startswith("zip:") else str(path)


def _documents(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not p.name.startswith(".")
        and p.suffix.lower() not in SKIPPED_SUFFIXES
        and not SKIPPED_FOLDERS & {part.lower() for part in p.relative_to(folder).parts[:-1]}
    )


def _guarded(items: Iterator, name: str) -> Iterator:
    """A format reader that fails half-way (malformed XML at the end) yields a Failure."""
    try:
        yield from items
    except DocumentError as exc:
        yield Failure(name, str(exc))


def _file(path: Path, fmt: str, key_of: Callable[[Path], str], shown: str, notes: list[str]):
    suffix = path.suffix.lower()
    if fmt == "wxr" or (fmt == "auto" and suffix == ".xml"):
        if fmt == "auto" and not wxr.is_wxr(path):
            return [
                Failure(
                    shown, _("Fichier XML non reconnu : ce n’est pas un export WordPress (WXR).")
                )
            ]
        return _guarded(wxr.iter_items(path, notes=notes), shown)
    if fmt == "ghost" or (fmt == "auto" and suffix == ".json"):
        return _guarded(ghost.iter_items(path, notes=notes), shown)
    return [markdown_item(path, key=key_of(path), name=shown)]


def sources_items(
    *, paths: list, fmt: str, workdir: Path, key_of: Callable[[Path], str], notes: list[str]
) -> Iterator[ImportItem | Failure]:
    """Every document of every path, lazily (a big export is never held in memory)."""
    for index, item in enumerate(paths):
        path = Path(item)
        if not path.exists():
            yield Failure(str(item), _("chemin introuvable"))
            continue
        if path.is_file() and (
            path.suffix.lower() == ".zip"
            or (
                fmt != "markdown"
                and zipfile.is_zipfile(path)
                and path.suffix.lower() not in (".xml", ".json", ".md", ".txt")
            )
        ):
            try:
                folder = archive_extract(path=path, into=workdir / f"archive-{index}")
            except DocumentError as exc:
                yield Failure(str(item), str(exc))
                continue

            def in_zip(p: Path, folder=folder, name=path.name) -> str:
                return f"zip:{name}/{p.relative_to(folder).as_posix()}"

            yield from _folder(folder, fmt, in_zip, notes, label=path.name)
        elif path.is_dir():
            yield from _folder(path, fmt, key_of, notes, label=str(item))
        else:
            yield from _file(path, fmt, key_of, str(item), notes)


def _folder(folder: Path, fmt: str, key_of, notes: list[str], *, label: str):
    # An export zip often holds one folder with everything inside.
    entries = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(entries) == 1 and entries[0].is_dir():
        folder = entries[0]
    if fmt == "substack" or (fmt == "auto" and substack.is_substack(folder)):
        yield from _guarded(substack.iter_items(folder, notes=notes), label)
        return
    if fmt == "medium" or (fmt == "auto" and medium.is_medium(folder)):
        yield from _guarded(medium.iter_items(folder, notes=notes), label)
        return
    exports = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".xml", ".json"))
    for path in exports:
        if fmt in ("auto", "wxr") and path.suffix.lower() == ".xml" and wxr.is_wxr(path):
            yield from _guarded(wxr.iter_items(path, notes=notes), f"{label}/{path.name}")
        elif fmt in ("auto", "ghost") and path.suffix.lower() == ".json" and ghost.is_ghost(path):
            yield from _guarded(ghost.iter_items(path, notes=notes), f"{label}/{path.name}")
        elif fmt == "auto" and path.suffix.lower() == ".xml":
            yield Failure(
                f"{label}/{path.name}",
                _("Fichier XML non reconnu : ce n’est pas un export WordPress (WXR)."),
            )
    if fmt in ("auto", "markdown"):
        for path in _documents(folder):
            yield markdown_item(
                path, key=key_of(path), name=str(path) if key_of is not None else path.name
            )


def sources_count(paths: list) -> int | None:
    """How many documents, when it is known without reading the exports (else None)."""
    total = 0
    for item in paths:
        path = Path(item)
        if path.is_dir():
            if substack.is_substack(path) or medium.is_medium(path):
                return None
            if any(p.suffix.lower() in (".xml", ".json") for p in path.rglob("*")):
                return None
            total += len(_documents(path))
        elif path.suffix.lower() in (".xml", ".json", ".zip"):
            return None
        else:
            total += 1
    return total
