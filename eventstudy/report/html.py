"""REPORT.html: the same report as REPORT.md, as one self-contained page.

Rendered from the Markdown (so the two never disagree) with markdown-it-py; the figures are
embedded as data URIs, every heading gets the anchor GitHub would give it (the summary's
links work in both), and a small script makes every table sortable (click a column head; again
to reverse) and filterable (a box above it). Deterministic: no dates, no versions.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping

from markdown_it import MarkdownIt

_IMG = re.compile(r'<img src="([^"]+)"')
_HEADING = re.compile(r"<h([1-3])>(.*?)</h\1>")
_TABLE = re.compile(r"<table>")

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 72rem; margin: 2rem auto;
       padding: 0 1rem; color: #1d2733; }
h1 { font-size: 1.7rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #d8dee4; }
table { border-collapse: collapse; margin: .6rem 0 1.2rem; font-size: 13px; }
th, td { border: 1px solid #d8dee4; padding: .25rem .5rem; vertical-align: top; }
th { background: #f3f5f7; cursor: pointer; user-select: none; position: sticky; top: 0; }
th[aria-sort="ascending"]::after { content: " ▲"; } th[aria-sort="descending"]::after { content: " ▼"; }
tr:nth-child(even) td { background: #fafbfc; }
tr:has(:target) td { background: #fff4c2; }
img { max-width: 100%; height: auto; display: block; margin: .8rem 0; }
input.filter { margin: .4rem 0 0; padding: .2rem .4rem; width: 16rem; font-size: 13px; }
code { background: #f3f5f7; padding: 0 .2rem; border-radius: 3px; }
"""

SCRIPT = """
(function () {
  function value(cell) {
    var t = cell.textContent.trim();
    var n = t.replace(/[−–]/g, "-").replace(/[$,%\\s]|bn/g, "");
    if (n === "-" || t === "–" || t === "") return [2, ""];
    return /^[+-]?\\d*\\.?\\d+(e[+-]?\\d+)?$/i.test(n) ? [0, parseFloat(n)] : [1, t.toLowerCase()];
  }
  function compare(a, b) {
    if (a[0] !== b[0]) return a[0] - b[0];
    return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
  }
  document.querySelectorAll("table").forEach(function (table, k) {
    var body = table.tBodies[0];
    if (!body) return;
    var box = document.createElement("input");
    box.className = "filter"; box.type = "search"; box.placeholder = "filter rows";
    box.setAttribute("aria-label", "filter the rows of table " + (k + 1));
    box.addEventListener("input", function () {
      var q = box.value.toLowerCase();
      Array.prototype.forEach.call(body.rows, function (row) {
        row.hidden = q !== "" && row.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
    table.parentNode.insertBefore(box, table);
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.addEventListener("click", function () {
        var down = th.getAttribute("aria-sort") === "ascending";
        Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var c = compare(value(a.cells[col]), value(b.cells[col]));
          return down ? -c : c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
"""


def slug(text: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as '-'."""
    plain = re.sub(r"<[^>]+>", "", html.unescape(text)).strip().lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", plain))


def html_page(markdown: str, title: str) -> str:
    """The page for ``markdown`` with its figures still links (:func:`with_images` embeds them):
    made while the figures are being drawn."""
    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    body = _HEADING.sub(lambda m: f'<h{m.group(1)} id="{slug(m.group(2))}">{m.group(2)}</h{m.group(1)}>', body)
    body = _TABLE.sub('<table class="sortable">', body)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"{body}<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def with_images(page: str, images: Mapping[str, bytes]) -> str:
    """``page`` (:func:`html_page`) with each figure it links that ``images`` holds embedded."""
    return _IMG.sub(lambda m: f'<img src="{_data_uri(images, m.group(1))}"', page)


def _data_uri(images: Mapping[str, bytes], src: str) -> str:
    src = html.unescape(src)
    if src not in images:
        return html.escape(src)
    return "data:image/png;base64," + base64.b64encode(images[src]).decode("ascii")
