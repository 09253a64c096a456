"""SIRET checks: 14 ASCII digits and the Luhn key, with La Poste's exception, French messages."""
from __future__ import annotations

import re

#: La Poste's establishments share one SIREN and do not follow the Luhn key (INSEE's documented exception).
LA_POSTE_SIREN = "356000000"
MESSAGE_LENGTH = "Le numéro SIRET doit comporter 14 chiffres."
MESSAGE_INVALID = "Le numéro siret est invalide."
_DIGITS = re.compile(r"[0-9]{14}")  # ASCII only: str.isdigit() would accept other scripts' digits


class SiretError(ValueError):
    """A SIRET that cannot be right, with the French sentence to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def luhn_ok(digits: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def normalise_siret(text: str) -> str:
    """`text` without the spaces people type inside a SIRET."""
    return re.sub(r"[\s\u00a0\u202f]", "", text or "")


def check_siret(text: str) -> str:
    """The SIRET of `text` (spaces removed), or SiretError with the French message."""
    siret = normalise_siret(text)
    if not _DIGITS.fullmatch(siret):
        raise SiretError(MESSAGE_LENGTH)
    if siret.startswith(LA_POSTE_SIREN):
        if sum(int(c) for c in siret) % 5 != 0:
            raise SiretError(MESSAGE_INVALID)
        return siret
    if not luhn_ok(siret):
        raise SiretError(MESSAGE_INVALID)
    return siret


def is_valid_siret(text: str) -> bool:
    """Whether `text` is a well-formed SIRET."""
    try:
        check_siret(text)
    except SiretError:
        return False
    return True
