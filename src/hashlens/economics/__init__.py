"""Mining economics: hashprice, unit economics, cost of production, ASICs, network power.

Pure, vectorised functions (numbers or numpy arrays in, same shape out) with units in their
names; :mod:`~hashlens.economics.daily` and :mod:`~hashlens.economics.power` read the store
(through its typed queries and the chain's clock).
"""

from hashlens.economics.hashprice import (
    hashprice_btc_per_ph_day,
    hashprice_usd_per_ph_day,
    hashvalue_sats_per_th_day,
)

__all__ = ["hashprice_btc_per_ph_day", "hashprice_usd_per_ph_day", "hashvalue_sats_per_th_day"]
