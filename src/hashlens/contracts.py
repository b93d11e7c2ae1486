"""One typed contract per request and per result, owned by the library.

Every request the library answers has one model here or in its domain package (``pools.models``,
``miners.models``, …) deriving from :class:`Request`: its fields, their units (in the names) and
their bounds live there and nowhere else. The CLI builds the model from its options
(``Model.build(**options)``), the API takes it as the body or query and the library functions
take it as their argument, so the three refuse the same inputs with the same words: a refusal
is a :class:`~hashlens.errors.Refused` (a ``HashlensError``) whose message :func:`refusal` writes from pydantic's
error, naming the field and its bound (the API answers it as 422 with that message).

Every result derives from :class:`Result` (units in field names, serialised by
:meth:`Result.to_json`), and every quantile set is one :class:`Quantiles`.

The bounds shared by many requests are types here: :data:`Day` (a UTC day from the genesis
block to 2100) and :data:`UnixTime` (a time in that span [Unix s]).

This module imports pydantic and nothing heavy (no numpy, no store): a command may build its
request before deciding whether to load the data libraries.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from datetime import date
from typing import Annotated, Any, ClassVar, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from hashlens.errors import Refused
from hashlens.units import FIRST_TIME_S, LAST_TIME_S

__all__ = [
    "FIRST_DAY",
    "FIRST_TIME",
    "LAST_DAY",
    "LAST_TIME",
    "QUANTILE_LEVELS",
    "Day",
    "QuantileSeries",
    "Quantiles",
    "Request",
    "Result",
    "UnixTime",
    "finite_or_none",
    "jsonable",
    "plain_errors",
    "refusal",
]

#: The first and last UTC day a request may name: the genesis block's and 2100-01-01.
FIRST_DAY = date(2009, 1, 3)
LAST_DAY = date(2100, 1, 1)
#: The span a request's time may name [Unix s] (owned by hashlens.units).
FIRST_TIME = FIRST_TIME_S
LAST_TIME = LAST_TIME_S

Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
"""A UTC day between the genesis block and 2100 (``YYYY-MM-DD``)."""


def as_of_field(description: str) -> Any:
    """A request's optional as-of day, named ``as_of`` as in every reading request; ``date``,
    its older name in some requests, is taken too."""
    return Field(None, validation_alias=AliasChoices("as_of", "date"), description=description)


#: The largest seed a request may name: seeds are unsigned 32-bit (numpy's legacy seeding).
MAX_SEED = 4_294_967_295

UnixTime = Annotated[int, Field(ge=FIRST_TIME, le=LAST_TIME)]
"""A time between the genesis block and 2100 [Unix s]."""


def jsonable(value: Any) -> Any:
    """Any typed value (a :class:`Result`, a dataclass, a list of them) as JSON-ready data, as
    :meth:`Result.to_json` gives it: NaN and infinities as null."""
    from pydantic import TypeAdapter

    return json.loads(TypeAdapter(type(value)).dump_json(value))


def finite_or_none(x: Any) -> float | None:
    """``x`` as a float, or None where it is missing, NaN or infinite (what a result shows for a
    value that does not exist, e.g. no payback)."""
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


#: How pydantic names a mapping's key that is a day (``datetime.date(2009, 1, 2)``).
_DATE_KEY = re.compile(r"^datetime\.date\((\d+), (\d+), (\d+)\)$")


def _part(part: int | str) -> str:
    m = _DATE_KEY.match(str(part))
    return date(*(int(x) for x in m.groups())).isoformat() if m else str(part)


def _field(loc: Sequence[int | str]) -> str:
    """A pydantic location as a dotted path: ``machines.0.count``, ``prices.2009-01-02``."""
    return ".".join(_part(part) for part in loc) or "input"


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text == text.strip()


def _bound(value: Any) -> str:
    """A bound as the refusal states it: a number plainly (10, 0.5, 1e-05), anything else as text."""
    return _shown(value) if isinstance(value, int | float) else str(value)


def _shown(value: Any) -> str:
    # A value reads the same whether it came typed (a CLI option, JSON, a library call) or as
    # text (a query string): a day is its ISO text, and only text that is not a number is quoted.
    if isinstance(value, date):
        value = value.isoformat()
    if isinstance(value, str) and _numeric(value):
        try:
            value = int(value)
        except ValueError:
            number = float(value)
            value = number if math.isfinite(number) else value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        value = int(value)  # 50.0 from a CLI option reads as 50, as it does from JSON or a query
    text = repr(value) if isinstance(value, str) and not _numeric(value) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _words(err: Mapping[str, Any]) -> str:
    """One pydantic error in the project's words (the same on every face)."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    got = f" (got {_shown(err['input'])})" if "input" in err and not isinstance(err["input"], dict | list) else ""
    bounds = {
        "less_than_equal": ("must be at most", "le"),
        "less_than": ("must be below", "lt"),
        "greater_than_equal": ("must be at least", "ge"),
        "greater_than": ("must be above", "gt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"{words} {_bound(ctx.get(key))}{got}"
    if kind == "multiple_of":
        return f"must be a multiple of {_bound(ctx.get('multiple_of'))}{got}"
    if kind == "extra_forbidden":
        return "is not a known field (check its spelling; see --help or the API's schema)"
    if kind == "missing":
        return "is required"
    if kind == "finite_number":
        return f"must be a finite number{got}"
    if kind in ("too_short", "too_long"):
        if err.get("input") is not None and isinstance(err["input"], str):
            lim = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
            return f"must be {'at least' if kind == 'too_short' else 'at most'} {lim} characters long"
        lim = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        return f"must hold {'at least' if kind == 'too_short' else 'at most'} {lim} item(s)"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number{got}"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number{got}"
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type", "date_from_datetime_inexact"):
        return f"must be a day as YYYY-MM-DD{got}"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false{got}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}{got}"
    if kind in ("string_type", "string_pattern_mismatch"):
        return f"must be text{' matching ' + str(ctx['pattern']) if 'pattern' in ctx else ''}{got}"
    if kind == "value_error":
        # A validator's own words: "Value error, <message>".
        msg = str(err.get("msg", ""))
        return msg.removeprefix("Value error, ")
    return str(err.get("msg", kind)) + got


def refusal(exc: ValidationError | Sequence[Mapping[str, Any]], model: str | None = None) -> str:
    """The one-line refusal of a request, from a pydantic validation error.

    Every error is named by its field (``pue must be at most 5 (got 50.0)``); several are
    joined with ``; ``. ``model`` prefixes the request's name where the field alone is unclear.
    """
    parts = []
    for err in exc.errors() if isinstance(exc, ValidationError) else exc:
        loc = [p for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        name = _field(loc)
        text = _words(err)
        parts.append(text if not loc and err.get("type") == "value_error" else f"{name} {text}")
    head = f"{model}: " if model else ""
    return head + "; ".join(parts)


def plain_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's errors as plain JSON data: the field's path (without ``body``/``query``), the
    error's type and :func:`refusal`'s words for it."""
    out = []
    for err in errors:
        loc = [p for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        out.append({"loc": loc, "type": str(err.get("type", "")), "msg": refusal([err])})
    return out


#: How many requests are being built inside one another (a fleet's machines inside the fleet).
_NESTING: ContextVar[int] = ContextVar("hashlens_request_nesting", default=0)


class Request(BaseModel):
    """A request's fields and bounds: unknown fields, NaN and infinities are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, str_strip_whitespace=True)

    def __init__(self, **data: Any) -> None:
        # A library call (``Operating(pue=50)``) is refused in the same words as the CLI and the
        # API. Pydantic calls an overridden __init__ while validating too (a body, a nested
        # model), so the API sees the same Refused and answers 422 with it. Only the outermost
        # request turns the error into a Refused: a nested one (``machines.0``) lets pydantic's
        # error through, which places it under the outer field (``machines.0.count``).
        depth = _NESTING.get()
        token = _NESTING.set(depth + 1)
        try:
            super().__init__(**data)
        except ValidationError as exc:
            if depth:
                raise
            raise Refused(refusal(exc), plain_errors(exc.errors())) from None
        finally:
            _NESTING.reset(token)

    @classmethod
    def build(cls, **fields: Any) -> Self:
        """The request from keyword fields (a CLI's options, a file's row); ``None`` means "not
        given" and leaves the field's default. A refusal raises
        :class:`~hashlens.errors.Refused` with :func:`refusal`'s words."""
        given = {k: v for k, v in fields.items() if v is not None}
        return cls.parse(given)

    @classmethod
    def parse(cls, data: Any) -> Self:
        """The request from parsed data (a JSON or YAML mapping), refused as :meth:`build` does."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise Refused(refusal(exc), plain_errors(exc.errors())) from None


class Result(BaseModel):
    """A result: typed fields with units in their names, serialised as JSON by :meth:`to_json`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data (what ``--json`` prints and the API sends): dates as
        ``YYYY-MM-DD``, a NaN or an infinity as null (JSON has neither)."""
        data: dict[str, Any] = json.loads(self.model_dump_json())
        return data

    def json_bytes(self) -> bytes:
        """:meth:`to_json` encoded compactly as UTF-8, without the round trip through Python
        objects (the API's answer body)."""
        return self.model_dump_json().encode()


#: The quantile levels every distribution is summarised at [-].
QUANTILE_LEVELS: tuple[float, ...] = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)


class Quantiles(Result):
    """A distribution's quantiles at :data:`QUANTILE_LEVELS`, in the unit of the field that
    holds it (``change_pct: Quantiles`` is in %). The one spelling: ``p05`` … ``p95``."""

    NAMES: ClassVar[tuple[str, ...]] = ("p05", "p10", "p25", "p50", "p75", "p90", "p95")

    p05: float
    p10: float
    p25: float
    p50: float
    p75: float
    p90: float
    p95: float

    @classmethod
    def of(cls, samples: Any) -> Quantiles:
        """The quantiles of a sample (numpy's default, linear interpolation)."""
        import numpy as np

        q = np.quantile(np.asarray(samples, dtype=float), QUANTILE_LEVELS)
        return cls(**dict(zip(cls.NAMES, (float(x) for x in q), strict=True)))


class QuantileSeries(Result):
    """Quantiles of a distribution along an axis (a month, a day): ``p50[i]`` is the median at
    step ``i``; the fields' unit is the holder's."""

    p05: list[float]
    p10: list[float]
    p25: list[float]
    p50: list[float]
    p75: list[float]
    p90: list[float]
    p95: list[float]

    @classmethod
    def of(cls, samples: Any, axis: int = 0) -> QuantileSeries:
        """Quantiles over ``axis`` of a 2-D sample (paths × steps with ``axis=0``)."""
        import numpy as np

        q = np.quantile(np.asarray(samples, dtype=float), QUANTILE_LEVELS, axis=axis)
        return cls(**{name: [float(x) for x in row] for name, row in zip(Quantiles.NAMES, q, strict=True)})
