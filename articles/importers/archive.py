"""Opening an uploaded zip safely: no path outside the folder, no zip bomb."""

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.utils.translation import gettext as _

from .base import DocumentError


class ArchiveError(DocumentError):
    """The archive is refused whole; the message says why, in French."""


def _limits() -> tuple[int, int, int]:
    return (
        settings.IMPORT_MAX_UNPACKED_BYTES,
        settings.IMPORT_MAX_RATIO,
        settings.IMPORT_MAX_FILES,
    )


def _safe_name(name: str) -> PurePosixPath:
    if "\\" in name or "\x00" in name:
        raise ArchiveError(
            _("Archive refusée : le chemin « %(name)s » est invalide.") % {"name": name[:200]}
        )
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ArchiveError(
            _(
                "Archive refusée : « %(name)s » sortirait du dossier d’import (chemin absolu "
                "ou « ../ »). Rien n’a été importé de cette archive."
            )
            % {"name": name[:200]}
        )
    return path


def archive_check(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The members to extract, after every check (all checks before any byte is written)."""
    max_bytes, max_ratio, max_files = _limits()
    members = archive.infolist()
    if len(members) > max_files:
        raise ArchiveError(
            _("Archive refusée : %(count)s fichiers, au-delà de la limite de %(limit)s.")
            % {"count": len(members), "limit": max_files}
        )
    total = 0
    for info in members:
        _safe_name(info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ArchiveError(
                _("Archive refusée : « %(name)s » est un lien symbolique.")
                % {"name": info.filename[:200]}
            )
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and ratio > max_ratio:
            raise ArchiveError(
                _(
                    "Archive refusée : « %(name)s » se décompresse %(ratio)d fois plus gros "
                    "(bombe de décompression ?)."
                )
                % {"name": info.filename[:200], "ratio": ratio}
            )
    if total > max_bytes:
        raise ArchiveError(
            _("Archive refusée : %(size)s Mo une fois décompressée, au-delà de %(limit)s Mo.")
            % {"size": total // 2**20, "limit": max_bytes // 2**20}
        )
    return members


def archive_extract(*, path: Path, into: Path) -> Path:
    """Extract `path` into the folder `into`, or raise `ArchiveError` (nothing is kept)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive_check(archive)
            max_bytes = _limits()[0]
            written = 0
            for info in members:
                target = into.joinpath(*_safe_name(info.filename).parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                # Sizes in the directory can lie: count what is really written.
                member_written = 0
                with archive.open(info) as source, target.open("wb") as out:
                    while chunk := source.read(1024 * 1024):
                        written += len(chunk)
                        member_written += len(chunk)
                        if written > max_bytes or member_written > info.file_size:
                            raise ArchiveError(
                                _("Archive refusée : son contenu dépasse la taille annoncée.")
                            )
                        out.write(chunk)
    except zipfile.BadZipFile as exc:
        shutil.rmtree(into, ignore_errors=True)
        raise ArchiveError(
            _("Archive illisible : ce n’est pas un fichier zip valide (%(error)s).")
            % {"error": exc}
        ) from exc
    except ArchiveError:
        shutil.rmtree(into, ignore_errors=True)
        raise
    return into
