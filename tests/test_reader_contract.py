"""Every reader the dispatch can pick satisfies the reader contract (``readers/_contract.py``).

The engine calls ``module.open_dataset(target, broker=..., **options)`` with the caller's
keywords and the catalogue's open hints mixed, and ``open_groups`` when the module has it: a
reader takes the target first, the broker by keyword, and swallows options it does not know.
Which keywords a reader takes is listed in ``readers.OPTIONS`` (the engine refuses the others).
"""

from __future__ import annotations

import importlib
import inspect
import types

import pytest

from xstac_access import readers
from xstac_access._resolve import Target
from xstac_access.readers import FORMATS, GROUPS_OPTIONS, OPTIONS, READERS, reader_for, takes
from xstac_access.readers._contract import Reader, TreeReader

TREE_FORMATS = {"netcdf", "zarr", "safe", "zip"}  # formats with groups (a zip: a SAFE in it)


def problems(module: types.ModuleType) -> list[str]:
    """How ``module`` breaks the contract (empty: it keeps it)."""
    found = []
    for name, returns in (("open_dataset", "xr.Dataset"), ("open_groups", "dict[str, xr.Dataset]")):
        function = getattr(module, name, None)
        if function is None:
            if name == "open_dataset":
                found.append("no open_dataset")
            continue
        params = list(inspect.signature(function).parameters.values())
        kinds = {p.name: p.kind for p in params}
        if not params or params[0].name != "target" or params[0].kind not in (
            inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):  # fmt: skip
            found.append(f"{name}: the target is not its first positional parameter")
        if kinds.get("broker") is not inspect.Parameter.KEYWORD_ONLY:
            found.append(f"{name}: broker is not a keyword-only parameter")
        if inspect.Parameter.VAR_KEYWORD not in kinds.values():
            found.append(f"{name}: rejects options it does not know (no **options)")
        required = [
            p.name for p in params[1:]
            if p.default is inspect.Parameter.empty
            and p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
            and p.name != "broker"
        ]  # fmt: skip
        if required:
            found.append(f"{name}: requires {required} beyond the target and the broker")
        if inspect.signature(function).return_annotation != returns:
            found.append(f"{name}: does not say it returns {returns}")
    return found


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_each_registered_reader_keeps_the_contract(fmt):
    module = importlib.import_module(READERS[fmt])
    assert module.__name__ == f"xstac_access.readers.{fmt}"  # reader="<fmt>" names the module
    assert problems(module) == []
    assert isinstance(module, Reader)
    assert isinstance(module, TreeReader) == (fmt in TREE_FORMATS)


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_each_reader_names_in_its_signature_only_keywords_it_is_listed_as_taking(fmt):
    """``readers.OPTIONS`` is what the engine lets through to a reader: a keyword a reader
    names but is not listed for could never reach it."""
    module = importlib.import_module(READERS[fmt])
    internal = {"target", "broker", "source"}  # source: the zip reader hands GDAL its member
    for name, groups in (("open_dataset", False), ("open_groups", True)):
        function = getattr(module, name, None)
        named = {
            p.name for p in inspect.signature(function).parameters.values()
            if p.kind is not inspect.Parameter.VAR_KEYWORD
        } if function else set()  # fmt: skip
        assert named - internal <= set(takes(fmt, groups=groups)), name


def test_the_keyword_tables_cover_the_readers_there_are():
    assert set(OPTIONS) == set(READERS)
    assert set(GROUPS_OPTIONS) == TREE_FORMATS


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_the_dispatch_hands_out_modules_that_keep_the_contract(fmt):
    module, guess = reader_for(Target(href="https://h.test/file.bin"), fmt)
    assert guess.format == fmt
    assert isinstance(module, Reader) and problems(module) == []


def test_every_format_the_dispatch_can_recognise_has_words_for_messages():
    recognised = {
        *readers._MEDIA_TYPES.values(), *readers._EXTENSIONS.values(),
        *readers._ROLES.values(), *(fmt for _, fmt in readers._MAGIC),
    }  # fmt: skip
    # a SAFE is recognised by its folder (.SAFE) or by the directory of the zip holding it
    assert set(READERS) - {"safe"} <= recognised <= set(FORMATS)


def test_the_check_finds_a_reader_that_breaks_the_contract():
    def open_dataset(href, broker, group):  # positional broker, a required option, no **
        return None

    bad = types.ModuleType("bad")
    bad.open_dataset = open_dataset
    assert problems(bad) == [
        "open_dataset: the target is not its first positional parameter",
        "open_dataset: broker is not a keyword-only parameter",
        "open_dataset: rejects options it does not know (no **options)",
        "open_dataset: requires ['group'] beyond the target and the broker",
        "open_dataset: does not say it returns xr.Dataset",
    ]
    assert problems(types.ModuleType("empty")) == ["no open_dataset"]
    assert not isinstance(types.ModuleType("empty"), Reader)
