"""Slack messages as Block Kit: hot deal alerts, the daily digest and failure alerts.

Every value a listing provides (headline, address, agent, reasons, flags) goes through
`mrkdwn_escape`, so `<!channel>` or `<http://evil|click>` in an advert is shown, never obeyed.
Slack's mrkdwn has no escape for `*`, `_`, `~` and backticks: those can only style text, not
link or mention, so they are left as they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

# Slack's limits: header text 150 characters, section text 3,000, a field 2,000, 50 blocks.
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_BLOCKS = 50
# Digest entries shown in the Slack message; the HTML and Markdown files list them all.
DIGEST_SLACK_ENTRIES = 15
SOURCE_NAMES = {
    "rightmove": "Rightmove",
    "zoopla": "Zoopla",
    "allsop": "Allsop",
    "auctionhouse": "Auction House",
}

Row = Mapping[str, Any]


def mrkdwn_escape(text: object) -> str:
    """Text made safe for Slack mrkdwn: `&`, `<` and `>` as entities (Slack's escaping rules)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_url(url: str) -> str | None:
    """An http(s) URL with the characters that would end a Slack link percent-encoded, or None
    for anything else (javascript:, mailto:, relative paths)."""
    if urlsplit(url.strip()).scheme.lower() not in {"http", "https"}:
        return None
    return quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~-._")


def mrkdwn_link(url: str | None, label: str) -> str:
    """`<url|label>` with both parts escaped; the plain escaped label when the URL is unusable."""
    shown = mrkdwn_escape(label).replace("|", "\u00a6")
    target = safe_url(url) if url else None
    if target is None:
        return shown
    return f"<{target.replace('&', '&amp;')}|{shown}>"


def source_name(url: str) -> str:
    """The portal or auction house a listing URL belongs to ("Rightmove"), or its host.

    The sandbox serves each site under a path of its name on one loopback host, so the first
    path segment is read too.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    first_segment = parts.path.strip("/").split("/", 1)[0].lower()
    for marker, name in SOURCE_NAMES.items():
        if marker in host or marker == first_segment:
            return name
    return host or "listing"


def money(value: object) -> str:
    """£450,000, or "unknown"."""
    return f"£{int(value):,}" if isinstance(value, int | float) else "unknown"


def percent(value: object, places: int = 1) -> str:
    """0.196 as "19.6%", or "unknown"."""
    return f"{float(value) * 100:.{places}f}%" if isinstance(value, int | float) else "unknown"


def listing_urls(row: Row) -> list[str]:
    """Every source listing's URL, the main one first, without repeats."""
    urls = [row.get("url"), *(row.get("urls") or [])]
    return list(dict.fromkeys(url for url in urls if url))


def source_links(row: Row) -> str:
    """Links to every source listing, named by portal: "<...|Rightmove> · <...|Zoopla>"."""
    links = [mrkdwn_link(url, source_name(url)) for url in listing_urls(row)]
    return " · ".join(links) if links else "no link"


def bullets(items: Sequence[str] | None, empty: str) -> str:
    """Escaped items, one bullet a line, or `empty`."""
    return "\n".join(f"• {mrkdwn_escape(item)}" for item in items) if items else empty


def hot_deal_text(row: Row) -> str:
    """The plain fallback of a hot deal alert (notifications, screen readers)."""
    return mrkdwn_escape(
        f"Hot deal {row['score']}/100: {row['headline']} - {money(row.get('price'))},"
        f" estimated value {money(row.get('estimated_value'))}"
        f" ({percent(row.get('discount_to_value'))} below)"
    )


def hot_deal_blocks(row: Row) -> list[dict[str, Any]]:
    """A hot deal as Block Kit: headline, price, value and discount, score with its top reasons,
    red flags, what to check first and links to every source listing."""
    facts = {
        "Price": money(row.get("price")),
        "Estimated value": _value_with_confidence(row),
        "Discount to value": percent(row.get("discount_to_value")),
        "Score": f"{row['score']}/100 ({mrkdwn_escape(row.get('band') or 'hot')})",
        "Gross yield": percent(row.get("gross_yield")),
        "Recommendation": mrkdwn_escape(row.get("recommendation") or "-"),
    }
    where = " · ".join(mrkdwn_escape(part) for part in _where(row) if part)
    blocks: list[dict[str, Any]] = [
        _header(f"Hot deal {row['score']}/100: {row['headline']}"),
        _section(where or "address not given"),
        {
            "type": "section",
            "fields": [
                _mrkdwn(f"*{label}*\n{value}", FIELD_LIMIT) for label, value in facts.items()
            ],
        },
        _section("*Why it scores*\n" + bullets(row.get("top_reasons"), "no reasons recorded")),
        _section("*Red flags*\n" + bullets(row.get("red_flags"), "none found")),
    ]
    if row.get("check_first"):
        blocks.append(_section("*Check first*\n" + bullets(row["check_first"], "")))
    blocks.append(_section("*Listings* " + source_links(row)))
    return blocks


def digest_entry(rank: int, row: Row) -> str:
    """One ranked digest line: linked headline, score, price, value, discount, reasons."""
    reasons = "; ".join(mrkdwn_escape(reason) for reason in (row.get("top_reasons") or [])[:3])
    flags = ", ".join(mrkdwn_escape(flag) for flag in row.get("red_flags") or [])
    line = (
        f"*{rank}.* {mrkdwn_link(row.get('url'), str(row['headline']))}\n"
        f"{row['score']}/100 · {money(row.get('price'))}"
        f" · value {money(row.get('estimated_value'))}"
        f" ({percent(row.get('discount_to_value'))} below)"
    )
    line += f"\n{reasons}" if reasons else ""
    line += f"\n:warning: {flags}" if flags else ""
    return line


def digest_text(day: dt.date, good: Sequence[Row], watchlist: Sequence[Row]) -> str:
    """The plain fallback of a digest: how many deals, for which day."""
    text = f"Property digest for {day:%a %d %b %Y}: {len(good)} good deal(s)"
    return text + (f", {len(watchlist)} on last week's watchlist" if watchlist else "")


def digest_blocks(
    day: dt.date, good: Sequence[Row], watchlist: Sequence[Row]
) -> list[dict[str, Any]]:
    """The daily digest as Block Kit: the good deals ranked, then (Mondays) the watchlist."""
    blocks: list[dict[str, Any]] = [_header(f"Property digest, {day:%a %d %b %Y}")]
    blocks.append(_section(f"*Good deals (70-84)*: {len(good) or 'none new today'}"))
    blocks += _entry_sections(good)
    if watchlist:
        blocks.append({"type": "divider"})
        blocks.append(_section(f"*Last week's watchlist (60-69)*: {len(watchlist)}"))
        blocks += _entry_sections(watchlist)
    return blocks[:MAX_BLOCKS]


def failure_blocks(title: str, facts: Mapping[str, str], error: str, link: str) -> list[dict]:
    """A failure alert: what failed (run, job, asset, partition), the error and a link to it."""
    lines = "\n".join(f"*{label}*: {mrkdwn_escape(value)}" for label, value in facts.items())
    return [
        _header(title),
        _section(lines),
        _section("*Error*\n```" + mrkdwn_escape(_clip(error, SECTION_LIMIT - 100)) + "```"),
        _section(mrkdwn_link(link, "Open the run in Dagster")),
    ]


def _entry_sections(rows: Sequence[Row]) -> list[dict[str, Any]]:
    shown = [digest_entry(rank, row) for rank, row in enumerate(rows, 1)]
    sections = [_section(entry) for entry in shown[:DIGEST_SLACK_ENTRIES]]
    if len(shown) > DIGEST_SLACK_ENTRIES:
        more = len(shown) - DIGEST_SLACK_ENTRIES
        sections.append(_context(f"and {more} more in the digest file"))
    return sections


def _value_with_confidence(row: Row) -> str:
    value = money(row.get("estimated_value"))
    confidence = row.get("value_confidence")
    return f"{value} ({percent(confidence, 0)} confident)" if confidence is not None else value


def _where(row: Row) -> list[str]:
    agent = row.get("agent")
    return [row.get("address") or row.get("postcode") or "", f"Agent: {agent}" if agent else ""]


def _header(text: str) -> dict[str, Any]:
    # Header blocks are plain_text, which Slack never parses for links or mentions.
    return {"type": "header", "text": {"type": "plain_text", "text": _clip(text, HEADER_LIMIT)}}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text, SECTION_LIMIT)}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text, SECTION_LIMIT)]}


def _mrkdwn(text: str, limit: int) -> dict[str, Any]:
    # verbatim: Slack does not auto-link bare URLs, channel names or @names in listing text.
    return {"type": "mrkdwn", "text": _clip(text, limit), "verbatim": True}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
