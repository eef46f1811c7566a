"""Trigger tokens: only the holder of the secret can make one, and only until it expires.

Whatever a client puts in the trigger header must end in a verdict, never an
exception: the header is read on the request path of the profiled app.
"""

from __future__ import annotations

import hmac
import math

import pytest

from profiler_kit.web import tokens
from profiler_kit.web.tokens import (
    MAX_TOKEN_LENGTH,
    MAX_TTL_S,
    TokenCheck,
    check_token,
    make_token,
    parse_duration,
)

NOW = 1_700_000_000.0
SECRET = "correct horse battery staple"


def _token(ttl_s: float = 600.0, secret: str = SECRET) -> str:
    return make_token(secret, ttl_s, now=NOW)


def _with_part(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


# -- making and checking -------------------------------------------------------


def test_a_fresh_token_is_valid_under_its_secret() -> None:
    assert check_token(SECRET, _token(), now=NOW) is TokenCheck.VALID


def test_a_token_has_four_dotted_parts_and_its_expiry_in_whole_seconds() -> None:
    prefix, expiry, nonce, signature = make_token(SECRET, 90.25, now=NOW).split(".")
    assert prefix == "pk1"
    assert int(expiry) == math.ceil(NOW + 90.25)
    assert nonce and signature


def test_two_tokens_made_at_once_differ() -> None:
    """A nonce in every token: one leaked token says nothing about the next one."""
    assert _token() != _token()


def test_a_token_checked_under_another_secret_is_forged() -> None:
    assert check_token("another secret", _token(), now=NOW) is TokenCheck.FORGED


def test_a_token_is_valid_up_to_its_expiry_and_expired_after() -> None:
    token = _token(ttl_s=60)
    assert check_token(SECRET, token, now=NOW + 60) is TokenCheck.VALID
    assert check_token(SECRET, token, now=NOW + 60.5) is TokenCheck.EXPIRED
    assert check_token(SECRET, token, now=NOW + 86_400) is TokenCheck.EXPIRED


def test_a_sub_second_ttl_gives_a_token_that_works_at_once() -> None:
    token = make_token(SECRET, 0.2, now=NOW + 0.9)
    assert check_token(SECRET, token, now=NOW + 0.9) is TokenCheck.VALID


def test_checking_without_now_uses_the_current_time() -> None:
    assert check_token(SECRET, make_token(SECRET, 60)) is TokenCheck.VALID
    assert check_token(SECRET, make_token(SECRET, 60, now=NOW)) is TokenCheck.EXPIRED


def test_an_expired_token_with_a_wrong_signature_is_forged_not_expired() -> None:
    """The signature is judged first: the verdict never confirms a guessed expiry."""
    token = _token(ttl_s=60)
    assert check_token("another secret", token, now=NOW + 3600) is TokenCheck.FORGED


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real_compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", spy)
    token = _token()
    assert check_token(SECRET, token, now=NOW) is TokenCheck.VALID
    assert check_token("another secret", token, now=NOW) is TokenCheck.FORGED
    assert len(compared) == 2
    assert compared[0][1] == token.rsplit(".", 1)[1].encode()


# -- tampering -------------------------------------------------------------------


def test_a_token_with_a_later_expiry_written_in_is_forged() -> None:
    token = _token(ttl_s=60)
    stretched = _with_part(token, 1, str(int(token.split(".")[1]) + 86_400))
    assert check_token(SECRET, stretched, now=NOW + 3600) is TokenCheck.FORGED


def test_a_token_with_another_nonce_is_forged() -> None:
    assert check_token(SECRET, _with_part(_token(), 2, "AAAAAAAAAAAA"), now=NOW) is (
        TokenCheck.FORGED
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda s: ("B" if s[0] != "B" else "C") + s[1:],  # one character changed
        lambda s: s[:-1],  # truncated
        lambda s: s + "A",  # extended
        lambda s: "",  # dropped
    ],
    ids=["changed", "truncated", "extended", "empty"],
)
def test_a_token_with_a_changed_signature_is_forged(change: object) -> None:
    token = _token()
    signature = token.rsplit(".", 1)[1]
    tampered = _with_part(token, 3, change(signature))  # type: ignore[operator]
    assert check_token(SECRET, tampered, now=NOW) is TokenCheck.FORGED


def test_a_signature_taken_from_another_token_is_forged() -> None:
    first, second = _token(), _token()
    spliced = _with_part(first, 3, second.rsplit(".", 1)[1])
    assert check_token(SECRET, spliced, now=NOW) is TokenCheck.FORGED


# -- malformed input -------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "pk1",
        "pk1.1700000600.nonce",  # three parts
        "pk1.1700000600.nonce.sig.extra",  # five parts
        "pk2.1700000600.nonce.sig",  # another format
        "PK1.1700000600.nonce.sig",
        "pk1..nonce.sig",
        "pk1.-1.nonce.sig",
        "pk1.1e9.nonce.sig",
        "pk1. 1700000600.nonce.sig",
        "pk1.\u00b2.nonce.sig",  # a digit to str.isdigit, not to int()
        "pk1.\u0661\u0662.nonce.sig",  # Arabic-Indic digits, which int() would accept
        "pk1.1700000600.\ud800.sig",  # a lone surrogate, which cannot be encoded
        "pk1.1700000600.n\u00f6nce.sig",
        "pk1." + "9" * MAX_TOKEN_LENGTH + ".nonce.sig",  # too long to look at
    ],
)
def test_malformed_tokens_are_refused_without_an_exception(token: str) -> None:
    assert check_token(SECRET, token, now=NOW) is TokenCheck.MALFORMED


def test_a_token_just_over_the_length_limit_is_malformed_even_if_signed() -> None:
    token = _token()
    padded = _with_part(token, 2, token.split(".")[2] + "A" * (MAX_TOKEN_LENGTH - len(token) + 1))
    assert len(padded) == MAX_TOKEN_LENGTH + 1
    assert check_token(SECRET, padded, now=NOW) is TokenCheck.MALFORMED


@pytest.mark.parametrize("signature", ["\ud800", "sig\u00e9", "\x00" * 43])
def test_a_signature_that_is_not_ascii_is_refused_without_an_exception(signature: str) -> None:
    verdict = check_token(SECRET, _with_part(_token(), 3, signature), now=NOW)
    assert verdict is TokenCheck.FORGED


# -- making: refusals ------------------------------------------------------------


def test_no_token_without_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        make_token("", 60, now=NOW)


@pytest.mark.parametrize("ttl_s", [0, -1, MAX_TTL_S + 1, math.inf, -math.inf, math.nan])
def test_no_token_with_a_ttl_out_of_range(ttl_s: float) -> None:
    with pytest.raises(ValueError, match="between"):
        make_token(SECRET, ttl_s, now=NOW)


def test_the_longest_ttl_is_allowed() -> None:
    token = make_token(SECRET, MAX_TTL_S, now=NOW)
    assert check_token(SECRET, token, now=NOW + MAX_TTL_S) is TokenCheck.VALID


# -- durations for the ttl -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("10m", 600.0), ("2h", 7200.0), ("1d", 86_400.0),
     (" 10M ", 600.0), ("1.5h", 5400.0)],
)  # fmt: skip
def test_durations_are_read_in_their_unit(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "abc", "10x", "0", "0s", "-5m", "inf", "nan", "1e400"])
def test_durations_that_are_not_positive_and_finite_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
