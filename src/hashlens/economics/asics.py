"""The ASIC catalogue: bundled models with cited specifications, extendable by a user file."""

from __future__ import annotations

import csv
import difflib
import io
from datetime import date
from importlib import resources
from pathlib import Path

from pydantic import Field, field_serializer

from hashlens.contracts import Result
from hashlens.errors import HashlensError

#: Relative tolerance between a row's efficiency and W / (TH/s).
EFFICIENCY_TOLERANCE = 0.03
COLUMNS = ("maker", "model", "release_date", "hashrate_ths", "power_w", "efficiency_j_per_th", "cooling", "source")


class Asic(Result):
    """One machine model of the catalogue (``hashlens asics``, ``GET /v1/asics``) with its rated
    specification and where it is from."""

    maker: str
    model: str
    release_date: date = Field(..., description="Release month, YYYY-MM (the first of the month).")
    hashrate_ths: float = Field(..., description="Rated hashrate [TH/s].")
    power_w: float = Field(..., description="Rated power at the wall [W].")
    efficiency_j_per_th: float = Field(..., description="power_w / hashrate_ths [J/TH].")
    cooling: str = Field(..., description="air, hydro or immersion.")
    source: str = Field(..., description="Where the specification is from.")

    @field_serializer("release_date")
    def _month(self, d: date) -> str:
        return d.strftime("%Y-%m")

    @property
    def name(self) -> str:
        """Maker and model, as the catalogue names it."""
        return f"{self.maker} {self.model}"


def _num(row: dict[str, str], col: str, where: str) -> float:
    try:
        v = float(row[col])
    except (KeyError, TypeError, ValueError):
        raise HashlensError(f"{where}: {col} {row.get(col)!r} is not a number") from None
    if v <= 0:
        raise HashlensError(f"{where}: {col} must be positive (got {v:g})")
    return v


def parse_catalogue(text: str, source: str) -> list[Asic]:
    """Parse and validate catalogue rows; errors name the file and line."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [
        c for c in ("maker", "model", "release_date", "hashrate_ths", "power_w") if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise HashlensError(f"{source}: missing column(s) {', '.join(missing)}")
    out = []
    for lineno, row in enumerate(reader, start=2):
        where = f"{source}: line {lineno} ({row.get('model') or '?'})"
        ths, w = _num(row, "hashrate_ths", where), _num(row, "power_w", where)
        eff = w / ths
        if row.get("efficiency_j_per_th"):
            given = _num(row, "efficiency_j_per_th", where)
            if abs(given - eff) / eff > EFFICIENCY_TOLERANCE:
                raise HashlensError(
                    f"{where}: efficiency {given:g} J/TH is inconsistent with {w:g} W / {ths:g} TH/s = {eff:.1f} J/TH"
                )
        try:
            y, m = (int(x) for x in (row["release_date"] or "").split("-")[:2])
            released = date(y, m, 1)
        except ValueError:
            raise HashlensError(f"{where}: release_date {row['release_date']!r} must be YYYY-MM") from None
        if not row.get("model") or not row.get("maker"):
            raise HashlensError(f"{where}: maker and model are required")
        out.append(
            Asic(
                maker=row["maker"].strip(),
                model=row["model"].strip(),
                release_date=released,
                hashrate_ths=ths,
                power_w=w,
                efficiency_j_per_th=round(eff, 2),
                cooling=(row.get("cooling") or "air").strip(),
                source=(row.get("source") or "").strip(),
            )
        )
    return out


def load_catalogue(user_file: str | Path | None = None) -> list[Asic]:
    """The bundled catalogue, plus (and overridden by) the models of a user CSV file."""
    text = resources.files("hashlens.data").joinpath("asics.csv").read_text()
    models = {a.name.lower(): a for a in parse_catalogue(text, "bundled asics.csv")}
    if user_file is not None:
        from hashlens.sources.reader import read_text

        p = Path(user_file)
        for a in parse_catalogue(read_text(p, "ASIC catalogue file"), str(p)):
            models[a.name.lower()] = a
    return sorted(models.values(), key=lambda a: (a.release_date, a.name))


def _aliases(a: Asic) -> set[str]:
    base = a.model.split(" (")[0].strip().lower()
    short = base
    for line in ("antminer ", "whatsminer ", "avalonminer ", "ebit "):
        short = short.removeprefix(line)
    return {a.name.lower(), a.model.lower(), base, short, f"{a.maker.lower()} {base}"}


def find_model(catalogue: list[Asic], name: str, where: str = "") -> Asic:
    """Look a model up by "Maker Model", by model, or by its short name ("S19 Pro", "M60S"),
    case-insensitive; an ambiguous or unknown name is an error naming the candidates."""
    key = " ".join(name.strip().lower().split())
    exact = [a for a in catalogue if key in (a.name.lower(), a.model.lower())]
    if exact:
        return exact[0]
    hits = [a for a in catalogue if key in _aliases(a)]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise HashlensError(f"{where}ASIC model {name!r} is ambiguous: {', '.join(repr(a.name) for a in hits)}")
    names = [a.name for a in catalogue]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "; see `hashlens asics`"
    raise HashlensError(f"{where}unknown ASIC model {name!r}{hint}")
