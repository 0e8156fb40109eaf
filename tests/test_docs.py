"""The pages stay true to the code: every cart error code with its status, every variable each
service reads with its default, links that resolve, a README that stays a front door."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from services.cart.errors import HTTP_STATUS, ErrorCode
from services.cart.settings import CartSettings
from services.master_data.settings import MasterDataSettings

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_readme_is_a_front_door() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


def test_every_cart_error_code_is_listed_with_its_status() -> None:
    page = (ROOT / "docs" / "cart.md").read_text()
    for code in ErrorCode:
        assert f"| `{code.value}` | {HTTP_STATUS[code]} |" in page, code


def _section(page: str, heading: str) -> str:
    start = page.index(heading)
    following = page.find("\n### ", start + len(heading))
    return page[start : following if following > 0 else None]


@pytest.mark.parametrize(
    ("settings", "heading"),
    [(MasterDataSettings, "### master-data"), (CartSettings, "### cart")],
    ids=["master-data", "cart"],
)
def test_every_variable_is_in_the_configuration_table(
    settings: type[BaseSettings], heading: str
) -> None:
    section = _section((ROOT / "docs" / "operations.md").read_text(), heading)
    first_cells = [row.split("|")[1] for row in section.splitlines() if row.startswith("| `")]
    for name in settings.model_fields:
        assert any(f"`{name.upper()}`" in cell for cell in first_cells), (heading, name.upper())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    for target in LINK.findall(page.read_text()):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name}: {target}"
