"""The digest as files people can open or forward: an HTML page and a Markdown note.

HTML goes through Jinja2 with autoescaping, so listing text cannot inject markup or script;
Markdown escapes its punctuation and HTML's `<`, `&` and `>`, since Markdown passes HTML through.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from property_pipeline.notify.blocks import listing_urls, money, percent, safe_url, source_name

Row = Mapping[str, Any]

HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Property digest {{ day_label }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 0.4rem; text-align: left; vertical-align: top; }
.flags { color: #a33; }
</style>
</head>
<body>
<h1>Property digest {{ day_label }}</h1>
{% for section in sections %}
<h2>{{ section.title }} ({{ section.entries | length }})</h2>
{% if section.entries %}
<table>
<thead><tr><th>#</th><th>Deal</th><th>Score</th><th>Price</th><th>Value</th><th>Discount</th>
<th>Why</th><th>Red flags</th><th>Listings</th></tr></thead>
<tbody>
{% for entry in section.entries %}
<tr>
<td>{{ entry.rank }}</td>
<td>{{ entry.headline }}<br><small>{{ entry.address }}{% if entry.agent %}
 &middot; {{ entry.agent }}{% endif %}</small></td>
<td>{{ entry.score }}</td>
<td>{{ entry.price }}</td>
<td>{{ entry.value }}</td>
<td>{{ entry.discount }}</td>
<td><ul>{% for reason in entry.reasons %}<li>{{ reason }}</li>{% endfor %}</ul></td>
<td class="flags"><ul>{% for flag in entry.flags %}<li>{{ flag }}</li>{% endfor %}</ul></td>
<td>{% for link in entry.links %}
<a href="{{ link.url }}" rel="noopener noreferrer">{{ link.name }}</a>
{% endfor %}</td>
</tr>
{% endfor %}
</tbody>
</table>
{% else %}
<p>{{ section.empty }}</p>
{% endif %}
{% endfor %}
</body>
</html>
"""

_ENVIRONMENT = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def markdown_escape(text: object) -> str:
    """Text that Markdown shows as written: HTML characters as entities, punctuation escaped."""
    html_safe = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html_safe).replace("\n", " ")


def digest_sections(good: Sequence[Row], watchlist: Sequence[Row], monday: bool) -> list[dict]:
    """The digest's sections as display values: good deals, then (Mondays) the watchlist."""
    sections = [
        {
            "title": "Good deals (70-84)",
            "entries": [_entry(rank, row) for rank, row in enumerate(good, 1)],
            "empty": "No new good deals today.",
        }
    ]
    if monday:
        sections.append(
            {
                "title": "Last week's watchlist (60-69)",
                "entries": [_entry(rank, row) for rank, row in enumerate(watchlist, 1)],
                "empty": "Nothing on the watchlist last week.",
            }
        )
    return sections


def render_html(day: dt.date, sections: list[dict]) -> str:
    """The digest as an HTML page; every listing value is escaped by Jinja2's autoescape."""
    template = _ENVIRONMENT.from_string(HTML_TEMPLATE)
    return template.render(day_label=f"{day:%A %d %B %Y}", sections=sections)


def render_markdown(day: dt.date, sections: list[dict]) -> str:
    """The digest as Markdown, one bullet per deal with its links."""
    lines = [f"# Property digest {day:%A %d %B %Y}", ""]
    for section in sections:
        lines += [f"## {section['title']} ({len(section['entries'])})", ""]
        if not section["entries"]:
            lines += [section["empty"], ""]
        for entry in section["entries"]:
            lines.append(
                f"{entry['rank']}\\. **{markdown_escape(entry['headline'])}**:"
                f" score {entry['score']}, {markdown_escape(entry['price'])},"
                f" value {markdown_escape(entry['value'])} ({markdown_escape(entry['discount'])}"
                " below)"
            )
            if entry["address"]:
                lines.append(f"   - {markdown_escape(entry['address'])}")
            for reason in entry["reasons"]:
                lines.append(f"   - {markdown_escape(reason)}")
            for flag in entry["flags"]:
                lines.append(f"   - Red flag: {markdown_escape(flag)}")
            links = ", ".join(
                f"[{markdown_escape(link['name'])}](<{link['url']}>)" for link in entry["links"]
            )
            lines += [f"   - {links}" if links else "   - no link", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_digest_files(folder: Path, day: dt.date, html: str, markdown: str) -> tuple[Path, Path]:
    """Write `<folder>/<date>.html` and `.md`, each replaced whole (written aside, then moved)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = (folder / f"{day.isoformat()}.html", folder / f"{day.isoformat()}.md")
    for path, content in zip(paths, (html, markdown), strict=True):
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_text(content, encoding="utf-8")
        partial.replace(path)
    return paths


def _entry(rank: int, row: Row) -> dict[str, Any]:
    links = []
    for url in listing_urls(row):
        target = safe_url(url)
        if target is not None:
            links.append({"url": target, "name": source_name(url)})
    return {
        "rank": rank,
        "headline": row["headline"],
        "address": row.get("address") or "",
        "agent": row.get("agent") or "",
        "score": row["score"],
        "price": money(row.get("price")),
        "value": money(row.get("estimated_value")),
        "discount": percent(row.get("discount_to_value")),
        "reasons": list(row.get("top_reasons") or []),
        "flags": list(row.get("red_flags") or []),
        "links": links,
    }
