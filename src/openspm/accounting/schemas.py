"""The accounting policy file: a YAML document validated by Pydantic, turned into an `AccountingPolicy`.

```yaml
basis: contract_term            # or expected_benefit_months
expected_benefit_months: 60     # the expected customer life; needed by that basis or renewals_commensurate: false
renewals_commensurate: true     # false: amortize the initial commission over expected_benefit_months
practical_expedient: true       # expense at once a cost amortized over 12 months or less
scale: 2                        # each month's amortization is rounded to this many places ...
rounding: half_up               # ... with this mode (half_up, half_even, down, up)
accounts:
  asset: Deferred commissions
  expense: Commission expense
  accrued: Accrued commissions
  impairment: Commission impairment
```

Every key is optional; a file with a mistake is refused with `FILE @ KEY: problem`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openspm.calc.rules.amortization import AccountingPolicy, AmortizationBasis
from openspm.core.errors import InvalidInput


class PolicyAccounts(BaseModel):
    """General-ledger account names of the commission accounting journal."""

    model_config = ConfigDict(extra="forbid")

    asset: str = Field("Deferred commissions", min_length=1)
    expense: str = Field("Commission expense", min_length=1)
    accrued: str = Field("Accrued commissions", min_length=1)
    impairment: str = Field("Commission impairment", min_length=1)


class PolicyFile(BaseModel):
    """An accounting policy file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    basis: AmortizationBasis = AmortizationBasis.CONTRACT_TERM
    expected_benefit_months: int | None = Field(None, ge=1)
    renewals_commensurate: bool = True
    practical_expedient: bool = True
    scale: int = Field(2, ge=0, le=12)
    rounding: str = "half_up"
    accounts: PolicyAccounts = PolicyAccounts()


def read_yaml(path: Path, what: str) -> dict[str, Any]:
    """A YAML mapping from `path`; one clear error when the file is missing or not a mapping."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"{path}: {what} not found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: not a valid YAML {what}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: a {what} must be a YAML mapping")
    return data


def policy_from(data: dict[str, Any], source: str = "policy") -> AccountingPolicy:
    """An `AccountingPolicy` from a policy document (a dict as read from YAML); errors say `SOURCE @ KEY`."""
    try:
        parsed = PolicyFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{source} @ {key}: {first['msg']}") from None
    try:
        return AccountingPolicy(
            basis=parsed.basis,
            expected_benefit_months=parsed.expected_benefit_months,
            renewals_commensurate=parsed.renewals_commensurate,
            practical_expedient=parsed.practical_expedient,
            scale=parsed.scale,
            rounding=parsed.rounding,
            asset_account=parsed.accounts.asset,
            expense_account=parsed.accounts.expense,
            accrued_account=parsed.accounts.accrued,
            impairment_account=parsed.accounts.impairment,
        )
    except InvalidInput as exc:
        raise InvalidInput(f"{source}: {exc}") from None


def load_policy(path: Path | None = None, **overrides: Any) -> AccountingPolicy:
    """The policy of `path` (a YAML policy file; none: every default), with `overrides` (keys of the file,
    e.g. `basis`, `practical_expedient`; a value of None leaves the file's or the default's) on top."""
    data = read_yaml(path, "accounting policy file") if path is not None else {}
    data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    return policy_from(data, str(path) if path is not None else "policy")
