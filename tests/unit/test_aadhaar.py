"""Aadhaar numbers found and masked in a KYC payload, checked against python-stdnum's Aadhaar module."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from stdnum import verhoeff
from stdnum.in_ import aadhaar as stdnum_aadhaar

from bridge.config.load import ConfigError, load_configuration
from bridge.observe.aadhaar import key_names_aadhaar, looks_like_aadhaar, mask_aadhaar, redact_aadhaar
from bridge.sources.redaction import aadhaar_masked
from tests.conftest import TEST_CONFIG, write_config
from transforms import REGISTRY, digio

VALID = "234123412346"  # stdnum's own example: a valid Aadhaar number
WRONG_CHECK = "234123412347"


def with_check_digit(first_eleven: str) -> str:
    """Return eleven digits and their Verhoeff check digit (stdnum computes it)."""
    return first_eleven + verhoeff.calc_check_digit(first_eleven)


def test_the_shape_agrees_with_stdnum_on_random_numbers() -> None:
    """Every 12-digit number: ours says Aadhaar exactly where stdnum's validator does."""
    pick = random.Random(20261207)
    numbers = [str(pick.randrange(10**11, 10**12)) for _ in range(20000)]
    numbers += [with_check_digit(str(pick.randrange(10**10, 10**11))) for _ in range(5000)]
    disagree = [n for n in numbers if looks_like_aadhaar(n) != stdnum_aadhaar.is_valid(n)]
    assert disagree == []
    assert sum(map(looks_like_aadhaar, numbers)) > 5000  # the checked ones are mostly valid


def test_masking_keeps_the_last_four_and_the_separators_as_meity_shows_them() -> None:
    """Spaced, it reads as stdnum's mask; dashed or run together, the separators stay as written."""
    assert mask_aadhaar("2341 2341 2346") == stdnum_aadhaar.mask(VALID) == "XXXX XXXX 2346"
    assert mask_aadhaar("2341-2341-2346") == "XXXX-XXXX-2346"
    assert mask_aadhaar(VALID) == "XXXXXXXX2346"


@pytest.mark.parametrize(
    ("key", "names"),
    [
        ("aadhaar", True),
        ("aadhaar_number", True),
        ("maskedAadhaar", True),
        ("AadharNo", True),
        ("uid", True),
        ("UID", True),
        ("uidNumber", True),
        ("uidai", True),
        ("guid", False),
        ("fluid", False),
        ("rrn", False),
        ("request_id", False),
    ],
)
def test_a_key_names_the_number_by_a_word_of_it(key: str, names: bool) -> None:
    """aadhaar/aadhar/uid/uidai as a word of the key, in any case or joining: nothing else."""
    assert key_names_aadhaar(key) is names


def test_anywhere_a_standalone_number_with_its_check_digit_is_masked() -> None:
    """In free text, grouped or not, and as a JSON number; the count says how many."""
    payload = {
        "remarks": f"Aadhaar {VALID} verified; card 2341 2341 2346",
        "document": {"number": int(VALID)},
        "list": [f"id {VALID}"],
    }
    masked, found = redact_aadhaar(payload)
    assert found == 4
    assert masked == {
        "remarks": "Aadhaar XXXXXXXX2346 verified; card XXXX XXXX 2346",
        "document": {"number": "XXXXXXXX2346"},
        "list": ["id XXXXXXXX2346"],
    }


def test_what_only_looks_like_one_is_left_alone_outside_a_naming_key() -> None:
    """A wrong check digit, 0 or 1 first, part of a longer id, an amount, a +91 phone: untouched."""
    phone_shaped = with_check_digit("91987654321")  # 91 + a mobile, its last digit making the check hold
    assert looks_like_aadhaar(phone_shaped)
    untouched = {
        "rrn": WRONG_CHECK,
        "starts_with_one": with_check_digit("12341234123"),
        "id": f"pay_{VALID}",
        "amount": f"{VALID}.50",
        "suffixed": f"{VALID}-2",
        "longer": f"9{VALID}",
        "phone": f"+91{VALID[:10]}",
        "mobile_with_91": phone_shaped,  # passes the check, but reads as 91 + an Indian mobile
        "flag": True,
        "missing": None,
    }
    assert redact_aadhaar(untouched) == (untouched, 0)


def test_under_a_naming_key_any_twelve_digits_are_masked_but_not_part_of_a_longer_number() -> None:
    """The key says what it is: checksum and shape are not asked; a 16-digit user id stays."""
    payload = {
        "kyc": {"aadhaar_number": WRONG_CHECK, "uid": ["1234 5678 9012"], "maskedAadhaar": "XXXXXXXX2346"},
        "userUid": "1234567890123456",
    }
    masked, found = redact_aadhaar(payload)
    assert found == 2
    assert masked["kyc"] == {
        "aadhaar_number": "XXXXXXXX2347",
        "uid": ["XXXX XXXX 9012"],
        "maskedAadhaar": "XXXXXXXX2346",
    }
    assert masked["userUid"] == "1234567890123456"


def test_a_body_without_one_is_kept_byte_for_byte_and_one_with_is_rewritten_as_json() -> None:
    """The stored body changes only where a number was masked; parsed again it is the masked payload."""
    untouched = b'{ "id": "KID1",  "amount": 250050 }'
    payload = json.loads(untouched)
    assert aadhaar_masked(untouched, payload) == (untouched, payload)
    body = json.dumps({"id": "KID2", "name": "Asha Rao", "aadhaar": VALID}).encode()
    stored, masked = aadhaar_masked(body, json.loads(body))
    assert json.loads(stored) == masked == {"id": "KID2", "name": "Asha Rao", "aadhaar": "XXXXXXXX2346"}
    assert VALID.encode() not in stored


def test_a_source_turns_it_on_or_off_and_only_a_json_kind_may_have_it(tmp_path: Path) -> None:
    """redact_aadhaar overrides the kind's default in the configured kind; on a form kind it is refused."""
    razorpay_on = 'owner_email = "payments@example.com"\nredact_aadhaar = true\n'
    config = TEST_CONFIG.replace('owner_email = "payments@example.com"\n', razorpay_on, 1) + DIGIO_OFF
    loaded = load_configuration(write_config(tmp_path, config), ENVIRON, REGISTRY)
    assert loaded.kinds["razorpay"].redact_aadhaar is True and loaded.kinds["digio"].redact_aadhaar is False
    assert digio.SOURCE.redact_aadhaar is True  # the KYC kind's own default
    with pytest.raises(ConfigError) as caught:
        load_configuration(write_config(tmp_path, config + PAYU_WITH_IT), ENVIRON, REGISTRY)
    assert (
        "sources.payu.redact_aadhaar: the payu kind's body is application/x-www-form-urlencoded, and only "
        "a JSON body is stored with Aadhaar numbers masked; remove the key"
    ) in str(caught.value)


DIGIO_OFF = """
[sources.digio]
kind = "digio"
secret_env = "DIGIO_WEBHOOK_SECRET"
opportunity_id_path = "payload.KYC_REQUEST.reference_id"
owner_email = "kyc@example.com"
redact_aadhaar = false
"""
PAYU_WITH_IT = """
[sources.payu]
kind = "payu"
secret_env = "PAYU_SALT"
opportunity_id_path = "udf1"
owner_email = "payments@example.com"
redact_aadhaar = true
"""
ENVIRON = {"RAZORPAY_WEBHOOK_SECRET": "s", "DIGIO_WEBHOOK_SECRET": "d", "PAYU_SALT": "p"}
