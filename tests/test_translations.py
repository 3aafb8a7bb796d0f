"""Every interface string has a French translation, and the compiled catalog is the one served."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.utils import translation

from tests.fixtures import require_service

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
# What makemessages reads: the project's own code and templates, never tests, tools or packages.
IGNORED = [".venv", "tests", "bench", "node_modules", "var", "staticfiles", "locale"]
NAMED = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def _catalog() -> polib.POFile:
    return polib.pofile(str(CATALOG))


def _key(entry: polib.POEntry) -> tuple[str | None, str, str]:
    return (entry.msgctxt, entry.msgid, entry.msgid_plural)


def test_every_string_is_translated_and_keeps_its_placeholders():
    catalog = _catalog()
    live = [e for e in catalog if not e.obsolete]
    assert len(live) > 900
    assert [e.msgid for e in live if e.fuzzy] == []
    assert [e.msgid for e in live if not e.translated()] == []
    for entry in live:
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for msgstr in translations:
            assert msgstr.strip(), entry.msgid
            # Named placeholders must all survive; a plural form may drop a bare count.
            named = sorted(set(NAMED.findall(entry.msgid)))
            assert sorted(set(NAMED.findall(msgstr))) == named, entry.msgid
            if "python-format" in entry.flags:
                assert msgstr.count("%%") == entry.msgid.count("%%"), entry.msgid


def test_the_compiled_catalog_serves_every_translation():
    with translation.override("fr"):
        for entry in _catalog():
            if entry.obsolete:
                continue
            if entry.msgid_plural:
                served = (
                    translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, 1)
                    if entry.msgctxt
                    else translation.ngettext(entry.msgid, entry.msgid_plural, 1)
                )
                assert served == entry.msgstr_plural[0], entry.msgid
            elif entry.msgctxt:
                assert translation.pgettext(entry.msgctxt, entry.msgid) == entry.msgstr
            else:
                assert translation.gettext(entry.msgid) == entry.msgstr, entry.msgid


@pytest.mark.slow
def test_the_catalog_holds_exactly_the_strings_of_the_sources(tmp_path):
    """makemessages, run on a copy of the sources, finds no string missing from the catalog."""
    require_service("gettext", shutil.which("xgettext") is not None, "install gettext")
    copy = tmp_path / "src"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(*IGNORED[:-1], "__pycache__", ".git", "*.sqlite3"),
    )
    ignores = [f"--ignore={name}" for name in IGNORED]
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fr", "--no-location", *ignores],
        cwd=copy,
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings.local"},
    )
    fresh = polib.pofile(str(copy / "locale" / "fr" / "LC_MESSAGES" / "django.po"))
    wanted = {_key(e) for e in fresh if not e.obsolete}
    held = {_key(e) for e in _catalog() if not e.obsolete}
    assert sorted(wanted - held, key=str) == []
    assert sorted(held - wanted, key=str) == []
    assert [e.msgid for e in fresh if not e.obsolete and (e.fuzzy or not e.translated())] == []
