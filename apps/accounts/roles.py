"""The roles of RetailOps: one Django group each, with the permissions listed here.

`store_manager` is scoped to the locations assigned to the user (LocationAssignment); every other
role holds `accounts.view_all_locations`. Apps that add permissions later list them here; the
post-migrate sync keeps the groups in step (it only adds what is missing and never removes
permissions an admin granted by hand).
"""

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS

STORE_MANAGER = "store_manager"
APPROVER = "approver"
FINANCE = "finance"
OPS_ADMIN = "ops_admin"
INTEGRATION = "integration"

VIEW_ALL = "accounts.view_all_locations"
_VIEW_OPS = [
    "catalog.view_product",
    "catalog.view_location",
    "orders.view_order",
    "stock.view_stocklevel",
    "stock.view_stockmovement",
    "core.view_incident",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    STORE_MANAGER: [
        *_VIEW_OPS,
        "orders.transition_order",
        "stock.add_stockreceipt",
        "core.act_on_incident",
        "stock.add_stockadjustment",
        "stock.view_stockadjustment",
        "stock.add_cyclecount",
        "stock.view_cyclecount",
        "stock.add_stocktransfer",
        "stock.view_stocktransfer",
        "stock.transition_transfer",
        "stock.view_replenishmentrule",
    ],
    APPROVER: [
        *_VIEW_OPS,
        VIEW_ALL,
        "stock.approve_adjustment",
        "stock.view_stockadjustment",
        "stock.view_cyclecount",
        "stock.approve_transfer",
        "stock.view_stocktransfer",
        "approvals.view_approvalrequest",
        "approvals.add_delegation",
        "approvals.view_delegation",
    ],
    FINANCE: [
        *_VIEW_OPS,
        VIEW_ALL,
        "core.act_on_incident",
        "approvals.approve_as_finance",
        "stock.view_stockadjustment",
        "stock.view_cyclecount",
        "approvals.view_approvalrequest",
        "approvals.add_delegation",
        "approvals.view_delegation",
    ],
    OPS_ADMIN: [
        *_VIEW_OPS,
        VIEW_ALL,
        "catalog.add_product",
        "catalog.change_product",
        "catalog.add_location",
        "catalog.change_location",
        "orders.add_order",
        "orders.transition_order",
        "stock.add_stockreceipt",
        "core.act_on_incident",
        "stock.add_stockadjustment",
        "stock.view_stockadjustment",
        "stock.add_cyclecount",
        "stock.view_cyclecount",
        "stock.approve_adjustment",
        "approvals.approve_as_finance",
        "approvals.view_approvalrequest",
        "approvals.add_delegation",
        "approvals.view_delegation",
        "approvals.manage_approvalrequest",
        "stock.add_stocktransfer",
        "stock.view_stocktransfer",
        "stock.transition_transfer",
        "stock.approve_transfer",
        "stock.view_replenishmentrule",
        "stock.add_replenishmentrule",
        "stock.change_replenishmentrule",
    ],
    INTEGRATION: [
        *_VIEW_OPS,
        VIEW_ALL,
        "catalog.add_product",
        "catalog.add_location",
        "orders.add_order",
        "orders.transition_order",
        "stock.add_stockreceipt",
        "stock.add_stockadjustment",
        "stock.view_stockadjustment",
        "stock.add_cyclecount",
        "stock.view_cyclecount",
    ],
}


def sync_roles(apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create the role groups and give them every listed permission that exists."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = {tuple(n.split(".", 1)) for n in names}
        perms = [
            p
            for p in Permission.objects.using(using).select_related("content_type")
            if (p.content_type.app_label, p.codename) in wanted
        ]
        group.permissions.add(*perms)


def sync_roles_after_migrate(sender, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    """Runs once per migrate, after the last installed app has created its permissions."""
    # Django sends post_migrate only for apps that have a models module.
    with_models = [config for config in global_apps.get_app_configs() if config.models_module is not None]
    if sender is with_models[-1]:
        sync_roles(using=using)


# --- Returns (apps.returns): store managers take returns back at their stores; approvers review risky
# returns and approve refunds; finance approves and confirms refunds.
_RETURNS_PERMISSIONS = {
    STORE_MANAGER: ["returns.view_return", "returns.add_return", "returns.receive_return"],
    APPROVER: ["returns.view_return", "returns.authorize_return", "returns.approve_refund"],
    FINANCE: ["returns.view_return", "returns.approve_refund", "returns.confirm_refund"],
    OPS_ADMIN: [
        "returns.view_return",
        "returns.add_return",
        "returns.receive_return",
        "returns.authorize_return",
        "returns.approve_refund",
        "returns.confirm_refund",
    ],
    INTEGRATION: ["returns.view_return", "returns.add_return", "returns.receive_return", "returns.confirm_refund"],
}
for _role, _names in _RETURNS_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] += _names


# --- Currencies (apps.core): finance keeps the exchange-rate table; everyone who sees documents may read it.
_CURRENCY_PERMISSIONS = {
    FINANCE: ["core.view_exchangerate", "core.add_exchangerate", "core.change_exchangerate"],
    OPS_ADMIN: ["core.view_exchangerate", "core.add_exchangerate", "core.change_exchangerate"],
    APPROVER: ["core.view_exchangerate"],
    INTEGRATION: ["core.view_exchangerate", "core.add_exchangerate"],
}
for _role, _names in _CURRENCY_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] += _names


# --- Procurement (apps.suppliers): ops admins buy, approvers approve spend, warehouses (store managers
# at their locations) receive, finance approves the upper band and accepts invoice variances.
_PROCUREMENT_VIEW = [
    "suppliers.view_supplier",
    "suppliers.view_purchaseorder",
    "suppliers.view_supplierinvoice",
    "suppliers.view_reorderrule",
]
_PROCUREMENT_PERMISSIONS = {
    STORE_MANAGER: [*_PROCUREMENT_VIEW, "suppliers.receive_purchaseorder"],
    APPROVER: [*_PROCUREMENT_VIEW, "suppliers.approve_purchaseorder"],
    FINANCE: [*_PROCUREMENT_VIEW, "suppliers.add_supplierinvoice", "suppliers.accept_invoice_variance"],
    OPS_ADMIN: [
        *_PROCUREMENT_VIEW,
        "suppliers.add_supplier",
        "suppliers.change_supplier",
        "suppliers.add_purchaseorder",
        "suppliers.transition_purchaseorder",
        "suppliers.receive_purchaseorder",
        "suppliers.add_supplierinvoice",
        "suppliers.accept_invoice_variance",
        "suppliers.add_reorderrule",
        "suppliers.change_reorderrule",
    ],
    INTEGRATION: [
        *_PROCUREMENT_VIEW,
        "suppliers.add_supplier",
        "suppliers.add_purchaseorder",
        "suppliers.receive_purchaseorder",
        "suppliers.add_supplierinvoice",
    ],
}
for _role, _names in _PROCUREMENT_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] += _names


# --- Reconciliation (apps.reconciliation): finance uploads settlement files and bank statements and
# works the exceptions; ops admins can do the same.
_RECONCILIATION_PERMISSIONS = {
    FINANCE: ["reconciliation.view_reconciliationrun", "reconciliation.import_reconciliationrun"],
    OPS_ADMIN: ["reconciliation.view_reconciliationrun", "reconciliation.import_reconciliationrun"],
}
for _role, _names in _RECONCILIATION_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] += _names


# --- Journal (apps.journal): finance keeps the ledger (manual entries, reversals, period close, reports);
# ops admins read it and may post manual entries (approved by finance); approvers read it.
_JOURNAL_VIEW = ["journal.view_account", "journal.view_journalentry", "journal.view_period"]
_JOURNAL_PERMISSIONS = {
    FINANCE: [
        *_JOURNAL_VIEW,
        "journal.view_financial_reports",
        "journal.add_journalentry",
        "journal.reverse_journalentry",
        "journal.close_period",
        "journal.post_soft_closed_period",
    ],
    OPS_ADMIN: [*_JOURNAL_VIEW, "journal.view_financial_reports", "journal.add_journalentry"],
    APPROVER: [*_JOURNAL_VIEW],
}
for _role, _names in _JOURNAL_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] += _names
