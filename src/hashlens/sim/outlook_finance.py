"""The fleet outlook's money: cash flows per path and month under a policy, NPV, and the IRR
by bisection with Horner's rule."""

from __future__ import annotations

import numpy as np

from hashlens.sim.outlook_paths import FleetArrays, Monthly
from hashlens.sim.outlook_request import Spec


def npv_monthly(flows: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Net present value per row of monthly cash flows (column 0 = month 0) at a monthly rate
    per row [same unit as the flows], by Horner's rule in x = 1/(1 + r):

    .. math:: NPV = \\sum_{m=0}^{M} f_m x^m = f_0 + x(f_1 + x(f_2 + \\dots + x f_M))

    M multiply-adds per row and no power.
    """
    x = 1.0 / (1.0 + rate)
    acc = flows[:, -1].copy()
    for m in range(flows.shape[1] - 2, -1, -1):
        acc *= x
        acc += flows[:, m]
    return acc


def irr_annual(flows: np.ndarray, iterations: int = 64) -> np.ndarray:
    """Annual IRR of monthly cash flows per row (column 0 = month 0), by bisection on the
    monthly rate r in (-0.99, 10) with the NPV by :func:`npv_monthly`; NaN where the NPV does
    not change sign there [-]: (1 + r)^12 − 1.

    64 halvings of the bracket reach adjacent floating-point rates (10.99 / 2^64 < 10^-18).
    """
    flows = np.ascontiguousarray(flows, dtype=float)
    lo = np.full(flows.shape[0], -0.99)
    hi = np.full(flows.shape[0], 10.0)
    f_lo = npv_monthly(flows, lo)
    ok = np.sign(f_lo) * np.sign(npv_monthly(flows, hi)) < 0
    s_lo = np.sign(f_lo)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        left = np.sign(npv_monthly(flows, mid)) == s_lo
        lo = np.where(left, mid, lo)
        hi = np.where(left, hi, mid)
    with np.errstate(invalid="ignore"):
        return np.where(ok, (1 + (lo + hi) / 2) ** 12 - 1, np.nan)


def cash_flows(
    spec: Spec, fa: FleetArrays, monthly: Monthly, policy: str
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Per path and month: revenue, costs, profit, net income, cash flow, cumulative cash,
    BTC held and position [USD, BTC]; and per path the NPV [USD] and annual IRR [-].

    Month 0 carries the capex, less the loan principal drawn. The profit fee is the share
    ``profit_fee`` of the month's profit (revenue - power - hosting) where that is positive;
    profit is after it. With ``hold_basis`` "btc_mined" the held share of the BTC mined is
    kept and the rest sold at each day's price; power, hosting, the profit fee and the loan
    payment are paid in cash. With "net_profit" the month's revenue is sold, and the held
    share of a positive profit is bought back in BTC at the month-end price (Braiins' HODL
    ratio). At the horizon's end the BTC held is valued at the last price and the machines at
    their book value (straight-line depreciation to the salvage share).
    """
    months = spec.months
    capex = float((spec.capex_usd * np.array([g.count for g in spec.groups])).sum())
    dep = np.zeros(months)
    dep[: spec.depreciation_months] = capex * (1 - spec.salvage_share) / spec.depreciation_months
    book_end = capex - dep.sum()
    zero = np.zeros(months)
    pay, interest, balance = spec.loan.schedule(months) if spec.loan else (zero, zero, zero)
    principal = spec.loan.principal_usd if spec.loan else 0.0
    rev, btc = monthly.usd[policy], monthly.btc[policy]
    power, hosting = monthly.power_usd[policy], monthly.hosting_usd[policy]
    operating = rev - power - hosting
    fee = spec.profit_fee * np.maximum(operating, 0.0)
    profit = operating - fee
    if spec.hold_basis == "net_profit":
        kept_usd = spec.hold_share * np.maximum(profit, 0.0)
        cf = profit - kept_usd - pay
        held = np.cumsum(kept_usd / monthly.price_end, axis=1)
    else:
        cf = (1 - spec.hold_share) * rev - power - hosting - fee - pay
        held = spec.hold_share * np.cumsum(btc, axis=1)
    cf0 = principal - capex
    cum = cf0 + np.cumsum(cf, axis=1)
    position = cum + held * monthly.price_end - balance
    terminal = held[:, -1] * monthly.price_end[:, -1] + book_end
    years = np.arange(1, months + 1) / 12
    disc = (1 + spec.discount_rate_annual) ** -years
    npv = cf0 + (cf * disc).sum(axis=1) + terminal * disc[-1]
    flows = np.concatenate([np.full((cf.shape[0], 1), cf0), cf], axis=1)
    flows[:, -1] += terminal
    out = {
        "revenue_usd": rev,
        "btc_mined": btc,
        "power_cost_usd": power,
        "hosting_usd": hosting,
        "profit_fee_usd": fee,
        "profit_usd": profit,
        "net_income_usd": profit - dep - interest,
        "cash_flow_usd": cf,
        "cumulative_cash_usd": cum,
        "btc_held": held,
        "position_usd": position,
    }
    return out, npv, irr_annual(flows)
