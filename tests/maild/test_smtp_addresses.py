"""MAIL and RCPT arguments: maild's fast address parser answers exactly as aiosmtpd's own."""
from __future__ import annotations

from aiosmtpd.smtp import SMTP
from hypothesis import given, settings
from hypothesis import strategies as st

from maild.smtp.protocol import MailSMTP

ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
PIECES = st.sampled_from(["<", ">", "@", ".", " ", "\t", "(", ")", '"', "[", "]", ":", ",", "\\", "ü", "SIZE=10", "BODY=8BITMIME"])
ARGUMENTS = st.lists(st.one_of(PIECES, st.text(ATEXT, min_size=1, max_size=4)), max_size=12).map("".join)
SAMPLES = ["<load@source.test>", "<a@b> SIZE=100", "<a@b>  BODY=8BITMIME SIZE=3", "<>", "<> SIZE=1", " <a@b>",
           "<a.b@c.d>x", "<a@b >", "<\"q\"@b>", "<a@[127.0.0.1]>", "<ü@b>", "<a@b", "<a(c)@b>", "<@x:a@b>",
           "<a@b> (comment) SIZE=1", "<a@b> ", "<a..b@c>", "<a@b.>", "a@b", "", "<"]


def parsers(local_part_limit: int) -> tuple[SMTP, MailSMTP]:
    theirs, ours = SMTP.__new__(SMTP), MailSMTP.__new__(MailSMTP)
    theirs.local_part_limit = ours.local_part_limit = local_part_limit
    return theirs, ours


def outcome(parser: SMTP, argument: str) -> object:
    """The parse, or the kind of error (aiosmtpd's parser raises IndexError on a lone "<")."""
    try:
        return parser._getaddr(argument)
    except Exception as error:  # noqa: BLE001 - the error's type is the outcome compared
        return type(error)


def test_known_arguments_parse_as_aiosmtpd_parses_them() -> None:
    for limit in (0, 3):
        theirs, ours = parsers(limit)
        for argument in SAMPLES:
            assert outcome(ours, argument) == outcome(theirs, argument), argument


@settings(max_examples=400, deadline=None)
@given(ARGUMENTS, st.sampled_from([0, 4]))
def test_any_argument_parses_as_aiosmtpd_parses_it(argument: str, limit: int) -> None:
    theirs, ours = parsers(limit)
    assert outcome(ours, argument) == outcome(theirs, argument)
