"""Checks of an application's input: the CV (base64, size, type from its bytes) and disposable e-mail domains."""
from __future__ import annotations

import base64
import binascii
import functools
import io
import zipfile
from pathlib import Path
from typing import Any

from app.errors import ApiError

DISPOSABLE_DOMAINS = Path(__file__).resolve().parent.parent / "data" / "disposable_email_domains.txt"
MAX_CV_BYTES = 3 * 1024 * 1024
CV_TYPES = {"pdf": "application/pdf",
            "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def refused(status: int, code: str, message: str, details: Any = None) -> ApiError:
    """The error an application (or a reply to one) is refused with."""
    return ApiError(status, code, message, details)


def decode_base64(text: str) -> bytes:
    """Bytes of base64 `text`, or of a data URL ("data:application/pdf;base64,...")."""
    if text.startswith("data:"):
        header, _, text = text.partition(",")
        if ";base64" not in header:
            raise refused(400, "invalid_cv", "Le CV doit être encodé en base64.")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise refused(400, "invalid_cv", "Le contenu du CV n'est pas du base64 valide.") from None


def sniff(content: bytes) -> str | None:
    """"pdf" or "docx" from the file's bytes (its magic number and, for DOCX, its ZIP parts), else None."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return "docx"
    return None


def check_cv(name: str, content: bytes) -> str:
    """The CV's type when its name, size and bytes agree; a 400/413 naming the problem otherwise."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in CV_TYPES:
        raise refused(400, "unsupported_cv_type", "Le CV doit être un fichier PDF ou DOCX.")
    if len(content) > MAX_CV_BYTES:
        raise refused(413, "cv_too_large", "Le CV dépasse la taille maximale de 3 Mo.")
    detected = sniff(content)
    if detected != extension:
        raise refused(400, "unsupported_cv_type",
                      "Le contenu du fichier ne correspond pas à un " + extension.upper() + " : seuls les PDF et "
                      "DOCX sont acceptés.")
    return detected


@functools.lru_cache(maxsize=1)
def disposable_domains(path: str = str(DISPOSABLE_DOMAINS)) -> frozenset[str]:
    """The refused domains of the data file."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def is_disposable(email: str) -> bool:
    """Whether `email` is at a disposable domain or one of its subdomains."""
    domain = email.rsplit("@", 1)[-1].lower().strip(".")
    parts = domain.split(".")
    return any(".".join(parts[i:]) in disposable_domains() for i in range(len(parts) - 1))
