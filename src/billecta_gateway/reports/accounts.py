"""How each movement of the reconciliation report is booked: accounts from articles, payment
means and the `[reconciliation]` table of the reports configuration (BAS defaults).

Amounts are signed debit-positive: a movement of +x is a debit of x, -x a credit of x.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from billecta_gateway.config import ConfigurationError

CENT = Decimal("0.01")
PLAN_KEYS = frozenset(
    {
        "receivables_account",
        "sales_account",
        "rounding_account",
        "writeoff_account",
        "credit_account",
        "vat_accounts",
        "payment_accounts",
    }
)


@dataclass(frozen=True)
class AccountPlan:
    """The accounts a movement falls back to when its article or payment names none."""

    receivables_account: str = "1510"
    sales_account: str = "3001"
    rounding_account: str = "3740"
    writeoff_account: str = "6351"
    credit_account: str = "3001"
    vat_accounts: dict[str, str] = field(
        default_factory=lambda: {"25": "2611", "12": "2621", "6": "2631", "default": "2611"}
    )
    payment_accounts: dict[str, str] = field(default_factory=lambda: {"DEFAULT": "1930"})

    @classmethod
    def from_config(cls, data: Any) -> AccountPlan:
        """The plan from the `[reconciliation]` table (absent keys keep their defaults)."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ConfigurationError("reports configuration: [reconciliation] must be a table")
        unknown = set(data) - PLAN_KEYS
        if unknown:
            raise ConfigurationError(
                f"reports configuration: [reconciliation] has unknown keys {sorted(unknown)}"
            )
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key in ("vat_accounts", "payment_accounts"):
                if not isinstance(value, dict) or not all(
                    isinstance(v, str) and v for v in value.values()
                ):
                    raise ConfigurationError(
                        f"reports configuration: [reconciliation.{key}] maps keys to accounts"
                    )
                merged = dict(getattr(cls(), key))
                normalize = _vat_key if key == "vat_accounts" else str.upper
                merged.update({normalize(k): v for k, v in value.items()})
                values[key] = merged
            elif isinstance(value, str) and value:
                values[key] = value
            else:
                raise ConfigurationError(
                    f"reports configuration: [reconciliation] {key} must be an account number"
                )
        return cls(**values)

    def vat_account(self, rate: Decimal | None) -> str:
        """The output VAT account of a VAT rate (percent)."""
        key = _vat_key(str(rate)) if rate is not None else "default"
        return self.vat_accounts.get(key) or self.vat_accounts.get("default", "2611")

    def payment_account(self, own: str | None, mean_code: str | None) -> str:
        """A payment's own account, else its payment mean's, else the default one."""
        if own:
            return own
        if mean_code and mean_code.strip().upper() in self.payment_accounts:
            return self.payment_accounts[mean_code.strip().upper()]
        return self.payment_accounts.get("DEFAULT", "1930")


def _vat_key(rate: str) -> str:
    if rate.lower() == "default":
        return "default"
    try:
        number = Decimal(rate)
    except InvalidOperation:
        raise ConfigurationError(
            f"reports configuration: VAT rate {rate!r} is not a number"
        ) from None
    return str(number.normalize()) if number != number.to_integral_value() else str(int(number))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class InvoiceLine:
    """An order row as booked: net amount, VAT rate, the article's account and its name."""

    net: Decimal
    vat_rate: Decimal | None
    account: str | None
    description: str


def invoice_entries(
    plan: AccountPlan,
    *,
    total: Decimal,
    vat_amount: Decimal | None,
    lines: list[InvoiceLine],
) -> list[tuple[str, Decimal, str]]:
    """(account, signed amount, description) of an invoice: the total debited to receivables,
    each row's net credited to its article's account, its VAT to the VAT account of its rate,
    and what is left (öre rounding) to the rounding account. Without rows, the total less its
    VAT is credited to the sales account."""
    entries: list[tuple[str, Decimal, str]] = [(plan.receivables_account, total, "Invoice total")]
    if not lines:
        vat = vat_amount or Decimal(0)
        entries.append((plan.sales_account, -(total - vat), "Sales"))
        if vat:
            entries.append((plan.vat_account(None), -vat, "VAT"))
        return entries
    booked = Decimal(0)
    vat_by_account: dict[tuple[str, str], Decimal] = {}
    for line in lines:
        net = cents(line.net)
        entries.append((line.account or plan.sales_account, -net, line.description))
        booked += net
        if line.vat_rate:
            vat = cents(line.net * line.vat_rate / 100)
            key = (plan.vat_account(line.vat_rate), f"VAT {line.vat_rate.normalize():f}%")
            vat_by_account[key] = vat_by_account.get(key, Decimal(0)) + vat
            booked += vat
    for (account, description), vat in vat_by_account.items():
        entries.append((account, -vat, description))
    rest = total - booked
    if rest:
        entries.append((plan.rounding_account, -rest, "Rounding"))
    return entries


def payment_entries(
    plan: AccountPlan,
    *,
    kind: str | None,
    amount: Decimal,
    own_account: str | None,
    mean_code: str | None,
) -> list[tuple[str, Decimal, str]]:
    """(account, signed amount, description) of a payment, write-off or credit: the money's
    account debited, receivables credited."""
    if kind == "writeoff":
        account, text = own_account or plan.writeoff_account, "Write-off"
    elif kind == "credit":
        account, text = own_account or plan.credit_account, "Credit"
    else:
        account = plan.payment_account(own_account, mean_code)
        text = f"Payment ({mean_code})" if mean_code else "Payment"
    return [(account, amount, text), (plan.receivables_account, -amount, text)]
