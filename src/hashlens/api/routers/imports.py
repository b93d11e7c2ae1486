"""Token-gated imports, each one write batch through the store holder (which drops the cached
results). The token is checked before the body is read (:mod:`hashlens.api.middleware`) and
again here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from hashlens.api.deps import Holder, require_token
from hashlens.api.models import AUTH_ERRORS, MinersImport
from hashlens.chain.prices import PricesImported
from hashlens.economics.models import PricesImport

router = APIRouter(prefix="/v1/import", tags=["imports"], dependencies=[Depends(require_token)], responses=AUTH_ERRORS)


@router.post("/prices", response_model=PricesImported)
def import_prices_ep(holder: Holder, req: PricesImport) -> PricesImported:
    """Store a daily price series (refused with gaps unless ``allow_gaps``, and where it differs
    from stored prices unless ``replace``)."""
    from hashlens.chain.prices import store_prices
    from hashlens.economics.daily import price_points

    with holder.writing() as store:
        return store_prices(store, price_points(req), req.source, req.allow_gaps, req.replace)


@router.post("/miners")
def import_miners(holder: Holder, req: MinersImport) -> dict[str, Any]:
    """Store listed miners' monthly reports and treasury snapshots."""
    from hashlens.miners.dataset import Dataset, report_from, treasury_from
    from hashlens.miners.storeio import import_dataset

    ds = Dataset(
        reports=[report_from(r, f"reports[{i}]", req.source) for i, r in enumerate(req.reports)],
        treasuries=[treasury_from(t, f"treasuries[{i}]", req.source) for i, t in enumerate(req.treasuries)],
    )
    with holder.writing() as store:
        return import_dataset(store, ds, req.source)
