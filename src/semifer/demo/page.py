"""The demo report: one Markdown document (``report.md``) and the same as ``index.html``.

The report is written as Markdown once; python-markdown renders the HTML page from it, so
the two never disagree. Images are linked by relative path and show in both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import markdown

from semifer.checkpoint import atomic_write_text

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
code { background: #f4f4f4; padding: 0.1em 0.3em; }
"""


@dataclass
class Report:
    """Sections of Markdown text, in order, under one title."""

    title: str
    sections: list[tuple[str, str]] = field(default_factory=list)

    def add(self, heading: str, body: str) -> None:
        self.sections.append((heading, body.strip()))

    def markdown(self) -> str:
        parts = [f"# {self.title}"] + [f"## {heading}\n\n{body}" for heading, body in self.sections]
        return "\n\n".join(parts) + "\n"

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write ``report.md`` and ``index.html`` into ``folder``; returns both paths."""
        text = self.markdown()
        body = markdown.markdown(text, extensions=["tables", "fenced_code"])
        html = (
            f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{self.title}</title>"
            f"<style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n"
        )
        atomic_write_text(folder / "report.md", text)
        atomic_write_text(folder / "index.html", html)
        return folder / "report.md", folder / "index.html"


def image(path: Path, relative_to: Path, caption: str) -> str:
    """A Markdown image line with a path relative to the report folder."""
    return f"![{caption}]({path.relative_to(relative_to).as_posix()})"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table from already formatted cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
