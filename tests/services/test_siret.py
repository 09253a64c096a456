"""SIRET checks: length, ASCII digits, the Luhn key and La Poste's exception, with the French messages."""
from __future__ import annotations

import pytest

from app.services.siret import MESSAGE_INVALID, MESSAGE_LENGTH, SiretError, check_siret, is_valid_siret, luhn_ok

CASES = [
    # (typed, expected SIRET or the message)
    ("41234567000019", "41234567000019"),
    ("412 345 670 00019", "41234567000019"),        # spaces as printed on a Kbis
    ("412\u00a0345\u00a0670\u00a000019", "41234567000019"),  # non-breaking spaces pasted from a PDF
    ("77567227200017", "77567227200017"),
    ("41234567000018", MESSAGE_INVALID),             # one digit off: Luhn fails
    ("14123456700001", MESSAGE_INVALID),
    ("35600000049837", "35600000049837"),            # La Poste: digits sum to 45, a multiple of 5 (Luhn fails)
    ("35600000000048", MESSAGE_INVALID),             # La Poste: digits sum to 26
    ("1234567890123", MESSAGE_LENGTH),               # 13 digits
    ("412345670000190", MESSAGE_LENGTH),             # 15 digits
    ("4123456700001A", MESSAGE_LENGTH),
    ("٤١٢٣٤٥٦٧٠٠٠٠١٩", MESSAGE_LENGTH),             # Arabic-Indic digits are not ASCII digits
    ("", MESSAGE_LENGTH),
]


@pytest.mark.parametrize(("typed", "expected"), CASES)
def test_check_siret(typed: str, expected: str) -> None:
    if expected in (MESSAGE_INVALID, MESSAGE_LENGTH):
        with pytest.raises(SiretError) as caught:
            check_siret(typed)
        assert caught.value.message == expected
        assert not is_valid_siret(typed)
    else:
        assert check_siret(typed) == expected
        assert is_valid_siret(typed)


def test_la_poste_exception_is_not_luhn() -> None:
    assert not luhn_ok("35600000049837")  # so only the exception makes it valid
    assert luhn_ok("356000000")           # La Poste's SIREN itself passes Luhn
