"""Returns in the staff portal: list, detail with score, band, reasons and history, review and refund actions,
the desk's permissions, and the refund as the approval screens describe it."""

import pytest

from apps.returns import selectors, services
from apps.returns.models import Return
from tests.approvals.helpers import person
from tests.returns.helpers import il, rl, shipped_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def ret(warehouse, product, receive, user):
    receive(warehouse, product, 10)
    order = shipped_order([(product, 3)])
    return services.return_create(
        order_id=order.pk, channel="web", reason="damaged", lines=rl(("SKU-A", 2)), actor=user
    )


def test_list_and_detail_pages(client, user, ret):
    client.force_login(user)
    listing = client.get("/returns/returns/")
    assert listing.status_code == 200
    assert ret.number in listing.content.decode()
    page = client.get(f"/returns/returns/{ret.pk}/").content.decode()
    for text in (ret.number, "Auto-authorize", "days_since_handover", "return requested", "Authorized"):
        assert text in page


def test_a_reviewer_decides_in_the_portal_and_finance_confirms_the_refund(client, user, ret, store):
    Return.objects.filter(pk=ret.pk).update(status="pending_review")
    reviewer = person("rita", "approver")
    client.force_login(reviewer)
    r = client.post(f"/returns/returns/{ret.pk}/authorize/", {"text": "looks fine"})
    assert r.status_code == 302
    ret.refresh_from_db()
    assert (ret.status, ret.decided_by, ret.decision_comment) == ("authorized", reviewer, "looks fine")
    services.return_receive(return_id=ret.pk, location=store, actor=user)
    services.return_inspect(return_id=ret.pk, lines=il(("SKU-A", 2, "restock")), actor=user)
    Return.objects.filter(pk=ret.pk).update(status="refund_pending", refund_approval="approved")
    client.force_login(person("fin", "finance"))
    client.post(f"/returns/returns/{ret.pk}/confirm-refund/", {"text": "re_42"})
    ret.refresh_from_db()
    assert (ret.status, ret.refund_payment_reference) == ("refunded", "re_42")


def test_a_refused_portal_action_is_a_message_not_an_error(client, user, ret):
    client.force_login(user)
    r = client.post(f"/returns/returns/{ret.pk}/reject/", {"text": "no"}, follow=True)
    assert r.status_code == 200
    assert "is not waiting for review" in r.content.decode()
    assert Return.objects.get(pk=ret.pk).status == "authorized"


def test_only_store_staff_use_the_desk(client, db):
    client.force_login(person("rita", "approver"))
    assert client.get("/returns/returns/desk/").status_code == 403
    client.force_login(person("sam", "store_manager"))
    assert client.get("/returns/returns/desk/?q=nobody@example.com").status_code == 200


def test_the_refund_describes_itself_for_the_approval_screens(ret):
    described = selectors.return_refund_describe(str(ret.pk))
    assert described.title.startswith(f"Refund of {ret.number}")
    assert described.url == f"/returns/returns/{ret.pk}/"
    assert described.rows == [["SKU-A", "2", "10.00"]]
    assert selectors.return_refund_describe("999999") is None
