"""Return writes: create (scored and authorized or held), review, receive, inspect, refund, close.

Each service locks the return row (creation locks the order row, so concurrent returns of one
order cannot exceed what was shipped), calls the pure FSM transition, saves, writes history,
stock movements and outbox events in one transaction. Lock order: order or return row first,
then stock levels (inside apps.stock.services) in primary-key order.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from apps.catalog.models import Location, Product
from apps.core.errors import DomainError, InvalidTransition, NotFound
from apps.core.outbox import Event, outbox_emit
from apps.core.types import Actor, real_user
from apps.orders.services import order_lock
from apps.returns import scoring, selectors
from apps.returns.events import return_event
from apps.returns.models import Return, ReturnHistory, ReturnInspection, ReturnLine
from apps.returns.states import RETURNABLE_ORDER_STATUSES, Band, Disposition, RefundApproval, ReturnStatus
from apps.stock.models import MovementKind
from apps.stock.services import stock_post_movements

SUBJECT_REFUND = "returns.refund"
S = ReturnStatus
CENT = Decimal("0.01")
# Goods that leave again after arriving: posted in (RETURN) and out (this kind) so the ledger shows both.
_OUTBOUND_KIND: dict[str, str] = {
    Disposition.WRITE_OFF: MovementKind.WRITE_OFF,
    Disposition.RETURN_TO_VENDOR: MovementKind.RETURN_TO_VENDOR,
}


@dataclass(frozen=True)
class ReturnLineInput:
    sku: str
    quantity: int


@dataclass(frozen=True)
class InspectionInput:
    sku: str
    quantity: int
    disposition: str
    note: str = ""


def _history(ret: Return, from_status: str, actor: Any, reason: str, at=None) -> ReturnHistory:
    return ReturnHistory(
        ret=ret,
        from_status=from_status,
        to_status=ret.status,
        actor=real_user(actor),
        reason=reason[:500],
        at=at or timezone.now(),
    )


def _lock(return_id: int) -> Return:
    ret = Return.objects.select_for_update(of=("self",)).select_related("order").filter(pk=return_id).first()
    if ret is None:
        raise NotFound(f"Return {return_id} does not exist")
    return ret


def _check(ret: Return, method: Callable[..., None], verb: str) -> None:
    if not can_proceed(method):
        raise InvalidTransition(
            f"Return {ret.number} cannot {verb} from status {ret.status!r}", extra={"status": ret.status}
        )


def return_create(
    *,
    order_id: int,
    channel: str,
    reason: str,
    lines: Sequence[ReturnLineInput],
    actor: Actor | None,
    note: str = "",
    location: Location | None = None,
) -> Return:
    """Request a return of (part of) a handed-over order, score it and authorize it or hold it for review.

    Locks the order row, so concurrent returns of one order never exceed shipped − already returned
    (rejected returns free their quantities). Raises DomainError (409) listing every over-returned SKU.
    """
    requested: dict[str, int] = defaultdict(int)
    for ln in lines:
        requested[ln.sku] += ln.quantity
    if not requested:
        raise DomainError("A return needs at least one line", code="empty_return")
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        if order.status not in RETURNABLE_ORDER_STATUSES:
            raise DomainError(
                f"Order {order.number} has not been handed to the customer (status {order.status!r})",
                code="order_not_returnable",
                extra={"status": order.status},
            )
        available = selectors.returnable_quantities(order=order)
        unknown = sorted(sku for sku in requested if sku not in available)
        if unknown:
            raise DomainError(
                f"Not on order {order.number}: {', '.join(unknown)}", code="not_on_order", extra={"skus": unknown}
            )
        over = [
            {"sku": sku, "requested": q, "returnable": available[sku]["returnable"]}
            for sku, q in sorted(requested.items())
            if q > available[sku]["returnable"]
        ]
        if over:
            raise DomainError(
                "More than was shipped and not yet returned: "
                + ", ".join(f"{o['sku']} (requested {o['requested']}, returnable {o['returnable']})" for o in over),
                code="over_return",
                extra={"lines": over},
            )
        now = timezone.now()
        inputs = selectors.risk_inputs(
            order=order, channel=channel, product_ids=[available[s]["product"].pk for s in requested], now=now
        )
        card = scoring.score_return(inputs)
        ret = Return(
            order=order,
            channel=channel,
            reason=reason,
            note=note[:500],
            customer_email=order.customer_email,
            currency=order.currency,
            location=location,
            risk_version=card.version,
            risk_score=card.score,
            risk_band=card.band,
            risk_inputs=inputs,
            risk_reasons=card.reasons,
            created_by=real_user(actor),
            created_at=now,
            updated_at=now,
        )
        ret.save(force_insert=True)
        ReturnLine.objects.bulk_create(
            [
                ReturnLine(
                    ret=ret,
                    order_line=available[sku]["line"],
                    product=available[sku]["product"],
                    quantity=q,
                    unit_price=available[sku]["unit_price"],
                )
                for sku, q in requested.items()
            ]
        )
        history = [_history(ret, "", actor, f"return requested ({ret.get_reason_display().lower()})", now)]
        if card.band == Band.AUTO_AUTHORIZE:
            ret.authorize()
            why = f"auto-authorized: risk score {card.score} (scorecard {card.version})"
        else:
            ret.hold_for_review()
            why = f"held for review: risk score {card.score}, band {card.band} (scorecard {card.version})"
        ret.save()
        history.append(_history(ret, S.REQUESTED, None, why, now))
        ReturnHistory.objects.bulk_create(history)
        outbox_emit(return_event(ret, S.REQUESTED), return_event(ret, ret.status, band=card.band, score=card.score))
        return ret


def _decide(*, return_id: int, actor: Actor, comment: str, approve: bool) -> Return:
    if not comment.strip():
        raise DomainError("A review decision needs a comment", code="comment_required")
    with transaction.atomic():
        ret = _lock(return_id)
        method = ret.authorize if approve else ret.reject
        if ret.status != S.PENDING_REVIEW:
            raise InvalidTransition(
                f"Return {ret.number} is not waiting for review (status {ret.status!r})", extra={"status": ret.status}
            )
        _check(ret, method, "be authorized" if approve else "be rejected")
        method()
        now = timezone.now()
        ret.decision = "authorize" if approve else "reject"
        ret.decided_by = real_user(actor)
        ret.decision_comment = comment[:500]
        ret.decided_at = ret.updated_at = now
        ret.save()
        override = "" if (ret.risk_band == Band.SUGGEST_REJECT) != approve else " (overrides the scorecard)"
        _history(
            ret,
            S.PENDING_REVIEW,
            actor,
            f"{ret.decision}d by reviewer{override} over band {ret.risk_band}: {comment}",
            now,
        ).save()
        outbox_emit(return_event(ret, ret.status, decided_by=actor.get_username(), comment=comment[:500]))
        return ret


def return_authorize(*, return_id: int, actor: Actor, comment: str) -> Return:
    """A reviewer authorizes a return held for review; the decision (actor, comment) overrides the band."""
    return _decide(return_id=return_id, actor=actor, comment=comment, approve=True)


def return_reject(*, return_id: int, actor: Actor, comment: str) -> Return:
    """A reviewer rejects a return held for review; its quantities become returnable again."""
    return _decide(return_id=return_id, actor=actor, comment=comment, approve=False)


def return_receive(*, return_id: int, location: Location, actor: Actor | None) -> Return:
    """The goods arrived at a store or warehouse. No stock moves until inspection decides what they are."""
    if not location.active:
        raise DomainError(f"Location {location.code} is not active", code="location_inactive")
    with transaction.atomic():
        ret = _lock(return_id)
        _check(ret, ret.receive, "be received")
        ret.receive(location=location)
        ret.updated_at = timezone.now()
        ret.save()
        _history(ret, S.AUTHORIZED, actor, f"received at {location.code}").save()
        outbox_emit(return_event(ret, ret.status, location=location.code))
        return ret


def _refund(ret: Return, lines: Sequence[ReturnLine]) -> None:
    """Goods at unit price, less the reason's restocking fee, plus shipping when the retailer was at fault
    (once per order)."""
    goods = sum((ln.unit_price * ln.quantity for ln in lines), Decimal("0.00")).quantize(CENT)
    pct = Decimal(str(settings.RETURN_RESTOCKING_FEE_PCT.get(ret.reason, 0)))
    fee = (goods * pct / 100).quantize(CENT)
    shipping = Decimal("0.00")
    order = ret.order
    if ret.reason in settings.RETURN_SHIPPING_REFUND_REASONS and order.payment_amount is not None:
        paid_shipping = max(order.payment_amount - order.total, Decimal("0.00"))
        already = (
            Return.objects.filter(order=order, refund_shipping__gt=0)
            .exclude(pk=ret.pk)
            .exclude(status=S.REJECTED)
            .exclude(refund_approval=RefundApproval.REJECTED)
            .exists()
        )
        if not already:
            shipping = paid_shipping.quantize(CENT)
    ret.refund_goods, ret.restocking_fee, ret.refund_shipping = goods, fee, shipping
    ret.refund_amount = max(goods - fee + shipping, Decimal("0.00"))


def _refund_evaluation(ret: Return):
    """The approval policy on the amount; a return the scorecard did not auto-authorize needs at least level 1."""
    from apps.approvals.services import Evaluation, approval_evaluate

    evaluation = approval_evaluate(subject_type=SUBJECT_REFUND, metrics={"amount": ret.refund_amount or Decimal("0")})
    if evaluation.required or ret.risk_band == Band.AUTO_AUTHORIZE or evaluation.policy is None:
        return evaluation
    first = evaluation.policy.levels.select_related("group").order_by("level").first()
    if first is None:
        return evaluation
    rule = {
        "level": 1,
        "policy_level": first.level,
        "threshold": str(first.threshold),
        "permission": first.permission,
        "group_id": first.group_id,
        "group_name": first.group.name if first.group is not None else "",
        "sla_hours": first.sla_hours,
    }
    return Evaluation(
        subject_type=SUBJECT_REFUND,
        policy=evaluation.policy,
        metric=evaluation.metric,
        value=evaluation.value,
        rules=[rule],
    )


def return_inspect(*, return_id: int, lines: Sequence[InspectionInput], actor: Actor) -> Return:
    """Decide each received unit's fate, post its stock effect, compute the refund and start it (or its approval).

    Every returned unit must be inspected exactly once. Stock (at the receiving location, kind RETURN):
    restock posts +q (waiting backorders can allocate); write-off and return-to-vendor post +q RETURN and
    −q WRITE_OFF / RETURN_TO_VENDOR, so on_hand = Σ movements holds and the ledger shows the loss;
    refurbish posts nothing (the unit is not sellable stock) and is recorded on the inspection row.
    """
    with transaction.atomic():
        ret = _lock(return_id)
        _check(ret, ret.inspect, "be inspected")
        ret_lines = list(ret.lines.select_related("product").order_by("id"))
        by_sku = {ln.product.sku: ln for ln in ret_lines}
        inspected: dict[str, int] = defaultdict(int)
        for item in lines:
            if item.sku not in by_sku:
                raise DomainError(f"{item.sku} is not on return {ret.number}", code="not_on_return")
            if item.disposition not in Disposition.values:
                raise DomainError(f"Unknown disposition {item.disposition!r}", code="invalid_disposition")
            inspected[item.sku] += item.quantity
        mismatched = [
            {"sku": sku, "returned": ln.quantity, "inspected": inspected.get(sku, 0)}
            for sku, ln in by_sku.items()
            if inspected.get(sku, 0) != ln.quantity
        ]
        if mismatched:
            raise DomainError(
                "Every returned unit must be inspected exactly once: "
                + ", ".join(f"{m['sku']} (returned {m['returned']}, inspected {m['inspected']})" for m in mismatched),
                code="inspection_mismatch",
                extra={"lines": mismatched},
            )
        now = timezone.now()
        ReturnInspection.objects.bulk_create(
            [
                ReturnInspection(
                    line=by_sku[i.sku],
                    quantity=i.quantity,
                    disposition=i.disposition,
                    note=i.note[:500],
                    inspected_by=real_user(actor),
                    at=now,
                )
                for i in lines
            ]
        )
        arriving: list[tuple[Product, int]] = []
        leaving: dict[str, list[tuple[Product, int]]] = defaultdict(list)
        for i in lines:
            product = by_sku[i.sku].product
            if i.disposition == Disposition.REFURBISH:
                continue
            arriving.append((product, i.quantity))
            if i.disposition in _OUTBOUND_KIND:
                leaving[_OUTBOUND_KIND[i.disposition]].append((product, -i.quantity))
        location = ret.location
        if location is None:  # receive() sets it; a received return always has one
            raise InvalidTransition(f"Return {ret.number} has no receiving location", extra={"status": ret.status})
        if arriving:
            stock_post_movements(
                location=location,
                changes=arriving,
                kind=MovementKind.RETURN,
                reference=f"{ret.number} return",
                actor=real_user(actor),
            )
        for kind, changes in sorted(leaving.items()):
            stock_post_movements(
                location=location,
                changes=changes,
                kind=kind,
                reference=f"{ret.number} {kind.replace('_', ' ')}",
                actor=real_user(actor),
            )
        ret.inspect()
        _refund(ret, ret_lines)
        evaluation = _refund_evaluation(ret)
        history = [_history(ret, S.RECEIVED, actor, f"inspected: {_summary(lines)}", now)]
        events: list[Event] = [
            return_event(
                ret,
                S.INSPECTED,
                refund_amount=f"{ret.refund_amount:.2f}",
                location=location.code,
                dispositions=[
                    {
                        "product_id": by_sku[i.sku].product_id,
                        "sku": i.sku,
                        "quantity": i.quantity,
                        "disposition": i.disposition,
                    }
                    for i in lines
                ],
            )
        ]
        if evaluation.required:
            from apps.approvals.services import approval_request_start

            ret.refund_approval = RefundApproval.PENDING
            ret.updated_at = now
            ret.save()
            history.append(
                _history(
                    ret,
                    S.INSPECTED,
                    actor,
                    f"refund {ret.refund_amount} {ret.currency} needs {evaluation.levels} approval level(s) "
                    f"(band {ret.risk_band})",
                    now,
                )
            )
            approval_request_start(
                evaluation=evaluation,
                subject_id=ret.pk,
                requested_by=actor,
                summary=f"Refund {ret.number} for {ret.order.number}: {ret.refund_amount} {ret.currency}, "
                f"{ret.get_reason_display().lower()}, risk band {ret.risk_band}",
                currency=ret.currency,
                location=ret.location,
            )
        else:
            ret.refund_approval = RefundApproval.NOT_REQUIRED
            ret.start_refund()
            ret.updated_at = now
            ret.save()
            history.append(
                _history(ret, S.INSPECTED, actor, f"refund {ret.refund_amount} {ret.currency} needs no approval", now)
            )
            events.append(return_event(ret, S.REFUND_PENDING))
        ReturnHistory.objects.bulk_create(history)
        outbox_emit(*events)
        return ret


def _summary(lines: Sequence[InspectionInput]) -> str:
    return ", ".join(f"{i.quantity} × {i.sku} {i.disposition}" for i in lines)


def _decided_by(decided: Any) -> str:
    who = decided.actor.get_username() if decided.actor else "system"
    if decided.on_behalf_of is not None:
        who += f" on behalf of {decided.on_behalf_of.get_username()}"
    return who


def return_refund_apply_approval(decided: Any) -> Return:
    """The approval process approved the refund: refund_pending, and `returns.refund.approved` goes out."""
    with transaction.atomic():
        ret = _lock(int(decided.subject_id))
        if ret.status != S.INSPECTED or ret.refund_approval != RefundApproval.PENDING:
            raise InvalidTransition(
                f"The refund of {ret.number} is not waiting for approval", extra={"status": ret.status}
            )
        ret.refund_approval = RefundApproval.APPROVED
        ret.start_refund()
        ret.updated_at = timezone.now()
        ret.save()
        _history(
            ret,
            S.INSPECTED,
            decided.actor,
            f"refund approved by {_decided_by(decided)} (approval #{decided.request_id})"
            + (f": {decided.comment}" if decided.comment else ""),
        ).save()
        outbox_emit(return_event(ret, S.REFUND_PENDING, approval_request_id=decided.request_id))
        return ret


def return_refund_apply_rejection(decided: Any) -> Return:
    """The approval process rejected the refund: the return stays inspected with no refund and may be closed."""
    with transaction.atomic():
        ret = _lock(int(decided.subject_id))
        if ret.status != S.INSPECTED or ret.refund_approval != RefundApproval.PENDING:
            raise InvalidTransition(
                f"The refund of {ret.number} is not waiting for approval", extra={"status": ret.status}
            )
        ret.refund_approval = RefundApproval.REJECTED
        ret.updated_at = timezone.now()
        ret.save()
        _history(
            ret, S.INSPECTED, decided.actor, f"refund rejected by {_decided_by(decided)}: {decided.comment}"
        ).save()
        return ret


def return_confirm_refund(*, return_id: int, payment_reference: str, actor: Actor | None) -> Return:
    """The payment provider paid the refund: record its reference."""
    if not payment_reference.strip():
        raise DomainError("A payment reference is required", code="payment_reference_required")
    with transaction.atomic():
        ret = _lock(return_id)
        _check(ret, ret.confirm_refund, "confirm a refund")
        ret.confirm_refund(payment_reference=payment_reference.strip()[:100])
        ret.updated_at = timezone.now()
        ret.save()
        _history(ret, S.REFUND_PENDING, actor, f"refund paid: {ret.refund_payment_reference}").save()
        outbox_emit(return_event(ret, ret.status, payment_reference=ret.refund_payment_reference))
        return ret


def return_close(*, return_id: int, actor: Actor | None, reason: str = "") -> Return:
    with transaction.atomic():
        ret = _lock(return_id)
        _check(ret, ret.close, "close")
        from_status = ret.status
        ret.close()
        ret.updated_at = timezone.now()
        ret.save()
        _history(ret, from_status, actor, reason or "closed").save()
        outbox_emit(return_event(ret, ret.status))
        return ret
