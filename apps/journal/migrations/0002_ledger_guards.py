"""The database guards the ledger (PostgreSQL), whatever code writes to it:

- a posted (or reversed) entry balances: Σ debit = Σ credit over at least two lines. A constraint
  trigger, DEFERRABLE INITIALLY DEFERRED, so an entry may be written line by line and is checked
  at commit;
- lines of a posted or reversed entry cannot be inserted, updated or deleted;
- a posted entry cannot be deleted or changed, except the single `posted → reversed` status change;
  a reversed entry cannot change at all.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION journal_entry_balanced() RETURNS trigger AS $$
DECLARE
    eid bigint;
    st varchar;
    dr numeric;
    cr numeric;
    n integer;
BEGIN
    IF TG_TABLE_NAME = 'journal_journalline' THEN
        IF TG_OP = 'DELETE' THEN eid := OLD.entry_id; ELSE eid := NEW.entry_id; END IF;
    ELSE
        eid := NEW.id;
    END IF;
    SELECT status INTO st FROM journal_journalentry WHERE id = eid;
    IF st IS NULL OR st = 'draft' THEN
        RETURN NULL;
    END IF;
    SELECT COALESCE(SUM(debit), 0), COALESCE(SUM(credit), 0), COUNT(*) INTO dr, cr, n
        FROM journal_journalline WHERE entry_id = eid;
    IF dr <> cr OR n < 2 THEN
        RAISE EXCEPTION 'journal entry % is not balanced: debit %, credit %, % line(s)', eid, dr, cr, n
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER journal_line_balanced
    AFTER INSERT OR UPDATE OR DELETE ON journal_journalline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION journal_entry_balanced();
CREATE CONSTRAINT TRIGGER journal_entry_balanced
    AFTER INSERT OR UPDATE ON journal_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION journal_entry_balanced();

CREATE OR REPLACE FUNCTION journal_line_immutable() RETURNS trigger AS $$
DECLARE
    st varchar;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT status INTO st FROM journal_journalentry WHERE id = NEW.entry_id;
    ELSE
        SELECT status INTO st FROM journal_journalentry WHERE id = OLD.entry_id;
        IF TG_OP = 'UPDATE' AND NEW.entry_id <> OLD.entry_id AND st = 'draft' THEN
            SELECT status INTO st FROM journal_journalentry WHERE id = NEW.entry_id;
        END IF;
    END IF;
    IF st IN ('posted', 'reversed') THEN
        RAISE EXCEPTION 'lines of posted journal entries are immutable (% refused)', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER journal_line_immutable
    BEFORE INSERT OR UPDATE OR DELETE ON journal_journalline
    FOR EACH ROW EXECUTE FUNCTION journal_line_immutable();

CREATE OR REPLACE FUNCTION journal_entry_immutable() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'draft' THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status = 'posted' AND NEW.status = 'reversed'
       AND (to_jsonb(NEW) - 'status') = (to_jsonb(OLD) - 'status') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'journal entry % is % and cannot be changed (reverse it instead)', OLD.id, OLD.status
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER journal_entry_immutable
    BEFORE UPDATE OR DELETE ON journal_journalentry
    FOR EACH ROW EXECUTE FUNCTION journal_entry_immutable();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS journal_entry_immutable ON journal_journalentry;
DROP FUNCTION IF EXISTS journal_entry_immutable();
DROP TRIGGER IF EXISTS journal_line_immutable ON journal_journalline;
DROP FUNCTION IF EXISTS journal_line_immutable();
DROP TRIGGER IF EXISTS journal_entry_balanced ON journal_journalentry;
DROP TRIGGER IF EXISTS journal_line_balanced ON journal_journalline;
DROP FUNCTION IF EXISTS journal_entry_balanced();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("journal", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
