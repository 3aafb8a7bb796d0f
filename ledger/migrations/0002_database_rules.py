"""PostgreSQL enforces the rules of the books itself:

- every entry balances per currency, and each posting's currency is its account's (a deferred
  constraint trigger, checked at commit once all the entry's postings are in);
- an entry has at least two postings;
- entries, postings, blocks and seals are append-only: UPDATE and DELETE are refused.

Positive amounts and no overdraft are CheckConstraints on the models. SQLite gets the same rules
from the posting service.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the books are append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER ledger_posting_append_only BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_block_append_only BEFORE UPDATE OR DELETE ON ledger_block
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_seal_append_only BEFORE UPDATE OR DELETE ON ledger_sealedentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- The column that names the entry: entry_id on a posting, id on an entry.
    entry bigint := (to_jsonb(NEW) ->> TG_ARGV[0])::bigint;
    unbalanced record;
    postings integer;
BEGIN
    SELECT count(*) INTO postings FROM ledger_posting WHERE entry_id = entry;
    IF postings < 2 THEN
        RAISE EXCEPTION 'journal entry % has % posting(s); it needs a debit and a credit', entry, postings
            USING ERRCODE = 'check_violation';
    END IF;
    FOR unbalanced IN
        SELECT currency, sum(CASE WHEN side = 'debit' THEN amount ELSE -amount END) AS difference
        FROM ledger_posting WHERE entry_id = entry
        GROUP BY currency
        HAVING sum(CASE WHEN side = 'debit' THEN amount ELSE -amount END) <> 0
    LOOP
        RAISE EXCEPTION 'journal entry % does not balance in %: debits minus credits is %',
            entry, unbalanced.currency, unbalanced.difference USING ERRCODE = 'check_violation';
    END LOOP;
    IF EXISTS (
        SELECT 1 FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
        WHERE p.entry_id = entry AND p.currency <> a.currency
    ) THEN
        RAISE EXCEPTION 'journal entry % posts in a currency that is not its account''s', entry
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ledger_posting_balanced AFTER INSERT ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced('entry_id');
CREATE CONSTRAINT TRIGGER ledger_entry_has_postings AFTER INSERT ON ledger_journalentry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced('id');
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS ledger_entry_has_postings ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_check_entry_balanced();
DROP TRIGGER IF EXISTS ledger_seal_append_only ON ledger_sealedentry;
DROP TRIGGER IF EXISTS ledger_block_append_only ON ledger_block;
DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_books")]

    operations = [migrations.RunPython(forward, backward)]
