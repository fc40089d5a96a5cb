"""The README tells the truth about the settings."""

from __future__ import annotations

import pytest
from conftest import ROOT

from feedsvc.config import SETTINGS

README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented(setting):
    assert f"`FEEDSVC_{setting.name}`" in README
