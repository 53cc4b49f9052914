"""The database's refusal to change the ledger: UPDATE, DELETE and TRUNCATE on
audit_auditevent fail, whoever asks. Installed by a migration; a database owner can
still drop them, which is what audit_verify is for."""

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "audit_auditevent"

POSTGRES_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION audit_ledger_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'the audit ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
    END $$;
    """,
    f"""CREATE OR REPLACE TRIGGER audit_ledger_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION audit_ledger_refuse_change();""",
    f"""CREATE OR REPLACE TRIGGER audit_ledger_no_truncate BEFORE TRUNCATE ON {TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION audit_ledger_refuse_change();""",
]
POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS audit_ledger_no_update_delete ON {TABLE};",
    f"DROP TRIGGER IF EXISTS audit_ledger_no_truncate ON {TABLE};",
]
# SQLite has no TRUNCATE: "DELETE FROM" without WHERE fires the row trigger like any delete.
SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_ledger_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only: UPDATE refused'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_ledger_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only: DELETE refused'); END;""",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_ledger_no_update;",
    "DROP TRIGGER IF EXISTS audit_ledger_no_delete;",
]


def _statements(connection: BaseDatabaseWrapper, install: bool) -> list[str]:
    if connection.vendor == "postgresql":
        return POSTGRES_INSTALL if install else POSTGRES_REMOVE
    if connection.vendor == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_REMOVE
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
