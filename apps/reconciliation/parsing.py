"""Pure parsers for the two file formats: Stripe itemized payout reconciliation CSV and camt.053 XML.

No database here. A file that cannot be read at all raises FileRejected (the API answers 400 and
writes nothing); a bad row of a readable file becomes a RowError and the rest is imported.
"""

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring


class FileRejected(ValueError):
    """The file is not a readable file of the expected format."""


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


# --- Stripe itemized payout reconciliation CSV ----------------------------------------------------

REQUIRED_COLUMNS = (
    "automatic_payout_id",
    "balance_transaction_id",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
)
OPTIONAL_COLUMNS = (
    "created_utc",
    "available_on_utc",
    "source_id",
    "charge_id",
    "payment_intent_id",
    "description",
)
CURRENCY = re.compile(r"^[A-Za-z]{3}$")
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")


@dataclass(frozen=True)
class SettlementRow:
    line_number: int
    balance_transaction_id: str
    automatic_payout_id: str
    created: datetime | None
    available_on: date | None
    currency: str
    gross: Decimal
    fee: Decimal
    net: Decimal
    reporting_category: str
    source_id: str
    charge_id: str
    payment_intent_id: str
    description: str


def _text(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"The file is not UTF-8 text (byte {exc.start})") from None


def _header(reader: Iterator[list[str]]) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise FileRejected("The file is empty") from None
    except csv.Error as exc:
        raise FileRejected(f"The file is not CSV: {exc}") from None
    return [h.strip().lower() for h in header]


def settlement_check(content: bytes) -> list[str]:
    """Reject a file that is not a payout reconciliation CSV; returns its (normalised) header."""
    if b"\x00" in content[:4096]:
        raise FileRejected("The file is binary, not CSV text")
    reader = csv.reader(io.StringIO(_text(content)))
    header = _header(reader)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise FileRejected(f"Not a Stripe payout reconciliation CSV: missing column(s) {', '.join(missing)}")
    return header


def _amount(value: str, name: str) -> Decimal:
    try:
        amount = Decimal(value.strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"{name} {value!r} is not a number") from None
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        raise ValueError(f"{name} {value!r} is out of range")
    if amount != amount.quantize(CENT):
        raise ValueError(f"{name} {value!r} has more than 2 decimals")
    return amount.quantize(CENT)


def _timestamp(value: str, name: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def settlement_parse(content: bytes) -> tuple[list[SettlementRow], list[RowError]]:
    """Every data row of the file, in order; rows that cannot be used come back as errors instead.

    Columns are found by name (any order, extra columns ignored); amounts are major units.
    """
    settlement_check(content)
    reader = csv.reader(io.StringIO(_text(content)))
    header = _header(reader)
    index = {name: header.index(name) for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if name in header}
    rows: list[SettlementRow] = []
    errors: list[RowError] = []
    seen: set[str] = set()
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(reader.line_num, f"unreadable CSV row: {exc}"))
            continue
        line = reader.line_num
        if not any(cell.strip() for cell in raw):
            continue

        def get(name: str, raw: list[str] = raw) -> str:
            i = index.get(name)
            return raw[i].strip() if i is not None and i < len(raw) else ""

        try:
            row = _settlement_row(get, line)
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        if row.balance_transaction_id in seen:
            errors.append(RowError(line, f"balance_transaction_id {row.balance_transaction_id} repeats in the file"))
            continue
        seen.add(row.balance_transaction_id)
        rows.append(row)
    return rows, errors


def _settlement_row(get, line: int) -> SettlementRow:  # type: ignore[no-untyped-def]
    txn, payout, currency = get("balance_transaction_id"), get("automatic_payout_id"), get("currency")
    if not txn:
        raise ValueError("balance_transaction_id is empty")
    if not payout:
        raise ValueError("automatic_payout_id is empty")
    if not CURRENCY.match(currency):
        raise ValueError(f"currency {currency!r} is not a 3-letter code")
    category = get("reporting_category").lower()
    if not category:
        raise ValueError("reporting_category is empty")
    gross, fee, net = _amount(get("gross"), "gross"), _amount(get("fee"), "fee"), _amount(get("net"), "net")
    if gross - fee != net:
        raise ValueError(f"net {net} is not gross {gross} minus fee {fee}")
    available = _timestamp(get("available_on_utc"), "available_on_utc")
    for name, value in (("balance_transaction_id", txn), ("automatic_payout_id", payout)):
        if len(value) > 255:
            raise ValueError(f"{name} is longer than 255 characters")
    return SettlementRow(
        line_number=line,
        balance_transaction_id=txn,
        automatic_payout_id=payout,
        created=_timestamp(get("created_utc"), "created_utc"),
        available_on=available.date() if available else None,
        currency=currency.upper(),
        gross=gross,
        fee=fee,
        net=net,
        reporting_category=category[:50],
        source_id=get("source_id")[:255],
        charge_id=get("charge_id")[:255],
        payment_intent_id=get("payment_intent_id")[:255],
        description=get("description")[:500],
    )


# --- ISO 20022 camt.053 -----------------------------------------------------------------------------


@dataclass
class StatementEntry:
    position: int
    amount: Decimal
    currency: str
    credit: bool
    booked: bool
    booking_date: date | None
    value_date: date | None
    account_servicer_ref: str
    entry_ref: str
    end_to_end_id: str
    remittance: str
    bank_reference: str = ""


@dataclass
class Statement:
    statement_id: str
    account: str
    currency: str
    opening: Decimal | None
    closing: Decimal | None
    closing_date: date | None
    to_date: date | None
    entries: list[StatementEntry] = field(default_factory=list)

    @property
    def as_of(self) -> date | None:
        dates = [d for d in (self.closing_date, self.to_date, *(e.booking_date for e in self.entries)) if d]
        return max(dates) if dates else None

    def balance_problem(self) -> str:
        """Empty when opening + credits − debits = closing over the booked entries, else why not."""
        if self.opening is None or self.closing is None:
            return f"Statement {self.statement_id}: opening (OPBD/PRCD) or closing (CLBD) balance is missing"
        booked = [e for e in self.entries if e.booked]
        credits = sum((e.amount for e in booked if e.credit), Decimal("0"))
        debits = sum((e.amount for e in booked if not e.credit), Decimal("0"))
        expected = self.opening + credits - debits
        if expected != self.closing:
            return (
                f"Statement {self.statement_id}: opening {self.opening} + credits {credits} − debits {debits} "
                f"= {expected}, but the closing balance is {self.closing} (difference {self.closing - expected})"
            )
        return ""


def _local(tag: object) -> str:
    # Local element names only: camt.053.001.02 … .08 differ in namespace, not in these names.
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el: Element, name: str) -> Iterator[Element]:
    return (c for c in el if _local(c.tag) == name)


def _child(el: Element | None, *path: str) -> Element | None:
    for name in path:
        if el is None:
            return None
        el = next(_children(el, name), None)
    return el


def _value(el: Element | None, *path: str) -> str:
    found = _child(el, *path)
    return (found.text or "").strip() if found is not None else ""


def _descendants(el: Element, name: str) -> Iterator[Element]:
    return (d for d in el.iter() if _local(d.tag) == name)


def _date(el: Element | None) -> date | None:
    """<Dt>2024-05-02</Dt> or <DtTm>2024-05-02T10:00:00</DtTm>, whichever the bank used."""
    text = _value(el, "Dt") or _value(el, "DtTm")
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _signed_amount(el: Element) -> tuple[Decimal, str]:
    amt = _child(el, "Amt")
    if amt is None or not (amt.text or "").strip():
        raise FileRejected("an amount (Amt) is missing")
    try:
        value = Decimal(amt.text.strip())  # type: ignore[union-attr]
    except InvalidOperation:
        raise FileRejected(f"amount {amt.text!r} is not a number") from None
    if not value.is_finite() or abs(value) > MAX_AMOUNT:
        raise FileRejected(f"amount {amt.text!r} is out of range")
    sign = -1 if _value(el, "CdtDbtInd").upper() == "DBIT" else 1
    return value * sign, (amt.get("Ccy") or "").upper()


def _xml(content: bytes) -> Element:
    try:
        # defusedxml refuses DTDs with entities (billion laughs, external entities) outright.
        return fromstring(content, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise FileRejected(f"The XML is refused: {type(exc).__name__}") from None
    except (ParseError, ValueError) as exc:
        raise FileRejected(f"The file is not well-formed XML: {exc}") from None


def statement_parse(content: bytes) -> list[Statement]:
    """The statements (Stmt) of a camt.053 document, with their booked and pending entries."""
    root = _xml(content)
    container = next(_descendants(root, "BkToCstmrStmt"), None)
    if container is None:
        raise FileRejected("Not a camt.053 bank statement: no BkToCstmrStmt element")
    statements = [_statement(stmt) for stmt in _children(container, "Stmt")]
    if not statements:
        raise FileRejected("The camt.053 document has no statement (Stmt)")
    return statements


def _statement(stmt: Element) -> Statement:
    statement_id = _value(stmt, "Id")
    if not statement_id:
        raise FileRejected("A statement has no Id")
    acct = _child(stmt, "Acct")
    account = _value(acct, "Id", "IBAN") or _value(acct, "Id", "Othr", "Id")
    if not account:
        raise FileRejected(f"Statement {statement_id} has no account id (IBAN or Othr/Id)")
    balances: dict[str, tuple[Decimal, str, date | None]] = {}
    for bal in _children(stmt, "Bal"):
        code = _value(bal, "Tp", "CdOrPrtry", "Cd") or _value(bal, "Tp", "CdOrPrtry", "Prtry")
        amount, ccy = _signed_amount(bal)
        balances.setdefault(code.upper(), (amount, ccy, _date(_child(bal, "Dt"))))
    opening = balances.get("OPBD") or balances.get("PRCD")
    closing = balances.get("CLBD")
    statement = Statement(
        statement_id=statement_id[:64],
        account=account[:64],
        currency=_value(acct, "Ccy").upper(),
        opening=opening[0] if opening else None,
        closing=closing[0] if closing else None,
        closing_date=closing[2] if closing else None,
        to_date=_date_text(_value(stmt, "FrToDt", "ToDtTm")),
    )
    statement.currency = statement.currency or (closing[1] if closing else "") or (opening[1] if opening else "")
    for position, ntry in enumerate(_children(stmt, "Ntry"), start=1):
        statement.entries.append(_entry(ntry, position, statement))
    _assign_references(statement)
    return statement


def _date_text(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _entry(ntry: Element, position: int, statement: Statement) -> StatementEntry:
    try:
        amount, ccy = _signed_amount(ntry)
    except FileRejected as exc:
        raise FileRejected(f"Statement {statement.statement_id}, entry {position}: {exc}") from None
    # Sts is <Sts>BOOK</Sts> up to .001.06 and <Sts><Cd>BOOK</Cd></Sts> from .001.07.
    status = (_value(ntry, "Sts") or _value(ntry, "Sts", "Cd") or "BOOK").upper()
    texts: list[str] = []
    e2e = ""
    for tx in _descendants(ntry, "TxDtls"):
        e2e = e2e or _value(tx, "Refs", "EndToEndId")
        for name in ("EndToEndId", "AcctSvcrRef", "PmtInfId", "InstrId", "TxId"):
            ref = _value(tx, "Refs", name)
            if ref and ref.upper() != "NOTPROVIDED":
                texts.append(ref)
    for rmt in _descendants(ntry, "RmtInf"):
        texts += [(u.text or "").strip() for u in _children(rmt, "Ustrd") if (u.text or "").strip()]
        texts += [(r.text or "").strip() for r in _descendants(rmt, "Ref") if (r.text or "").strip()]
    for name in ("AddtlNtryInf", "AddtlTxInf"):
        texts += [(d.text or "").strip() for d in _descendants(ntry, name) if (d.text or "").strip()]
    return StatementEntry(
        position=position,
        amount=abs(amount).quantize(CENT),
        currency=ccy or statement.currency,
        credit=_value(ntry, "CdtDbtInd").upper() != "DBIT",
        booked=status == "BOOK",
        booking_date=_date(_child(ntry, "BookgDt")),
        value_date=_date(_child(ntry, "ValDt")),
        account_servicer_ref=_value(ntry, "AcctSvcrRef"),
        entry_ref=_value(ntry, "NtryRef"),
        end_to_end_id="" if e2e.upper() == "NOTPROVIDED" else e2e[:64],
        remittance=" | ".join(dict.fromkeys(texts))[:4000],
    )


def _assign_references(statement: Statement) -> None:
    """The bank's reference, or a content hash numbered per occurrence, so two identical entries
    without a reference in one statement stay two, and re-importing the statement finds both again."""
    seen: Counter[str] = Counter()
    for e in statement.entries:
        ref = e.account_servicer_ref or e.entry_ref
        if ref:
            e.bank_reference = ref[:128]
            continue
        fields = (e.amount, e.currency, e.credit, e.booking_date, e.value_date, e.end_to_end_id, e.remittance)
        content = "|".join(str(v) for v in fields)
        seen[content] += 1
        digest = hashlib.sha256(f"{content}#{seen[content]}".encode()).hexdigest()
        e.bank_reference = f"sha256:{digest[:64]}"
