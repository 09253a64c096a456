"""Fictitious but well-formed identifiers: SIRET and UAI with their check characters, phone numbers."""
from __future__ import annotations

import random

UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # the 23 check letters of a UAI (no I, O, Q)
# Fictitious numbers reserved by ARCEP for films and books: never a real subscriber.
FICTION_PHONE_PREFIXES = ["019900", "063998"]


def luhn_digit(digits: str) -> str:
    """The check digit that makes `digits` + it pass the Luhn test."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char) * (1 if position % 2 else 2)  # the check digit will take position 0
        total += digit - 9 if digit > 9 else digit
    return str((10 - total % 10) % 10)


def make_siret(rng: random.Random) -> str:
    """A SIRET whose SIREN and whole 14 digits pass the Luhn check (never La Poste's SIREN)."""
    while True:
        body = f"{rng.randrange(10_000_000, 100_000_000):08d}"
        if body != "35600000":
            break
    siren = body + luhn_digit(body)
    nic = f"{rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 30]):04d}"
    return siren + nic + luhn_digit(siren + nic)


def make_uai(rng: random.Random, department: str) -> str:
    """A UAI: 3-character department number, 4 digits and the mod-23 check letter."""
    prefix = {"2A": "620", "2B": "720"}.get(department, department.zfill(3))
    digits = prefix + f"{rng.randrange(10_000):04d}"
    return digits + UAI_LETTERS[int(digits) % 23]


def phone(rng: random.Random) -> str:
    """A fictitious French phone number."""
    return rng.choice(FICTION_PHONE_PREFIXES) + f"{rng.randrange(10_000):04d}"
