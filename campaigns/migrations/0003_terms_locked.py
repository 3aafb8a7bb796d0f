"""PostgreSQL refuses to change a campaign's terms (goal, deadline, currency, funding model) once it
is launched, whatever the code does. The services check the same rule first."""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION campaigns_terms_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.launched_at IS NOT NULL AND (
        NEW.goal IS DISTINCT FROM OLD.goal
        OR NEW.deadline IS DISTINCT FROM OLD.deadline
        OR NEW.currency IS DISTINCT FROM OLD.currency
        OR NEW.funding_model IS DISTINCT FROM OLD.funding_model
        OR NEW.launched_at IS DISTINCT FROM OLD.launched_at
    ) THEN
        RAISE EXCEPTION 'campaign % is launched: its goal, deadline, currency and funding model are locked', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER campaigns_campaign_terms_locked BEFORE UPDATE ON campaigns_campaign
    FOR EACH ROW EXECUTE FUNCTION campaigns_terms_locked();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS campaigns_campaign_terms_locked ON campaigns_campaign;
DROP FUNCTION IF EXISTS campaigns_terms_locked();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0002_themes")]
    operations = [migrations.RunPython(forward, backward)]
