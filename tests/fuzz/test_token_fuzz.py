"""Fuzzing trigger tokens: ``check_token`` and ``profiler-kit token``.

Whatever arrives in the trigger header gets a TokenCheck verdict, never an
exception, and only the genuine token, under the right secret and before its
expiry, is VALID.
"""

from __future__ import annotations

import math

import fuzzkit
from fuzzkit import check_cli, fuzz_settings, invoke, signed_token
from hypothesis import event, example, given
from hypothesis import strategies as st

from profiler_kit.web.tokens import (
    MAX_TOKEN_LENGTH,
    MAX_TTL_S,
    TokenCheck,
    check_token,
    make_token,
)

NOW = 1_700_000_000.0
secrets = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
any_text = st.text(st.characters(), max_size=300)  # every code point, lone surrogates included
unicode_digits = st.text(st.characters(categories=("Nd", "No")), min_size=1, max_size=8)
latin1_text = st.binary(max_size=300).map(lambda b: b.decode("latin-1"))  # as WSGI/ASGI decode


def verdict(secret: str, token: str, now: float = NOW) -> TokenCheck | None:
    """check_token's verdict, or None after counting a known bug."""
    try:
        answer = check_token(secret, token, now=now)
    except Exception as error:
        fuzzkit.tolerate(error, candidates=["check_token"])
        return None
    assert isinstance(answer, TokenCheck)
    event(f"verdict: {answer.value}")
    return answer


@given(secret=secrets, token=st.one_of(any_text, latin1_text, st.text(max_size=300)))
@example(secret="s", token="pk1." * 64)
@example(secret="s", token="pk1.1.2.3")
@example(secret="s", token="pk1.\u00b2.nonce.sig")
@fuzz_settings(weight=5.0)
def test_arbitrary_text_gets_a_verdict(secret: str, token: str) -> None:
    answer = verdict(secret, token)
    assert answer is not TokenCheck.VALID


@st.composite
def structured_tokens(draw: st.DrawFn) -> str:
    """pk1.<expiry>.<nonce>.<signature> with each part fuzzed on its own."""
    part = st.one_of(
        st.text(st.characters(), max_size=30),  # lone surrogates included
        st.integers(-(10**30), 10**30).map(str),
        unicode_digits,
        st.just(""),
    )
    prefix = draw(st.sampled_from(["pk1", "PK1", "pk2", "", "pk1 "]) | st.text(max_size=4))
    pieces = [prefix, draw(part), draw(part), draw(part)]
    pieces += draw(st.lists(part, max_size=2))
    return ".".join(pieces)


@given(secret=secrets, token=structured_tokens())
@fuzz_settings(weight=3.0)
def test_structured_junk_is_never_valid(secret: str, token: str) -> None:
    assert verdict(secret, token) is not TokenCheck.VALID


@given(
    secret=secrets,
    ttl=st.floats(1, MAX_TTL_S),
    replacement=st.characters(),
    data=st.data(),
)
@fuzz_settings(weight=2.0)
def test_every_single_character_change_breaks_a_valid_token(
    secret: str, ttl: float, replacement: str, data: st.DataObject
) -> None:
    """Change, delete or insert one character at any position: never VALID."""
    token = make_token(secret, ttl, now=NOW)
    assert check_token(secret, token, now=NOW) is TokenCheck.VALID
    assert check_token(secret, token, now=NOW + ttl + 1) is TokenCheck.EXPIRED
    position = data.draw(st.integers(0, len(token) - 1), label="position")
    edit = data.draw(st.sampled_from(["replace", "delete", "insert"]), label="edit")
    if edit == "replace":
        if replacement == token[position]:
            return
        changed = token[:position] + replacement + token[position + 1 :]
    elif edit == "delete":
        changed = token[:position] + token[position + 1 :]
    else:
        changed = token[:position] + replacement + token[position:]
    answer = verdict(secret, changed)
    if answer is TokenCheck.VALID:
        # Base64 without padding: the last character carries 2 spare bits, so a few
        # changes of it decode to the same signature. Only that is acceptable.
        signature = changed.rsplit(".", 1)[-1]
        assert edit == "replace" and position == len(token) - 1, (token, changed)
        assert signature[:-1] == token.rsplit(".", 1)[-1][:-1]
        event("same signature bits (base64 padding)")


@given(secret=secrets, ttl=st.floats(1, MAX_TTL_S), other=secrets, skew=st.floats(0, 10**6))
@fuzz_settings(weight=1.0)
def test_only_the_right_secret_before_expiry_is_valid(
    secret: str, ttl: float, other: str, skew: float
) -> None:
    token = make_token(secret, ttl, now=NOW)
    expiry = math.ceil(NOW + ttl)
    assert check_token(secret, token, now=NOW + min(skew, ttl - 1)) is TokenCheck.VALID
    assert check_token(secret, token, now=expiry + 1 + skew) is TokenCheck.EXPIRED
    if other != secret:
        assert check_token(other, token, now=NOW) is TokenCheck.FORGED


@given(secret=secrets, length=st.integers(MAX_TOKEN_LENGTH + 1, 1_000_000), char=st.characters())
@fuzz_settings(weight=0.25)
def test_very_long_input_is_malformed_at_once(secret: str, length: int, char: str) -> None:
    with fuzzkit.hard_timeout(5, "check_token on a long input"):
        assert check_token(secret, char * length, now=NOW) is TokenCheck.MALFORMED


@given(
    secret=secrets,
    message=st.tuples(
        st.one_of(unicode_digits, st.integers(0, 10**12).map(str), st.text(max_size=12)),
        st.text(max_size=12),
    ).map(lambda parts: f"pk1.{parts[0]}.{parts[1]}"),
)
@fuzz_settings(weight=1.0)
def test_signed_but_odd_tokens_get_a_verdict(secret: str, message: str) -> None:
    """A correctly signed token with odd parts (only the secret's holder can make one)."""
    verdict(secret, signed_token(secret, message))


@given(
    ttl=st.one_of(
        st.sampled_from(["90", "90s", "10m", "2h", "1d", "0", "-5m", "nan", "inf", "1e308d", ""]),
        st.text(max_size=12),
        st.floats().map(str),
        st.tuples(st.floats(), st.sampled_from(["", "s", "m", "h", "d"])).map(
            lambda t: f"{t[0]}{t[1]}"
        ),
    ),
    secret=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30),
)
@fuzz_settings(weight=1.0)
def test_token_command(ttl: str, secret: str) -> None:
    """``profiler-kit token``: a VALID token, or exit 2 with a message; never a traceback."""
    args = ["token", "--ttl", ttl, "--secret", secret]
    result = invoke(args)
    outcome = check_cli(result, args, candidates=["token-ttl"])
    event(f"token: {outcome}")
    if outcome == 0:
        token = result.stdout.strip()
        assert secret, "a token without a secret"
        # Every printed token works: TTLs are bounded (no over-long tokens) and
        # rounded up (a sub-second TTL is not expired when printed).
        assert check_token(secret, token) is TokenCheck.VALID, (ttl, token)
    elif outcome == 2:
        assert "--ttl" in result.stderr or "secret" in result.stderr, result.stderr
