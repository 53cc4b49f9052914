"""The database's refusal to change the ledger: DELETE and TRUNCATE on audit_auditevent
and its sealed batches fail, whoever asks, and so does any UPDATE but the sealer's one
(a waiting event given its place and hashes, nothing else changed). Installed by
migrations; a database owner can still drop them, which is what audit_verify is for."""

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "audit_auditevent"

BATCHES = "audit_sealedbatch"
POSTGRES_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION audit_ledger_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'the audit ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
    END $$;
    """,
    # The one change an event may take: the sealer gives a waiting event its place in the
    # chain and its hashes, once, and nothing else of it may change in the same statement.
    """
    CREATE OR REPLACE FUNCTION audit_ledger_seal_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF OLD.pos IS NULL AND NEW.pos IS NOT NULL AND NEW.prev_hash <> ''
         AND NEW.hash <> ''
         AND (to_jsonb(OLD) - 'pos' - 'prev_hash' - 'hash')
             = (to_jsonb(NEW) - 'pos' - 'prev_hash' - 'hash') THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'the audit ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
    END $$;
    """,
    f"""CREATE OR REPLACE TRIGGER audit_ledger_no_delete BEFORE DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION audit_ledger_refuse_change();""",
    f"""CREATE OR REPLACE TRIGGER audit_ledger_seal_only BEFORE UPDATE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION audit_ledger_seal_only();""",
    f"""CREATE OR REPLACE TRIGGER audit_ledger_no_truncate BEFORE TRUNCATE ON {TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION audit_ledger_refuse_change();""",
]
# The sealer's checkpoints are append-only like the events (once their table exists).
POSTGRES_BATCHES = [
    f"""CREATE OR REPLACE TRIGGER audit_batches_no_update_delete BEFORE UPDATE OR DELETE
        ON {BATCHES} FOR EACH ROW EXECUTE FUNCTION audit_ledger_refuse_change();""",
    f"""CREATE OR REPLACE TRIGGER audit_batches_no_truncate BEFORE TRUNCATE ON {BATCHES}
        FOR EACH STATEMENT EXECUTE FUNCTION audit_ledger_refuse_change();""",
]
POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS audit_ledger_no_update_delete ON {TABLE};",
    f"DROP TRIGGER IF EXISTS audit_ledger_no_truncate ON {TABLE};",
    f"DROP TRIGGER IF EXISTS audit_ledger_no_delete ON {TABLE};",
    f"DROP TRIGGER IF EXISTS audit_ledger_seal_only ON {TABLE};",
    f"DROP TRIGGER IF EXISTS audit_batches_no_update_delete ON {BATCHES};",
    f"DROP TRIGGER IF EXISTS audit_batches_no_truncate ON {BATCHES};",
]
# SQLite has no TRUNCATE: "DELETE FROM" without WHERE fires the row trigger like any delete.
SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_ledger_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only: UPDATE refused'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_ledger_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only: DELETE refused'); END;""",
]
SQLITE_BATCHES = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_batches_no_update BEFORE UPDATE ON {BATCHES}
        BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only: UPDATE refused'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_batches_no_delete BEFORE DELETE ON {BATCHES}
        BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only: DELETE refused'); END;""",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_ledger_no_update;",
    "DROP TRIGGER IF EXISTS audit_ledger_no_delete;",
    "DROP TRIGGER IF EXISTS audit_batches_no_update;",
    "DROP TRIGGER IF EXISTS audit_batches_no_delete;",
]


def _statements(connection: BaseDatabaseWrapper, install: bool) -> list[str]:
    batches = BATCHES in connection.introspection.table_names()
    if connection.vendor == "postgresql":
        if not install:
            return POSTGRES_REMOVE
        return POSTGRES_INSTALL + (POSTGRES_BATCHES if batches else [])
    if connection.vendor == "sqlite":
        if not install:
            return SQLITE_REMOVE
        return SQLITE_INSTALL + (SQLITE_BATCHES if batches else [])
    raise ImproperlyConfigured(
        f"The audit ledger refuses changes through triggers written for PostgreSQL and SQLite; "
        f"{connection.vendor} is not supported (set DATABASE_URL to PostgreSQL)."
    )


def install(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection, install=True):
            cursor.execute(sql)


def remove(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection, install=False):
            cursor.execute(sql)
