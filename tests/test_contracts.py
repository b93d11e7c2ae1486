"""One contract per request: every bound of every chain, economics and weekly request model is
walked through the library (the model itself), the CLI (its options, its file) and the API (its
query or body), which must refuse it in the same words — exit 2 and 422.

The cases are generated from the models' fields (``ge``, ``gt``, ``le``, ``lt``, lengths,
patterns, literals, also inside ``X | None``, ``Annotated`` and a dict's keys and values), so a
bound added to a model is walked without touching this file. What this file states by hand is
how each face carries a field (a CLI option, a file column, a query parameter) and, for a field
a face cannot carry, why — and that list is checked to name only fields the models have.
"""

from __future__ import annotations

import itertools
import json
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import annotated_types as at
import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from hashlens.chain.models import (
    BitsRequest,
    DifficultyHistoryRequest,
    DifficultyRequest,
    EstimateInputs,
    HalvingRequest,
    HashrateRequest,
    HashrateSeriesRequest,
    SummaryRequest,
)
from hashlens.contracts import Request
from hashlens.economics.cost import CostRequest
from hashlens.economics.models import (
    FleetRequest,
    HashpriceRequest,
    HashpriceSeriesRequest,
    Machine,
    PowerRequest,
    PricesImport,
)
from hashlens.errors import Refused
from hashlens.sim.forecast import ForecastRequest
from hashlens.sim.outlook_request import LoanTerms, OutlookRequest
from hashlens.weekly.models import WeeklyRequest

# -- the bounds, read from a model's fields ------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    """One bound of one field: where it applies (the field, or a dict's key or value) and what."""

    field: str
    part: Literal["value", "key", "item"]  # the field itself, a dict's key, a dict's value
    kind: str  # ge gt le lt multiple_of min_length max_length pattern literal
    limit: Any
    base: type  # int, float, str, date, list, dict

    @property
    def name(self) -> str:
        where = "" if self.part == "value" else f"[{self.part}]"
        return f"{self.field}{where} {self.kind} {self.limit!r}"


def _base_type(tp: Any) -> type:
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _base_type(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return _base_type(next(a for a in typing.get_args(tp) if a is not type(None)))
    if origin is Literal:
        return str
    return origin if isinstance(origin, type) else tp


def _constraints(meta: list[Any]) -> Iterator[tuple[str, Any]]:
    for m in meta:
        if isinstance(m, FieldInfo):
            yield from _constraints(list(m.metadata))
        for kind, cls in (("ge", at.Ge), ("gt", at.Gt), ("le", at.Le), ("lt", at.Lt)):
            if isinstance(m, cls):
                yield kind, getattr(m, kind)
        if isinstance(m, at.MultipleOf):
            yield "multiple_of", m.multiple_of
        if isinstance(m, at.MinLen):
            yield "min_length", m.min_length
        if isinstance(m, at.MaxLen):
            yield "max_length", m.max_length
        if getattr(m, "pattern", None) is not None:
            yield "pattern", m.pattern


def _bounds(name: str, tp: Any, meta: list[Any], part: Literal["value", "key", "item"] = "value") -> Iterator[Bound]:
    base = _base_type(tp)
    for kind, limit in _constraints(meta):
        yield Bound(name, part, kind, limit, base)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Annotated:
        yield from _bounds(name, args[0], list(args[1:]), part)
    elif origin in (typing.Union, types.UnionType):
        for a in args:
            if a is not type(None):
                yield from _bounds(name, a, [], part)
    elif origin is Literal:
        yield Bound(name, part, "literal", args, str)
    elif origin is dict:
        yield from _bounds(name, args[0], [], "key")
        yield from _bounds(name, args[1], [], "item")


def bounds_of(model: type[BaseModel]) -> list[Bound]:
    """Every bound of every field of ``model`` (not of models nested in it: they are walked as
    their own model)."""
    out = []
    for name, info in model.model_fields.items():
        out += _bounds(name, info.annotation, list(info.metadata))
    return out


def _outside(b: Bound) -> Any:
    """A value just outside the bound, of the field's type."""
    step: Any = {int: 1, float: 0.5, date: timedelta(days=1)}.get(b.base, 1)
    if b.kind == "ge":
        return b.limit - step
    if b.kind == "le":
        return b.limit + step
    if b.kind in ("gt", "lt"):
        return b.limit
    if b.kind == "multiple_of":
        return b.limit + 1 if b.base is int else b.limit * 1.5
    if b.kind == "pattern":
        return "!"
    if b.kind == "literal":
        return "no-such-" + str(b.limit[0])
    n = b.limit - 1 if b.kind == "min_length" else b.limit + 1
    if b.base is str:
        return "x" * n
    return n  # a count of items; the face builds them


def _text(v: Any) -> str:
    return v.isoformat() if isinstance(v, date) else repr(v) if isinstance(v, float) else str(v)


# -- the faces ------------------------------------------------------------------------------------
FLEET_ROW = {"hashrate_ths": 100, "power_w": 3000, "count": 1}


@dataclass
class Faces:
    """How one request model is carried by each face.

    ``base``: fields that make the rest of a request valid. ``cli(fields, tmp)``: the argv of
    the command for those fields (as given, not yet validated) and the prefix its refusal
    carries; ``api``: method and path (GET: query; POST: JSON body), and how a field's value
    is put in the request and where the refusal is placed. ``not_on_cli`` / ``not_on_api``:
    fields (or bound names) a face cannot carry, with why.
    """

    model: type[Request]
    base: dict[str, Any]
    cli: Callable[[dict[str, Any], Path], tuple[list[str], str]]
    api: tuple[str, str]
    api_body: Callable[[dict[str, Any]], tuple[dict[str, Any], str]] = lambda f: (f, "")
    not_on_cli: dict[str, str] = field(default_factory=dict)
    not_on_api: dict[str, str] = field(default_factory=dict)
    item: Any = field(default_factory=lambda: FLEET_ROW)  # what a list field's items are built from


@dataclass(frozen=True)
class Opts:
    """A command (``head``: its words) whose options carry the fields by name (``mapping``:
    field -> --option)."""

    mapping: dict[str, str]
    head: tuple[str, ...]

    def __call__(self, fields: dict[str, Any], tmp: Path) -> tuple[list[str], str]:
        return [*self.head, *(f"{self.mapping[k]}={_text(v)}" for k, v in fields.items())], ""


def opts(mapping: dict[str, str], *head: str) -> Opts:
    return Opts(mapping, head)


def fleet_cli(fields: dict[str, Any], tmp: Path) -> tuple[list[str], str]:
    """``hashlens fleet FILE --options``: the machines in a CSV file, the terms as options."""
    rows = fields.pop("machines", [FLEET_ROW])
    f = tmp / "fleet.csv"
    cols = sorted({k for r in rows for k in r}) or ["count"]
    f.write_text(",".join(cols) + "\n" + "".join(",".join(_text(r.get(c, "")) for c in cols) + "\n" for r in rows))
    names = {
        "power_price_usd_per_kwh": "--power-price",
        "pool_fee": "--pool-fee",
        "stale_rate": "--stale",
        "uptime": "--uptime",
        "pue": "--pue",
        "hosting_usd_per_kwh": "--hosting-kwh",
        "hosting_usd_per_kw_month": "--hosting-kw-month",
        "as_of": "--as-of",
        "btc_price_usd": "--price",
        "hashprice_usd_per_ph_day": "--hashprice",
    }
    return ["fleet", str(f), *(f"{names[k]}={_text(v)}" for k, v in fields.items())], ""


#: ``hashlens cost``'s options and ``GET /v1/cost``'s query names for CostRequest's fields.
COST_CLI = {
    "as_of": "--as-of",
    "btc_price_usd": "--price",
    "start": "--start",
    "power_price_usd_per_kwh": "--power-price",
    "efficiencies_j_per_th": "--efficiency",
    "other_cash_usd_per_ph_day": "--other-cash-usd-per-ph-day",
    "depreciation_usd_per_ph_day": "--depreciation-usd-per-ph-day",
    "overhead_usd_per_ph_day": "--overhead-usd-per-ph-day",
    "interest_usd_per_ph_day": "--interest-usd-per-ph-day",
}
COST_QUERY = {
    "as_of": "as_of",
    "btc_price_usd": "price",
    "power_price_usd_per_kwh": "power_price",
    "efficiencies_j_per_th": "efficiency",
    "other_cash_usd_per_ph_day": "opex_usd_per_day",
    "depreciation_usd_per_ph_day": "depreciation_usd_per_day",
    "overhead_usd_per_ph_day": "overhead_usd_per_day",
    "interest_usd_per_ph_day": "interest_usd_per_day",
}


def cost_cli(fields: dict[str, Any], tmp: Path) -> tuple[list[str], str]:
    """``hashlens cost --options``: a list field as its option repeated."""
    argv = ["cost"]
    for k, v in fields.items():
        argv += [f"{COST_CLI[k]}={_text(x)}" for x in v] if isinstance(v, list) else [f"{COST_CLI[k]}={_text(v)}"]
    return argv, ""


def outlook_cli(fields: dict[str, Any], tmp: Path) -> tuple[list[str], str]:
    """``hashlens outlook FLEET --scenario FILE``: the machines in a CSV file, every other field
    in the scenario file (JSON here; the keys of the API's body)."""
    argv, _ = fleet_cli({"machines": fields.pop("machines", [FLEET_ROW])}, tmp)
    scenario = tmp / "scenario.json"
    scenario.write_text(json.dumps({k: _text(v) if isinstance(v, date) else v for k, v in fields.items()}))
    return ["outlook", argv[1], f"--scenario={scenario}"], ""


def machine_cli(fields: dict[str, Any], tmp: Path) -> tuple[list[str], str]:
    """A Machine is a row of the fleet file: refused as "<file>: row 1: ..."."""
    argv, _ = fleet_cli({"machines": [fields]}, tmp)
    return argv, f"{tmp / 'fleet.csv'}: row 1: "


def prices_cli(fields: dict[str, Any], tmp: Path) -> tuple[list[str], str]:
    """``hashlens prices import FILE``: the prices in a date,price CSV named by ``source``."""
    f = tmp / fields.get("source", "prices.csv")
    f.write_text("date,price\n" + "".join(f"{_text(d)},{_text(p)}\n" for d, p in fields["prices"].items()))
    argv = ["prices", "import", str(f), f"--currency={fields.get('currency', 'USD')}"]
    return argv + [o for k, o in (("allow_gaps", "--allow-gaps"), ("replace", "--replace")) if fields.get(k)], ""


def _days(n: int, start: date = date(2020, 1, 1)) -> dict[date, float]:
    return {start + timedelta(days=i): 10_000.0 for i in range(n)}


FACES: list[Faces] = [
    Faces(DifficultyRequest, {}, opts({"as_of": "--as-of", "now_s": "--now"}, "difficulty"), ("get", "/v1/difficulty")),
    Faces(SummaryRequest, {}, opts({"as_of": "--as-of"}, "summary"), ("get", "/v1/summary")),
    Faces(
        DifficultyHistoryRequest,
        {},
        opts({"limit": "--limit"}, "difficulty", "history"),
        ("get", "/v1/difficulty/history"),
    ),
    Faces(
        EstimateInputs,
        {
            "last_retarget_time_s": 1_769_110_282,
            "now_s": 1_769_935_217,
            "height": 934_575,
            "previous_change_pct": -3.28,
            "method": "mempool",
        },
        opts(
            {
                "last_retarget_time_s": "--last-retarget-time",
                "now_s": "--now",
                "height": "--height",
                "previous_change_pct": "--previous-change-pct",
                "time_504_blocks_ago_s": "--time-504-blocks-ago",
                "tip_time_s": "--tip-time",
                "method": "--method",
            },
            "difficulty",
            "estimate",
        ),
        ("get", "/v1/difficulty/estimate"),
    ),
    Faces(
        HashrateRequest,
        {},
        opts({"window": "--window", "height": "--height", "as_of": "--as-of"}, "hashrate"),
        ("get", "/v1/hashrate"),
    ),
    Faces(
        HashrateSeriesRequest,
        {},
        opts({"window": "--window", "step": "--step"}, "hashrate", "--series"),
        ("get", "/v1/hashrate/series"),
    ),
    Faces(
        HalvingRequest,
        {},
        opts(
            {"as_of": "--as-of", "height": "--height", "tip_time_s": "--tip-time", "interval_s": "--interval"},
            "halving",
        ),
        ("get", "/v1/halving"),
    ),
    Faces(BitsRequest, {}, lambda f, _: (["bits", f["bits"]], ""), ("get", "/v1/bits")),
    Faces(
        ForecastRequest,
        {},
        opts(
            {"as_of": "--as-of", "height": "--height", "horizon": "--horizon", "paths": "--paths", "seed": "--seed"},
            "forecast",
        ),
        ("get", "/v1/forecast"),
        not_on_api={
            "paths le 1000000": "the API's own bound is tighter (ApiForecastRequest): "
            "test_the_api_bounds_a_forecast_tighter",
        },
    ),
    Faces(
        HashpriceRequest,
        {},
        opts({"as_of": "--as-of", "btc_price_usd": "--price", "fees_btc": "--fees-btc"}, "hashprice"),
        ("get", "/v1/hashprice"),
    ),
    Faces(
        HashpriceSeriesRequest,
        {},
        opts({"start": "--start", "end": "--end"}, "hashprice"),
        ("get", "/v1/hashprice/series"),
    ),
    Faces(
        PowerRequest,
        {},
        opts({"as_of": "--as-of", "start": "--start", "power_price_usd_per_kwh": "--power-price"}, "power"),
        ("get", "/v1/power"),
        not_on_api={"start": "the API answers one day (PowerDay): a series is minutes of work on a busy server"},
    ),
    Faces(FleetRequest, {"machines": [FLEET_ROW]}, fleet_cli, ("post", "/v1/fleet")),
    Faces(
        CostRequest,
        {},
        cost_cli,
        ("get", "/v1/cost"),
        api_body=lambda f: ({COST_QUERY[k]: v for k, v in f.items()}, ""),
        not_on_cli={"efficiencies_j_per_th min_length 1": "no --efficiency means the default machines"},
        not_on_api={
            "start": "the API answers one day (CostDayRequest)",
            "efficiencies_j_per_th min_length 1": "no efficiency means the default machines",
        },
        item=20.0,
    ),
    Faces(
        Machine,
        dict(FLEET_ROW),
        machine_cli,
        ("post", "/v1/fleet"),
        api_body=lambda f: ({"machines": [f]}, "machines.0."),
        not_on_cli={
            "model min_length 1": "an empty cell of a fleet file is a value not given, not an empty name",
            "label min_length 1": "an empty cell of a fleet file is a value not given, not an empty name",
        },
    ),
    Faces(
        PricesImport,
        {"prices": _days(3)},
        prices_cli,
        ("post", "/v1/import/prices"),
        not_on_cli={
            "prices min_length 1": "a price file without rows is refused by its reader (sources.prices: no rows)",
            "prices[item] gt 0": "a file's price must be a positive number to be read (sources.prices)",
            "source min_length 1": "the source is the file's name, never empty",
        },
    ),
    Faces(
        OutlookRequest,
        {"machines": [FLEET_ROW]},
        outlook_cli,
        ("post", "/v1/outlook"),
        not_on_cli={"machines min_length 1": "a fleet file without rows is refused by its reader (load_fleet)"},
    ),
    Faces(
        LoanTerms,
        {"principal_usd": 100_000, "term_months": 12},
        lambda f, tmp: (outlook_cli({"loan": f}, tmp)[0], "loan."),
        ("post", "/v1/outlook"),
        api_body=lambda f: ({"machines": [FLEET_ROW], "loan": f}, "loan."),
    ),
    Faces(
        WeeklyRequest,
        {},
        opts({"as_of": "--as-of", "btc_price_usd": "--price", "paths": "--paths", "seed": "--seed"}, "weekly"),
        ("get", "/v1/weekly"),
        not_on_api={
            "btc_price_usd": "the API serves the report's figures: the stored price (hashlens.weekly.models)",
            "paths": "the API serves the report's figures: 20,000 paths (hashlens.weekly.models)",
            "seed": "the API serves the report's figures: seed 1 (hashlens.weekly.models)",
        },
    ),
]


def _fields(faces: Faces, b: Bound) -> dict[str, Any]:
    """The request's fields with the bound's field just outside it."""
    v = _outside(b)
    fields = {
        k: (dict(x) if isinstance(x, dict) else list(x) if isinstance(x, list) else x) for k, x in faces.base.items()
    }
    if b.part == "key":
        fields[b.field] = {v: 10_000.0}
    elif b.part == "item":
        fields[b.field] = {date(2020, 1, 1): v}
    elif b.kind in ("min_length", "max_length") and b.base in (list, dict):
        fields[b.field] = [faces.item] * v if b.base is list else _days(v, date(2009, 1, 3))
    else:
        fields[b.field] = v
    return fields


CASES = [(f, b) for f in FACES for b in bounds_of(f.model)]


def test_every_request_model_of_the_chain_economics_and_weekly_is_walked() -> None:
    """The walk sees every request model these domains define, and each has bounds; what a face
    is said not to carry names a bound the model has."""
    import hashlens.chain.models as chain_models
    import hashlens.economics.models as economics_models
    import hashlens.weekly.models as weekly_models

    defined = {
        obj
        for mod in (chain_models, economics_models, weekly_models)
        for obj in vars(mod).values()
        if isinstance(obj, type) and issubclass(obj, Request) and obj.__module__ == mod.__name__
    }
    walked = {f.model for f in FACES}
    # Operating's bounds are walked inside FleetRequest, PowerDay's in PowerRequest and WeeklyDay's
    # in WeeklyRequest (their subclasses, whose API faces take only the parent's fields).
    assert defined - walked == {economics_models.Operating, economics_models.PowerDay, weekly_models.WeeklyDay}
    for f in FACES:
        names = {b.name for b in bounds_of(f.model)}
        assert names, f.model
        for key in itertools.chain(f.not_on_cli, f.not_on_api):
            assert key in f.model.model_fields or key in names, (f.model.__name__, key)
    assert len(CASES) >= 90


#: Options whose default is not the request field's, with why.
OWN_CLI_DEFAULTS = {
    (
        EstimateInputs,
        "method",
    ): "'forecast' (the default) runs ForecastRequest; EstimateInputs is mempool's method only",
}


def test_a_default_the_cli_writes_out_is_the_request_models() -> None:
    """An option's default is written in the command (its --help imports no model), so each
    one a command gives (not None: "the request's default") must be the request field's own."""
    import typer.main

    from hashlens.cli import app as cli_app

    cli_app._register()
    root = typer.main.get_command(cli_app.app)
    faces = [(f.model, f.cli.head, f.cli.mapping) for f in FACES if isinstance(f.cli, Opts)]
    compared = []
    for model, head, mapping in [*faces, (CostRequest, ("cost",), COST_CLI)]:
        command = root
        for word in itertools.takewhile(lambda w: not w.startswith("--"), head):
            command = command.commands[word]  # type: ignore[attr-defined]
        params = {o: p for p in command.params for o in p.opts}
        for name, option in mapping.items():
            given = params[option].default
            if given is None or (model, name) in OWN_CLI_DEFAULTS:
                continue
            assert str(given) == str(model.model_fields[name].default), (model.__name__, name, option, given)
            compared.append((model, name))
    assert set(OWN_CLI_DEFAULTS) <= {(m, n) for m, _, mp in faces for n in mp}
    assert len(compared) >= 9, compared


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The API on an empty store: a refusal comes before any data is read."""
    from hashlens.api.app import create_app

    with TestClient(create_app(tmp_path_factory.mktemp("api") / "empty.duckdb", token="t0ken")) as client:
        yield client


def _skipped(names: dict[str, str], b: Bound) -> str | None:
    return names.get(b.field) or names.get(b.name)


@pytest.mark.parametrize(("faces", "bound"), CASES, ids=[f"{f.model.__name__}.{b.name}" for f, b in CASES])
def test_a_bound_is_refused_alike_by_the_library_the_cli_and_the_api(
    faces: Faces,
    bound: Bound,
    api: TestClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from hashlens.cli.app import main

    fields = _fields(faces, bound)
    # The library: the model itself, built from the fields (what the CLI does with its options).
    with pytest.raises(Refused) as lib:
        faces.model.build(**fields)
    words = str(lib.value)
    assert words.startswith(bound.field), words  # the refusal names the field first

    if not _skipped(faces.not_on_cli, bound):
        argv, prefix = faces.cli(dict(fields), tmp_path)
        with pytest.raises(SystemExit) as cli:
            main(["--db", str(tmp_path / "cli.duckdb"), "--no-server", *argv])
        err = capsys.readouterr().err
        assert cli.value.code == 2, (argv, err)
        assert err == f"error: {prefix}{words}\n", argv

    if not _skipped(faces.not_on_api, bound):
        method, path = faces.api
        body, where = faces.api_body(dict(fields))
        jsonable = {
            k: {_text(d): p for d, p in v.items()} if isinstance(v, dict) else _text(v) if isinstance(v, date) else v
            for k, v in body.items()
        }
        if method == "get":
            r = api.get(
                path,
                params={k: [_text(x) for x in v] if isinstance(v, list) else _text(v) for k, v in jsonable.items()},
            )
        else:
            r = api.post(path, json=jsonable, headers={"Authorization": "Bearer t0ken"})
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == where + words, r.json()


def test_checks_across_fields_are_refused_alike() -> None:
    """The few rules between fields (written by hand in the models, not bounds) in their own
    words on the library face; the CLI and the API raise the same Refused (above)."""
    cases: list[tuple[type[Request], dict[str, Any], str]] = [
        (
            EstimateInputs,
            {"last_retarget_time_s": 1_769_935_217, "now_s": 1_769_110_282, "height": 1, "previous_change_pct": 0},
            "now_s 1769110282 is not after last_retarget_time_s",
        ),
        (HalvingRequest, {"height": 900_000}, "give height, tip_time_s and interval_s together"),
        (HashrateRequest, {"window": "1"}, "window must be 2 to 20,160 blocks (got '1')"),
        (HashpriceSeriesRequest, {"start": "2025-02-01", "end": "2025-01-01"}, "the series' end 2025-01-01 is before"),
        (
            PowerRequest,
            {"start": "2025-02-01", "as_of": "2025-01-01"},
            "start 2025-02-01 is after the as-of day 2025-01-01",
        ),
        (PricesImport, {"prices": {"2099-01-01": 1.0}}, "prices 1 day(s) after today"),
        (Machine, {"count": 1}, "give a catalogue model, or hashrate_ths"),
        (
            OutlookRequest,
            {"machines": [FLEET_ROW] * 41, "paths": 100_000, "months": 60},
            "paths: 41 rows × 100,000 paths × 60 months = 246,000,000 exceeds the work ceiling 240,000,000; "
            "ask for at most 97,560 paths",
        ),
        (
            OutlookRequest,
            {"machines": [FLEET_ROW], "months": 12, "loan": {"principal_usd": 1, "term_months": 13}},
            "loan.term_months 13 is longer than the horizon (months = 12)",
        ),
        (
            OutlookRequest,
            {
                "machines": [FLEET_ROW],
                "difficulty_growth_pct_per_adjustment": 1,
                "difficulty_increment_pct_per_year": 10,
            },
            "difficulty_increment_pct_per_year and difficulty_growth_pct_per_adjustment: give one, not both",
        ),
    ]
    for model, fields, words in cases:
        with pytest.raises(Refused) as exc:
            model.build(**fields)
        assert str(exc.value).startswith(words), (model.__name__, str(exc.value))


def test_the_as_of_day_is_named_as_of_everywhere_and_date_still_reads() -> None:
    """Every request naming a day calls it ``as_of``; ``date``, its older name in the
    hashprice, power, halving, fleet and fleet outlook requests, is read as the same field."""
    from datetime import date

    from hashlens.chain.models import HalvingRequest
    from hashlens.economics.models import FleetRequest, HashpriceRequest, PowerRequest

    day = date(2025, 1, 1)
    for model, extra in (
        (HashpriceRequest, {}),
        (PowerRequest, {}),
        (HalvingRequest, {}),
        (FleetRequest, {"machines": [FLEET_ROW]}),
        (OutlookRequest, {"machines": [FLEET_ROW]}),
    ):
        assert "as_of" in model.model_fields and "date" not in model.model_fields, model.__name__
        assert model.build(as_of="2025-01-01", **extra).as_of == day
        assert model.build(date="2025-01-01", **extra) == model.build(as_of=day, **extra)


def test_the_api_bounds_a_forecast_tighter(api: TestClient) -> None:
    """GET /v1/forecast takes the forecast's contract with a tighter bound on paths (a request's
    work on a shared server): refused in the same words, naming the API's bound."""
    from hashlens.api.models import MAX_FORECAST_PATHS

    r = api.get("/v1/forecast", params={"paths": MAX_FORECAST_PATHS + 1})
    assert r.status_code == 422
    assert r.json()["detail"] == f"paths must be at most 100000 (got {MAX_FORECAST_PATHS + 1})"
    assert MAX_FORECAST_PATHS == 100_000
    r = api.get("/v1/forecast", params={"as_of": "2025-01-01", "height": 900_000})
    assert r.status_code == 422 and r.json()["detail"] == "give as_of or height, not both"
