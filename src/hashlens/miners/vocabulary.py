"""The one vocabulary of listed miners' quarterly figures: each metric's unit, kind and meaning.

A fact names one metric of this table (or one of its aliases, the names other files use for the
same figure) in exactly its unit. Costs per BTC keep each company's own definition as its own
metric (``basis`` says what it includes), so two companies' "cost to mine" are never merged.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Units a fact may carry: money in millions of US dollars, coins, hashrate, unit costs, shares.
UNITS = ("USD m", "BTC", "ETH", "EH/s", "USD/BTC", "USD/PH/day", "percent")

#: Revenue segments that count as the pivot away from mining (AI cloud, HPC leases and HPC
#: data-centre colocation).
AI_HPC = "ai_hpc"


@dataclass(frozen=True)
class Metric:
    """One metric: its unit, what kind of figure it is, whether it may be negative, and for
    revenue its segment (``mining``, ``ai_hpc``, ``hosting``, ``engineering``,
    ``machine_sales``, ``other``); for costs per BTC or per PH/s per day, what the company's
    definition includes (``energy``, ``cash``: all cash costs of mining but not depreciation,
    ``all_in``: with depreciation, ``unstated``)."""

    name: str
    unit: str
    kind: str  # revenue, production, unit_cost, cost, income, hashrate, holdings, change
    description: str
    signed: bool = False
    segment: str | None = None
    basis: str | None = None  # for hashrate: average, period_end, installed
    aliases: tuple[str, ...] = ()


_METRICS = (
    Metric("revenue_total", "USD m", "revenue", "Total revenue of the period."),
    Metric(
        "revenue_mining",
        "USD m",
        "revenue",
        "Revenue from self-mining bitcoin.",
        segment="mining",
        aliases=("segment_revenue_mining",),
    ),
    Metric(
        "revenue_ai_cloud",
        "USD m",
        "revenue",
        "Revenue from AI cloud services (GPU compute rented out).",
        segment=AI_HPC,
        aliases=("segment_revenue_cloud",),
    ),
    Metric(
        "revenue_hpc_lease",
        "USD m",
        "revenue",
        "Revenue from leasing data-centre capacity to HPC/AI tenants.",
        segment=AI_HPC,
    ),
    Metric(
        "revenue_hpc_colocation",
        "USD m",
        "revenue",
        "Revenue from colocation in HPC data centres (Bit Digital's colocation segment).",
        segment=AI_HPC,
        aliases=("segment_revenue_colocation",),
    ),
    Metric(
        "revenue_hosting", "USD m", "revenue", "Revenue from hosting other parties' mining machines.", segment="hosting"
    ),
    Metric("revenue_engineering", "USD m", "revenue", "Revenue from engineering services.", segment="engineering"),
    Metric(
        "revenue_machine_sales",
        "USD m",
        "revenue",
        "Revenue from selling mining machines (Canaan's products).",
        segment="machine_sales",
        aliases=("revenue_products",),
    ),
    Metric(
        "revenue_staking",
        "USD m",
        "revenue",
        "Revenue from staking other coins (ETH).",
        segment="other",
        aliases=("segment_revenue_eth_staking",),
    ),
    Metric(
        "revenue_total_yoy_change",
        "percent",
        "change",
        "Total revenue against the same period a year earlier.",
        signed=True,
    ),
    Metric("btc_produced", "BTC", "production", "Bitcoin produced (mined) in the period.", aliases=("btc_mined",)),
    Metric("btc_holdings", "BTC", "holdings", "Bitcoin held at the period's end."),
    Metric("eth_holdings", "ETH", "holdings", "Ether held at the period's end."),
    Metric(
        "avg_operational_hashrate",
        "EH/s",
        "hashrate",
        "Average operating hashrate over the period.",
        basis="average",
    ),
    Metric(
        "total_hashrate",
        "EH/s",
        "hashrate",
        "Operating hashrate at the period's end, own and leased machines.",
        basis="period_end",
    ),
    Metric(
        "energized_hashrate",
        "EH/s",
        "hashrate",
        "Installed (energized) hashrate at the period's end; not all of it need have run.",
        basis="installed",
    ),
    Metric(
        "purchased_energy_cost_per_btc",
        "USD/BTC",
        "unit_cost",
        "MARA: purchased energy per bitcoin mined at owned sites.",
        basis="energy",
    ),
    Metric(
        "cost_per_ph_day",
        "USD/PH/day",
        "unit_cost",
        "MARA: cost of revenues (energy, hosting and other direct costs, excluding depreciation) per "
        "average operating PH/s per day.",
        basis="cash",
    ),
    Metric(
        "direct_cost_to_mine_per_btc",
        "USD/BTC",
        "unit_cost",
        "Riot: direct cost to mine one bitcoin, excluding depreciation.",
        basis="cash",
    ),
    Metric(
        "avg_cost_to_mine_per_btc",
        "USD/BTC",
        "unit_cost",
        "Riot: average cost to mine one bitcoin, excluding depreciation.",
        basis="cash",
    ),
    Metric(
        "cost_per_btc_mined",
        "USD/BTC",
        "unit_cost",
        "CleanSpark: cost per bitcoin mined as a third party computed it (definition not stated).",
        basis="unstated",
    ),
    Metric(
        "cost_to_mine_per_btc_ex_depreciation",
        "USD/BTC",
        "unit_cost",
        "Cango: cost to mine one bitcoin excluding depreciation.",
        basis="cash",
    ),
    Metric("avg_cash_cost_per_btc", "USD/BTC", "unit_cost", "Cango: average cash cost per bitcoin.", basis="cash"),
    Metric(
        "all_in_cost_per_btc",
        "USD/BTC",
        "unit_cost",
        "Cango: all-in cost per bitcoin (cash cost plus depreciation).",
        basis="all_in",
    ),
    Metric(
        "cost_mining",
        "USD m",
        "cost",
        "Cost of mining revenue as reported (Canaan's includes the depreciation of its mining machines).",
    ),
    Metric("depreciation_mining_rigs", "USD m", "cost", "Depreciation of mining machines in the period."),
    Metric("depreciation", "USD m", "cost", "Depreciation and amortisation of the period."),
    Metric("impairment_hardware", "USD m", "cost", "Impairment of mining hardware in the period."),
    Metric("operating_income", "USD m", "income", "Operating income (negative: operating loss).", signed=True),
    Metric("net_income", "USD m", "income", "Net income (negative: net loss).", signed=True),
    Metric(
        "digital_asset_value_change",
        "USD m",
        "income",
        "Change in the fair value of digital assets held (negative: a decline).",
        signed=True,
    ),
)

#: Every metric by its name.
METRICS: dict[str, Metric] = {m.name: m for m in _METRICS}

#: The name each alias stands for.
ALIASES: dict[str, str] = {a: m.name for m in _METRICS for a in m.aliases}

#: Plausibility bounds per unit: no company mined, held or sold more than the 21 M coins, ran
#: more than the whole network (about 1,100 EH/s at its 2026 high; 3,000 leaves room) or booked
#: a trillion dollars in a quarter.
LIMITS = {"BTC": 21_000_000.0, "EH/s": 3_000.0, "USD m": 1_000_000.0, "ETH": 200_000_000.0}


def metric_named(name: str) -> Metric | None:
    """The metric a name (or an alias) stands for, or None."""
    key = name.strip().lower()
    return METRICS.get(ALIASES.get(key, key))


def revenue_segments() -> dict[str, str]:
    """Revenue metrics that are segments, with their segment."""
    return {m.name: m.segment for m in _METRICS if m.kind == "revenue" and m.segment}
