"""Jinja2 templates of the console: autoescaped, strict about undefined names.

Views are fragments (the `<main>` of a page) served from `/admin/x/...`; the
shell and the login page are whole documents. A fragment's first element says
its page title (`data-title`), which the shell's script puts in the window's
title when it swaps the fragment in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from queuefirst.admin.fields import as_text

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
BASE = "/admin"
# The operator's CSRF token while a view renders, for the forms' hidden field
# (`macros.csrf`). Rendered into the template where the form is, never
# substituted into the page afterwards, so no data can be mistaken for it.
_CSRF: ContextVar[str] = ContextVar("csrf_token", default="")


@contextmanager
def forms_signed_with(token: str) -> Iterator[None]:
    """Render the forms of the views called in this block with this CSRF token."""
    reset = _CSRF.set(token)
    try:
        yield
    finally:
        _CSRF.reset(reset)


def view(*parts: str, **query: str | None) -> str:
    """A page's address as the browser shows it: `/admin/customers/ann`."""
    path = BASE + "".join("/" + quote(part, safe="") for part in parts)
    kept = {k: v for k, v in query.items() if v not in (None, "")}
    return path + ("?" + urlencode(kept) if kept else "")


def fragment(*parts: str, **query: str | None) -> str:
    """The same page's data, which only an authenticated request reads: `/admin/x/...`."""
    return BASE + "/x" + view(*parts, **query)[len(BASE) :]


def _number(value: Any) -> str:
    if value is None:
        return "\u2013"  # an en dash: nothing known
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals |= {"view": view, "fragment": fragment, "csrf_token": _CSRF.get}
    env.filters |= {"text": as_text, "number": _number, "label": lambda s: str(s).replace("_", " ")}
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
