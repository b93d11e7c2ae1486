"""Scenarios: YAML files describing a simulation, validated field by field."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hashlens.errors import HashlensError

PRICE_MODELS = ("constant", "gbm", "bootstrap", "path")
HASHRATE_MODELS = ("constant", "growth", "fleet")
#: Bounds that keep every run finite: beyond them the block rate or the number of steps
#: overflows or never ends, and no real question needs them.
MAX_DAYS = 36500.0
MAX_STEPS = 100_000
MAX_HASHRATE_EHS = 1e12  # [EH/s], a billion times today's network
MAX_PRICE_USD = 1e12  # [USD/BTC]
MAX_HEIGHT = 10**12  # subsidy is zero from height 64·210,000 on
MAX_FEES_BTC = 21e6  # [BTC/block], every coin there will be


@dataclass
class FleetGen:
    model: str
    share: float  # of initial hashrate [0-1]
    power_price_median: float  # [USD/kWh]
    power_price_sigma: float  # lognormal spread [-]
    efficiency_j_per_th: float = 0.0  # filled from the catalogue


@dataclass
class Curtailment:
    start_day: float
    days: float
    share: float  # of hashrate removed [0-1]


@dataclass
class Shock:
    day: float
    pct: float


@dataclass
class Scenario:
    name: str
    days: float = 365.0
    step_days: float = 1.0
    record_every_days: float = 7.0
    # initial state
    height: int | None = None
    bits: int | None = None
    difficulty: float | str | None = None  # a number, "steady-state", or None (from bits/chain)
    hashrate_ehs: float | None = None
    price_usd: float | None = None
    # hashrate
    hashrate_model: str = "constant"
    growth_pct_per_14_days: float = 0.0
    fleet: list[FleetGen] = field(default_factory=list)
    fleet_growth_pct_per_year: float = 0.0
    switch_on_lag_days: float = 7.0
    pue: float = 1.05
    curtailment: list[Curtailment] = field(default_factory=list)
    # revenue
    fees_btc_per_block: float = 0.02
    price_model: str = "constant"
    mu_annual: float = 0.0
    sigma_annual: float = 0.0
    block_days: int = 30
    price_file: str | None = None
    shocks: list[Shock] = field(default_factory=list)
    # filled at run time from the store or files
    bootstrap_returns: Any = None
    price_path: Any = None
    raw: dict[str, Any] = field(default_factory=dict)


def _num(
    d: dict[str, Any],
    key: str,
    where: str,
    default: Any = None,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
) -> Any:
    if key not in d or d[key] is None:
        return default
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise HashlensError(f"{where}.{key}: {_short(v)} is not a number")
    try:
        finite = math.isfinite(v)
    except OverflowError:  # an integer beyond any float
        finite = False
    if not finite:
        raise HashlensError(f"{where}.{key}: must be a finite number")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise HashlensError(f"{where}.{key}: {v:g} must be {'>' if lo_open else '>='} {lo:g}")
    if hi is not None and v > hi:
        raise HashlensError(f"{where}.{key}: {v:g} must be <= {hi:g}")
    return v


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _section(d: dict[str, Any], key: str) -> dict[str, Any]:
    v = d.get(key) or {}
    if not isinstance(v, dict):
        raise HashlensError(f"{key}: expected a mapping, got {_short(v)}")
    return v


def _list(d: dict[str, Any], key: str, where: str) -> list[Any]:
    v = d.get(key)
    if v is None:
        return []
    if not isinstance(v, list):
        raise HashlensError(f"{where}: expected a list, got {_short(v)}")
    return v


def _known(d: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise HashlensError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def parse_scenario(data: dict[str, Any], name: str = "scenario") -> Scenario:
    """Build and validate a scenario; every error names its field (``price.sigma_annual``)."""
    if not isinstance(data, dict):
        raise HashlensError("a scenario is a YAML mapping")
    _known(
        data,
        {
            "name",
            "description",
            "days",
            "step_days",
            "record_every_days",
            "initial",
            "hashrate",
            "fees_btc_per_block",
            "price",
            "curtailment",
        },
        "scenario",
    )
    s = Scenario(name=str(data.get("name") or name), raw=copy.deepcopy(data))
    s.days = _num(data, "days", "scenario", 365.0, lo=1, hi=MAX_DAYS)
    s.step_days = _num(data, "step_days", "scenario", 1.0, lo=0, hi=14, lo_open=True)
    if s.days / s.step_days > MAX_STEPS:
        raise HashlensError(
            f"scenario.step_days: {s.step_days:g} gives {s.days / s.step_days:,.0f} steps over {s.days:g} days; "
            f"at most {MAX_STEPS:,} (a step of at least {s.days / MAX_STEPS:.3g} days)"
        )
    s.record_every_days = _num(data, "record_every_days", "scenario", 7.0, lo=0, lo_open=True)
    s.fees_btc_per_block = _num(data, "fees_btc_per_block", "scenario", 0.02, lo=0, hi=MAX_FEES_BTC)
    ini = _section(data, "initial")
    _known(ini, {"height", "bits", "difficulty", "hashrate_ehs", "price_usd"}, "initial")
    s.height = int(_num(ini, "height", "initial", None, lo=0, hi=MAX_HEIGHT)) if ini.get("height") is not None else None
    if ini.get("bits") is not None:
        try:
            s.bits = int(str(ini["bits"]).removeprefix("0x"), 16)
        except ValueError:
            raise HashlensError(f"initial.bits: {_short(ini['bits'])} is not hex compact bits") from None
        if not 0 < s.bits <= 0xFFFFFFFF:
            raise HashlensError(f"initial.bits: {_short(ini['bits'])} is not 32-bit compact bits")
    diff = ini.get("difficulty")
    if isinstance(diff, str):
        if diff != "steady-state":
            raise HashlensError("initial.difficulty: a number or 'steady-state'")
        s.difficulty = diff
    else:
        s.difficulty = _num(ini, "difficulty", "initial", None, lo=1)
    s.hashrate_ehs = _num(ini, "hashrate_ehs", "initial", None, lo=0, hi=MAX_HASHRATE_EHS, lo_open=True)
    s.price_usd = _num(ini, "price_usd", "initial", None, lo=0, hi=MAX_PRICE_USD, lo_open=True)
    hr = _section(data, "hashrate")
    _known(
        hr,
        {"model", "growth_pct_per_14_days", "fleet", "fleet_growth_pct_per_year", "switch_on_lag_days", "pue"},
        "hashrate",
    )
    s.hashrate_model = str(hr.get("model", "constant"))
    if s.hashrate_model not in HASHRATE_MODELS:
        raise HashlensError(f"hashrate.model: {s.hashrate_model!r}; choose one of {', '.join(HASHRATE_MODELS)}")
    s.growth_pct_per_14_days = _num(hr, "growth_pct_per_14_days", "hashrate", 0.0, lo=-99)
    s.fleet_growth_pct_per_year = _num(hr, "fleet_growth_pct_per_year", "hashrate", 0.0, lo=-99)
    s.switch_on_lag_days = _num(hr, "switch_on_lag_days", "hashrate", 7.0, lo=0)
    s.pue = _num(hr, "pue", "hashrate", 1.05, lo=1, hi=10)
    for i, g in enumerate(_list(hr, "fleet", "hashrate.fleet")):
        where = f"hashrate.fleet[{i}]"
        if not isinstance(g, dict):
            raise HashlensError(f"{where}: expected a mapping")
        _known(g, {"model", "share", "power_price_median", "power_price_sigma"}, where)
        if not g.get("model"):
            raise HashlensError(f"{where}.model: required")
        s.fleet.append(
            FleetGen(
                str(g["model"]),
                _num(g, "share", where, None, lo=0, hi=1),
                _num(g, "power_price_median", where, 0.05, lo=0, lo_open=True),
                _num(g, "power_price_sigma", where, 0.3, lo=0),
            )
        )
        if s.fleet[-1].share is None:
            raise HashlensError(f"{where}.share: required")
    if s.hashrate_model == "fleet":
        if not s.fleet:
            raise HashlensError("hashrate.fleet: the fleet model needs at least one generation")
        total = sum(g.share for g in s.fleet)
        if abs(total - 1) > 1e-6:
            raise HashlensError(f"hashrate.fleet: shares add up to {total:g}, not 1")
    pr = _section(data, "price")
    _known(pr, {"model", "mu_annual", "sigma_annual", "block_days", "file", "shocks"}, "price")
    s.price_model = str(pr.get("model", "constant"))
    if s.price_model not in PRICE_MODELS:
        raise HashlensError(f"price.model: {s.price_model!r}; choose one of {', '.join(PRICE_MODELS)}")
    s.mu_annual = _num(pr, "mu_annual", "price", 0.0, lo=-10, hi=10)
    s.sigma_annual = _num(pr, "sigma_annual", "price", 0.0, lo=0, hi=10)
    s.block_days = int(_num(pr, "block_days", "price", 30, lo=1, hi=MAX_DAYS))
    s.price_file = pr.get("file")
    if s.price_file is not None and not isinstance(s.price_file, str):
        raise HashlensError(f"price.file: {_short(s.price_file)} is not a file name")
    if s.price_model == "path" and not s.price_file:
        raise HashlensError("price.file: the path model needs a CSV of day,price")
    for i, sh in enumerate(_list(pr, "shocks", "price.shocks")):
        where = f"price.shocks[{i}]"
        if not isinstance(sh, dict):
            raise HashlensError(f"{where}: expected a mapping")
        _known(sh, {"day", "pct"}, where)
        s.shocks.append(Shock(_num(sh, "day", where, 0.0, lo=0), _num(sh, "pct", where, 0.0, lo=-99.9, hi=1e4)))
    for i, c in enumerate(_list(data, "curtailment", "curtailment")):
        where = f"curtailment[{i}]"
        if not isinstance(c, dict):
            raise HashlensError(f"{where}: expected a mapping")
        _known(c, {"start_day", "days", "share"}, where)
        share = _num(c, "share", where, None, lo=0, hi=1)
        if share is None:
            raise HashlensError(f"{where}.share: required (0-1, e.g. 0.4 for 40 %)")
        s.curtailment.append(
            Curtailment(_num(c, "start_day", where, 0.0, lo=0), _num(c, "days", where, 1.0, lo=0, lo_open=True), share)
        )
    if s.record_every_days < s.step_days:
        s.record_every_days = s.step_days
    return s


def load_scenario(path: str | Path) -> Scenario:
    """A scenario file (YAML, or JSON by its suffix) read through the one file reader
    (:func:`hashlens.sources.reader.read_tree`: size, encoding, nesting and alias bounds, one
    line naming the file for any of them), then validated field by field."""
    from hashlens.sources.reader import read_tree

    p = Path(path)
    data = read_tree(p, "scenario file")
    try:
        return parse_scenario(data, p.stem)
    except HashlensError as exc:
        raise HashlensError(f"{p}: {exc}") from None


def with_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Copy of a scenario mapping with dotted keys set (``price.sigma_annual``,
    ``price.shocks.0.pct``) — how a sweep varies one field per grid point.

    A missing mapping on the way is created; a list is only indexed, never extended, so an
    index past its end (or into a field that is not a list) is an error naming the field.
    """
    out = copy.deepcopy(data)
    for dotted, value in overrides.items():
        node: Any = out
        parts = dotted.split(".")
        if not all(parts):
            raise HashlensError(f"{dotted}: not a dotted field name such as price.sigma_annual")
        for i, part in enumerate(parts):
            here = ".".join(parts[:i]) or "the scenario"
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit():
                    raise HashlensError(f"{dotted}: {here} is a list; {part!r} is not an index")
                k = int(part)
                if k >= len(node):
                    raise HashlensError(f"{dotted}: {here} has {len(node)} item(s), so there is no item {k} to set")
                if last:
                    node[k] = value
                else:
                    node = node[k]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                elif node.get(part) is None:
                    if parts[i + 1].isdigit():
                        raise HashlensError(
                            f"{dotted}: the scenario has no {'.'.join(parts[: i + 1])} list, so there is no item "
                            f"{parts[i + 1]} to set"
                        )
                    node[part] = {}
                    node = node[part]
                else:
                    node = node[part]
            else:
                raise HashlensError(f"{dotted}: {here} is {_short(node)}, not a mapping or a list")
    return out
