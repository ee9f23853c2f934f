"""Pure, exact rule arithmetic (Decimal only) used by the calculation stages.

`tiers` (rate tables), `caps` (limits and the amount cut), `quotas` (seasonality, proration, ramp) and
`true_up` (paying the increment of an earning to date). Nothing here rounds: the engine rounds at the
points the plan declares.
"""
