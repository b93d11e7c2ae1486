"""The one file reader (hashlens.sources.reader): every malformed file is one HashlensError that
names the file, whatever the parser trips on first."""

from __future__ import annotations

from pathlib import Path

import pytest

from hashlens.errors import HashlensError
from hashlens.sim.scenario import load_scenario
from hashlens.sources.reader import read_tree


@pytest.mark.parametrize(
    "text,words",
    [
        ("\x1fname: x\n", "unacceptable character #x001f"),  # the fuzzer's find: refused by PyYAML's reader
        ("name: [1, 2\n", "not valid YAML"),
        ("[" * 5000 + "]" * 5000, "nest"),
        ("day: 2024-02-30\n", "a value cannot be read"),
    ],
)
def test_a_malformed_yaml_file_is_one_error_naming_it(tmp_path: Path, text: str, words: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    for read in (lambda: read_tree(f, "scenario file"), lambda: load_scenario(f)):
        with pytest.raises(HashlensError) as caught:
            read()
        assert str(f) in str(caught.value) and words in str(caught.value)
