"""`perftrack` commands."""

from __future__ import annotations

import json
import re

import click
from click.testing import CliRunner

from service.cli import main

from .conftest import SEED


def test_targets_parse_json_needs_no_database():
    result = CliRunner().invoke(main, ["targets", "parse", "≥8万人", "--level2", "数量指标", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "kind": "numeric",
        "comparator": ">=",
        "value": 80000,
        "unit": "人",
        "per": None,
        "direction": "higher_better",
        "due": None,
        "findings": [],
    }


def test_import_json_summary_and_rejection(runner, tmp_path):
    result = runner.invoke(main, ["import", str(SEED), "--year", "2025", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["projects"], summary["indicators"], summary["unchanged"]) == (62, 482, 482)
    assert summary["findings"]["inverted_comparator"] == 1
    bad = tmp_path / "bad.txt"
    bad.write_text(SEED.read_text(encoding="utf-8").replace("\t23.38\n\t其中", "\t-23.38\n\t其中", 1), encoding="utf-8")
    rejected = runner.invoke(main, ["import", str(bad), "--json"])
    assert rejected.exit_code == 2
    assert json.loads(rejected.output)["problems"][0]["field"] == "预算数"


def test_divisions_commands(runner):
    assert runner.invoke(main, ["divisions", "set-prefix", "cb", "BGS"]).exit_code == 0
    listing = runner.invoke(main, ["divisions", "list"]).output
    assert "BGS\t办公室\tCB,ZX" in listing or "BGS\t办公室\tZX,CB" in listing
    assert runner.invoke(main, ["divisions", "set-prefix", "CB", "NOPE"]).exit_code != 0


def test_db_upgrade_is_repeatable(runner):
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0 and "head" in result.output


def _commands(group, path=()):
    for name, command in sorted(group.commands.items()):
        yield path + (name,), command
        if isinstance(command, click.Group):
            yield from _commands(command, path + (name,))


CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def _english(text: str) -> bool:
    """English words; a Chinese term may appear only quoted ("指标值"), as the files and forms spell it."""
    return not CJK.search(re.sub(r'"[^"]*"', "", text))


def test_every_command_and_option_is_explained_in_english():
    missing, chinese = [], []
    for path, command in _commands(main):
        texts = {" ".join(path): command.help or ""}
        texts |= {f"{' '.join(path)} {p.opts[0]}": p.help or "" for p in command.params if isinstance(p, click.Option)}
        missing += [where for where, text in texts.items() if not text.strip()]
        chinese += [where for where, text in texts.items() if not _english(text)]
    assert missing == [] and chinese == []
    assert _english(main.help) and "budget performance targets" in main.help
