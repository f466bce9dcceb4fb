"""Block Kit and digest files: every listing value shown as text, never obeyed as markup."""

from __future__ import annotations

import datetime as dt
import json

from property_pipeline.notify import blocks, digest_files
from property_pipeline_tests.notify.conftest import scored_row

HOSTILE = scored_row(
    "evil",
    91,
    headline="<!channel> *bold* <http://evil.example|click> & <script>alert(1)</script>",
    agent="<@U123> Agents & Co",
    address="1 <b>High</b> Street",
    top_reasons=["<!here> 30% below value"],
    red_flags=["Japanese knotweed <http://x|y>"],
    urls=["https://www.zoopla.co.uk/details/1|x>y", "javascript:alert(1)"],
)


def test_mrkdwn_escape_turns_control_characters_into_entities() -> None:
    assert blocks.mrkdwn_escape("<!channel> & <http://evil|click>") == (
        "&lt;!channel&gt; &amp; &lt;http://evil|click&gt;"
    )


def test_link_text_cannot_close_or_split_the_link() -> None:
    link = blocks.mrkdwn_link("https://example.com/a|b>c?x=1&y=2", "Flat | 2 > 1")

    assert link == "<https://example.com/a%7Cb%3Ec?x=1&amp;y=2|Flat \u00a6 2 &gt; 1>"


def test_a_link_that_is_not_http_shows_only_its_escaped_text() -> None:
    assert blocks.mrkdwn_link("javascript:alert(1)", "<click>") == "&lt;click&gt;"


def test_hot_deal_blocks_carry_price_value_discount_score_reasons_flags_and_every_url() -> None:
    row = scored_row("rm-1", 88, check_first=["Check the lease length"])

    shown = json.dumps(blocks.hot_deal_blocks(row), ensure_ascii=False)

    assert blocks.hot_deal_blocks(row)[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Hot deal 88/100: 3 bed terrace rm-1"},
    }
    for expected in [
        "£250,000",
        "£312,500 (70% confident)",
        "20.0%",
        "88/100 (hot)",
        "7.5%",
        "• rm-1 is 20% below value",
        "• Short lease: 80 years",
        "• Check the lease length",
        "<https://www.rightmove.co.uk/properties/rm-1|Rightmove>",
        "<https://www.zoopla.co.uk/for-sale/details/rm-1/|Zoopla>",
        "Agent: Hallmark Homes",
    ]:
        assert expected in shown, expected


def test_hostile_listing_text_is_escaped_in_every_block() -> None:
    mrkdwn = [
        text
        for block in blocks.hot_deal_blocks(HOSTILE)
        for text in [block.get("text", {}), *block.get("fields", [])]
        if text.get("type") == "mrkdwn"
    ]
    shown = "\n".join(text["text"] for text in mrkdwn)

    assert "<!" not in shown and "<@" not in shown and "<http://evil" not in shown
    assert "&lt;@U123&gt; Agents &amp; Co" in shown
    assert "&lt;!here&gt; 30% below value" in shown
    assert "Japanese knotweed &lt;http://x|y&gt;" in shown
    assert "<https://www.zoopla.co.uk/details/1%7Cx%3Ey|Zoopla>" in shown
    assert "javascript" not in shown
    assert all(text["verbatim"] for text in mrkdwn)
    assert blocks.hot_deal_text(HOSTILE).startswith("Hot deal 91/100: &lt;!channel&gt; *bold*")


def test_digest_blocks_rank_the_good_deals_then_the_watchlist() -> None:
    good = [scored_row("a", 80), scored_row("b", 72)]
    watch = [scored_row("c", 65)]

    digest = blocks.digest_blocks(dt.date(2026, 3, 2), good, watch)
    texts = [block.get("text", {}).get("text", "") for block in digest]

    assert texts[0] == "Property digest, Mon 02 Mar 2026"
    assert texts[1] == "*Good deals (70-84)*: 2"
    assert texts[2].startswith("*1.* <https://www.rightmove.co.uk/properties/a|3 bed terrace a>")
    assert texts[3].startswith("*2.* <https://www.rightmove.co.uk/properties/b|3 bed terrace b>")
    assert digest[4] == {"type": "divider"}
    assert texts[5] == "*Last week's watchlist (60-69)*: 1"
    assert "65/100 · £250,000 · value £312,500 (20.0% below)" in texts[6]


def test_failure_blocks_escape_the_error_and_link_the_run() -> None:
    shown = blocks.failure_blocks(
        "Run failed: enrich_job",
        {"Run": "abc", "Partition": "2026-03-02"},
        "ValueError: <!channel>",
        "http://dagster.test:3000/runs/abc",
    )

    assert shown[1]["text"]["text"] == "*Run*: abc\n*Partition*: 2026-03-02"
    assert shown[2]["text"]["text"] == "*Error*\n```ValueError: &lt;!channel&gt;```"
    assert shown[3]["text"]["text"] == "<http://dagster.test:3000/runs/abc|Open the run in Dagster>"


def test_html_digest_escapes_listing_text_and_drops_unsafe_links() -> None:
    sections = digest_files.digest_sections([HOSTILE], [], monday=False)

    html = digest_files.render_html(dt.date(2026, 3, 3), sections)

    assert "<script>" not in html and "<b>High</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "1 &lt;b&gt;High&lt;/b&gt; Street" in html
    assert "&lt;!channel&gt; *bold* &lt;http://evil.example|click&gt; &amp;" in html
    assert 'href="https://www.zoopla.co.uk/details/1%7Cx%3Ey"' in html
    assert "javascript:" not in html


def test_markdown_digest_escapes_markup_and_links_every_listing() -> None:
    sections = digest_files.digest_sections([scored_row("a", 80), HOSTILE], [], monday=True)

    markdown = digest_files.render_markdown(dt.date(2026, 3, 2), sections)

    assert markdown.startswith(
        "# Property digest Monday 02 March 2026\n\n## Good deals (70-84) (2)"
    )
    assert (
        "1\\. **3 bed terrace a**: score 80, £250,000, value £312,500 (20\\.0% below)" in markdown
    )
    assert (
        "[Rightmove](<https://www.rightmove.co.uk/properties/a>), "
        "[Zoopla](<https://www.zoopla.co.uk/for-sale/details/a/>)" in markdown
    )
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in markdown
    assert "\\*bold\\*" in markdown
    assert "<script>" not in markdown and "<!channel>" not in markdown
    assert "## Last week's watchlist (60-69) (0)\n\nNothing on the watchlist last week." in markdown


def test_links_are_named_for_their_site_on_the_real_hosts_and_in_the_sandbox() -> None:
    assert blocks.source_name("https://www.rightmove.co.uk/properties/150000101") == "Rightmove"
    assert blocks.source_name("http://127.0.0.1:8765/zoopla/for-sale/details/7001/") == "Zoopla"
    assert blocks.source_name("http://127.0.0.1:8765/auctionhouse/lot/12") == "Auction House"
    assert blocks.source_name("https://agent.example.com/listing/9") == "agent.example.com"
