"""Approvals: policy-driven, multi-level approval of any registered subject (see apps.approvals.registry)."""
