"""MkDocs hook: Sphinx cross-reference roles in docstrings shown as plain code.

mmfa's docstrings name other objects the Sphinx way (:class:`~mmfa.fusion.base.Fusion`), which
Markdown renders as the role text followed by code. This hook keeps only the code, shortened as
Sphinx would for a leading ``~`` (``Fusion``), so the API pages read as the source intends.
"""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(
    r":(?:py:)?(?:class|meth|func|mod|attr|data|exc|obj|const):<code>(~?)([^<]*)</code>"
)


def _code(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"<code>{target.rsplit('.', 1)[-1] if tilde else target}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    """Replace ``:role:<code>target</code>`` by ``<code>target</code>`` in a built page."""
    return ROLE.sub(_code, html)
