"""The balance trigger reads an entry's postings once instead of three times.

Same rules and same messages as `0002_database_rules`: at least two postings, balanced per
currency, each posting in its account's currency. It runs at commit for every posting and entry
inserted, so its cost is paid on every movement of money.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entry bigint;
    total integer := 0;
    wrong_currency boolean := false;
    unbalanced_currency text;
    unbalanced_difference bigint;
    line record;
BEGIN
    IF TG_TABLE_NAME = 'ledger_posting' THEN
        entry := NEW.entry_id;
    ELSE
        entry := NEW.id;
    END IF;
    FOR line IN
        SELECT p.currency,
               sum(CASE WHEN p.side = 'debit' THEN p.amount ELSE -p.amount END) AS difference,
               count(*) AS postings,
               bool_or(p.currency <> a.currency) AS wrong_currency
        FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
        WHERE p.entry_id = entry
        GROUP BY p.currency
        ORDER BY p.currency
    LOOP
        total := total + line.postings;
        wrong_currency := wrong_currency OR line.wrong_currency;
        IF line.difference <> 0 AND unbalanced_currency IS NULL THEN
            unbalanced_currency := line.currency;
            unbalanced_difference := line.difference;
        END IF;
    END LOOP;
    IF total < 2 THEN
        RAISE EXCEPTION 'journal entry % has % posting(s); it needs a debit and a credit', entry, total
            USING ERRCODE = 'check_violation';
    END IF;
    IF unbalanced_currency IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % does not balance in %: debits minus credits is %',
            entry, unbalanced_currency, unbalanced_difference USING ERRCODE = 'check_violation';
    END IF;
    IF wrong_currency THEN
        RAISE EXCEPTION 'journal entry % posts in a currency that is not its account''s', entry
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
"""

# The function as `0002_database_rules` created it.
BACKWARD = r"""
CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
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
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_database_rules")]

    operations = [migrations.RunPython(forward, backward)]
