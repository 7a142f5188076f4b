"""Model text reaching Slack: escaped, links only to allowed hosts, cut to Slack's limits; a person's
message read from Slack's markup once, into the text they typed."""

from __future__ import annotations

import pytest

import re

from bot.slack.mrkdwn import cap, from_model, guard, incoming, split, unwrap

ALLOWED = ["wiki.example.com"]


@pytest.mark.parametrize(("model_text", "expected"), [
    ("Hey <!channel> look", "Hey &lt;!channel&gt; look"),
    ("<!here|here> now", "&lt;!here|here&gt; now"),
    ("ping <@U01ALICE>", "ping &lt;@U01ALICE&gt;"),
    ("[click](https://evil.example.net/x)", "click [link removed: evil[.]example[.]net]"),
    ("<https://evil.example.net/x|the wiki>", "the wiki [link removed: evil[.]example[.]net]"),
    ("<https://wiki.example.com/a|the wiki>", "<https://wiki.example.com/a|the wiki>"),
    ("[docs](https://sub.wiki.example.com/b)", "<https://sub.wiki.example.com/b|docs>"),
    ("[x](https://wiki.example.com.evil.net/)", "x [link removed: wiki[.]example[.]com[.]evil[.]net]"),
    ("see https://evil.example/c?e=a&p=b.", "see [link removed: evil[.]example]."),
    ("www.evil.net/x and evil.net/c?q=1, mail zoe@acme.test", "[link removed: www[.]evil[.]net] and "
     "[link removed: evil[.]net], mail zoe@acme.test"),
    ("https://wiki.example.com/a?b=1 stays", "https://wiki.example.com/a?b=1 stays"),
    ("<https://wiki.example.com/a|https://evil.net/b>", "<https://wiki.example.com/a|[link removed: evil[.]net]>"),
    ("[wiki.example.com](https://wiki.exаmple.com/)", "wiki.example.com [link removed: wiki[.]exаmple[.]com]"),
    ("<https://wiki.example.com@evil.net/|wiki>", "wiki [link removed: evil[.]net]"),
    ("a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"),
    ("**bold** and *mrkdwn*", "*bold* and *mrkdwn*"),
    ("## Heading", "*Heading*"),
    ("<javascript:alert(1)|x>", "&lt;javascript:alert(1)|x&gt;"),
])
def test_model_text_is_escaped_and_links_are_filtered(model_text: str, expected: str) -> None:
    assert from_model(model_text, ALLOWED) == expected


def test_a_label_cannot_smuggle_a_control_sequence() -> None:
    out = from_model("[<!channel>](https://wiki.example.com/a)", ALLOWED)
    assert "<!channel>" not in out and out.startswith("<https://wiki.example.com/a|")


def test_no_control_sequences_survive_without_allowed_hosts() -> None:
    out = from_model("<https://wiki.example.com/a|w> <!everyone> <#C1> <@U1|x>", [])
    assert "<" not in out.replace("&lt;", "")


@pytest.mark.parametrize("text", [
    "word " * 2000,
    "x" * 7000,
    ("para one\n\n" + "line\n" * 900),
    "&amp;" * 1500,
    ("<https://wiki.example.com/" + "a" * 100 + "|a long label> ") * 60,
    ("see <https://wiki.example.com/x|label with spaces> " * 100),
])
def test_split_respects_the_limit_and_loses_nothing(text: str) -> None:
    pieces = split(text, 3000)
    assert all(0 < len(p) <= 3000 for p in pieces)
    assert "".join("".join(p.split()) for p in pieces) == "".join(text.split())
    for piece in pieces:  # never cut inside an escape or a link
        assert piece.count("<") == piece.count(">")
        assert not piece.rstrip().endswith(("&", "&amp", "&am", "&a"))


def test_incoming_text_loses_the_mention_and_markup() -> None:
    text = "<@UBOT> mail <mailto:zoe@acme.test|zoe@acme.test> &amp; call <tel:+4930123|+49 30 123>, ask <@U01ALICE>"
    assert incoming(text, "UBOT") == "mail zoe@acme.test & call +49 30 123, ask @U01ALICE"


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("<mailto:a@b.co|a@b.co>", "a@b.co"),
        ("<tel:+4420794609|+44 20 7946 09>", "+44 20 7946 09"),
        ("<https://x.example/p|the page>", "the page (https://x.example/p)"),
        ("<https://x.example/p>", "https://x.example/p"),
        ("<#C123|sales>", "#sales"),
        ("<!here>", "@here"),
    ],
)
def test_unwrap(slack: str, plain: str) -> None:
    assert unwrap(slack) == plain


@pytest.mark.parametrize(("typed", "delivered"), [
    # Slack escapes what a person types in angle brackets; it is text, never markup.
    ("compare a <b> and <x|y>", "compare a &lt;b&gt; and &lt;x|y&gt;"),
    ("if a<b && c>d", "if a&lt;b &amp;&amp; c&gt;d"),
    ("literally &lt;", "literally &amp;lt;"),
])
def test_incoming_text_is_what_the_person_typed(typed: str, delivered: str) -> None:
    assert incoming(delivered, "UBOT") == typed


# The last gate: what any builder produced, as Slack may receive it.
@pytest.mark.parametrize(("text", "expected"), [
    ("Running <!channel>…", "Running &lt;!channel&gt;…"),
    ("<!here> <!subteam^S1|@sales> <!everyone>", "&lt;!here&gt; &lt;!subteam^S1|@sales&gt; &lt;!everyone&gt;"),
    ("<https://evil.example/x?e=1|click>", "&lt;[link removed: evil[.]example]|click&gt;"),
    ("<https://wiki.example.com/a|wiki> <@U01ALICE> <#C0SALES> <!date^1700000000^{date}|2023-11-14>",
     "<https://wiki.example.com/a|wiki> <@U01ALICE> <#C0SALES> <!date^1700000000^{date}|2023-11-14>"),
    ("unclosed <https://wiki.example.com/a|wi", "unclosed &lt;https://wiki.example.com/a|wi"),
    ("a > b", "a &gt; b"),
    ("&lt;https://evil.example/&gt; escaped already", "&lt;[link removed: evil[.]example]&gt; escaped already"),
    ("bare http://evil.example/?e=zoe@acme.test", "bare [link removed: evil[.]example]"),
    ("<mailto:zoe@acme.test|zoe>", "&lt;mailto:zoe@acme.test|zoe&gt;"),
    ("<!date^1700000000^{date}^https://evil.example/x|today>",
     "&lt;!date^1700000000^{date}^[link removed: evil[.]example]|today&gt;"),
])
def test_guard_keeps_only_our_markup(text: str, expected: str) -> None:
    assert guard(text, ALLOWED) == expected
    assert guard(expected, ALLOWED) == expected  # idempotent: guarding twice changes nothing


def test_guard_leaves_no_control_sequence_and_no_foreign_link() -> None:
    hostile = ("<!channel> <https://evil.example/x|y> [a](https://evil.example) https://evil.example/q "
               "<https://wiki.example.com.evil.example/> www.evil.example/p <@U1> <!date^1^x|y>")
    for text in (hostile, from_model(hostile, ALLOWED)):
        out = guard(text, ALLOWED)
        assert "<!" not in out.replace("<!date^", "")
        assert "evil.example" not in out
        assert all(re.match(r"https://wiki\.example\.com/", t) for t in re.findall(r"<(http[^|>]*)", out))


@pytest.mark.parametrize(("length", "limit", "cut"), [(100, 100, False), (101, 100, True), (50_000, 12_000, True)])
def test_cap_cuts_with_a_note(length: int, limit: int, cut: bool) -> None:
    out = cap("x" * length, limit)
    assert (out == "x" * length) is not cut
    if cut:
        assert out.startswith("x" * limit) and out.endswith(f"… the answer was cut at {limit:,} characters")
