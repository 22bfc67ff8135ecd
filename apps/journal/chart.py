"""The seeded retail chart of accounts (codes are what the posting rules name).

Migration 0003 seeds it; `chart_ensure` puts back any seeded account that is missing (a database
flushed by a transactional test, or restored without its data migrations) so a posting rule never
fails for want of its account. It never changes or reactivates an account finance has edited.
"""

ACCOUNTS: list[tuple[str, str, str, str, str]] = [
    ("1000", "Bank", "asset", "", "Operating bank account; payouts land here"),
    ("1100", "Card clearing", "asset", "", "Card and wallet charges not yet paid out by the provider"),
    ("1200", "Accounts receivable", "asset", "", "Amounts owed by marketplaces and invoice customers"),
    ("1300", "Inventory", "asset", "", "Goods on hand at moving average cost, per location"),
    ("1310", "Goods in transit", "asset", "", "Transfers dispatched and not yet received"),
    ("2000", "Accounts payable", "liability", "", "Supplier invoices matched and not yet paid"),
    ("2100", "Goods received not invoiced", "liability", "", "Purchase receipts awaiting the supplier invoice"),
    ("2200", "Sales tax payable", "liability", "", "Tax contained in tax-inclusive prices"),
    ("3000", "Opening balance equity", "equity", "", "Opening stock and balances brought in"),
    ("3100", "Inventory adjustments", "equity", "", "Found goods and count gains at average cost"),
    ("4000", "Sales revenue: web", "revenue", "web", "Net of sales tax"),
    ("4010", "Sales revenue: store", "revenue", "store", "Net of sales tax"),
    ("4020", "Sales revenue: marketplace", "revenue", "marketplace", "Net of sales tax"),
    ("4100", "Shipping income", "revenue", "", "Shipping charged to customers"),
    ("4500", "Returns and refunds", "revenue", "", "Contra revenue: refunds granted, net of sales tax"),
    ("5000", "Cost of goods sold", "expense", "", "Goods handed over, at moving average cost"),
    ("5100", "Inventory write-offs", "expense", "", "Damage, shrink, scrapped returns, transfer and count losses"),
    ("5200", "Purchase price variance", "expense", "", "Invoice cost above (debit) or below (credit) receipt cost"),
    ("6000", "Payment fees", "expense", "", "Card and payout fees charged by payment providers"),
]
SEEDED = {code for code, *_ in ACCOUNTS}


def chart_ensure(account_model=None, using: str = "default") -> int:
    """Create the seeded accounts that do not exist. Returns how many were created."""
    if account_model is None:
        from apps.journal.models import Account as account_model  # noqa: N813 - the model class
    existing = set(account_model.objects.using(using).values_list("code", flat=True))
    missing = [
        account_model(code=code, name=name, type=kind, channel=channel, description=desc)
        for code, name, kind, channel, desc in ACCOUNTS
        if code not in existing
    ]
    account_model.objects.using(using).bulk_create(missing, ignore_conflicts=True)
    return len(missing)
