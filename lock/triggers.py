"""The database's refusal to change data held by a lock or a freeze, whoever asks (a
service that forgot the guard, an admin action, a management command, a queryset.update()
or SQL typed at a prompt). Installed by a migration, like the ledger's triggers.

Held: every row of crf_response whose family is under an open lock of its trial (one that
holds every form, or this row's form) or under an open freeze of its site, its casebook or
this response. The signatures and queries of a family are held by a lock of the whole
trial. The check reads the row as it was (OLD) for UPDATE and DELETE, as it would be (NEW)
for INSERT."""

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import BaseDatabaseWrapper

RESPONSES = "crf_response"
# Tables held by a lock of the whole trial (their rows name the family).
TRIAL_WIDE = ("crf_signature", "crf_query", "crf_notdone")

_PG_RESPONSE = """
CREATE OR REPLACE FUNCTION lock_refuse_held_response() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  row_ crf_response%ROWTYPE;
  held text;
BEGIN
  IF TG_OP = 'INSERT' THEN row_ := NEW; ELSE row_ := OLD; END IF;
  SELECT 'lock v' || l.version || CASE WHEN l.population <> '' THEN ' (' || l.population || ')'
         ELSE '' END INTO held
    FROM lock_datalock l JOIN trial_family f ON f.trial_id = l.trial_id
   WHERE f.id = row_.family_id AND l.unlocked_at IS NULL
     AND (jsonb_array_length(l.forms) = 0 OR l.forms ? row_.form)
   LIMIT 1;
  IF held IS NULL THEN
    SELECT z.scope || ' freeze ' || z.id INTO held
      FROM lock_freeze z JOIN trial_family f ON f.site_id = z.site_id
     WHERE f.id = row_.family_id AND z.released_at IS NULL
       AND (z.scope = 'site' OR (z.scope = 'casebook' AND z.family_id = row_.family_id)
            OR (z.scope = 'response' AND z.response_id = row_.id))
     LIMIT 1;
  END IF;
  IF held IS NOT NULL THEN
    RAISE EXCEPTION 'the data are held (%): % on % refused', held, TG_OP, TG_TABLE_NAME
      USING ERRCODE = 'object_in_use';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
"""

_PG_TRIAL_WIDE = """
CREATE OR REPLACE FUNCTION lock_refuse_locked_family_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  family_ bigint;
  held text;
BEGIN
  IF TG_OP = 'INSERT' THEN family_ := NEW.family_id; ELSE family_ := OLD.family_id; END IF;
  SELECT 'lock v' || l.version INTO held
    FROM lock_datalock l JOIN trial_family f ON f.trial_id = l.trial_id
   WHERE f.id = family_ AND l.unlocked_at IS NULL AND jsonb_array_length(l.forms) = 0
   LIMIT 1;
  IF held IS NOT NULL THEN
    RAISE EXCEPTION 'the data are held (%): % on % refused', held, TG_OP, TG_TABLE_NAME
      USING ERRCODE = 'object_in_use';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
"""

_PG_TRUNCATE = """
CREATE OR REPLACE FUNCTION lock_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM lock_datalock WHERE unlocked_at IS NULL)
     OR EXISTS (SELECT 1 FROM lock_freeze WHERE released_at IS NULL) THEN
    RAISE EXCEPTION 'the data are held by a lock or a freeze: TRUNCATE on % refused',
      TG_TABLE_NAME USING ERRCODE = 'object_in_use';
  END IF;
  RETURN NULL;
END $$;
"""


def _pg_install(tables: tuple[str, ...]) -> list[str]:
    statements = [_PG_RESPONSE, _PG_TRIAL_WIDE, _PG_TRUNCATE]
    if RESPONSES in tables:
        statements.append(
            f"CREATE OR REPLACE TRIGGER lock_held_rows BEFORE INSERT OR UPDATE OR DELETE "
            f"ON {RESPONSES} FOR EACH ROW EXECUTE FUNCTION lock_refuse_held_response();"
        )
    for table in (t for t in TRIAL_WIDE if t in tables):
        statements.append(
            f"CREATE OR REPLACE TRIGGER lock_held_rows BEFORE INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION lock_refuse_locked_family_row();"
        )
    for table in tables:
        statements.append(
            f"CREATE OR REPLACE TRIGGER lock_held_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION lock_refuse_truncate();"
        )
    return statements


def _pg_remove(tables: tuple[str, ...]) -> list[str]:
    statements = []
    for table in tables:
        statements.append(f"DROP TRIGGER IF EXISTS lock_held_rows ON {table};")
        statements.append(f"DROP TRIGGER IF EXISTS lock_held_truncate ON {table};")
    return statements


def _sqlite_response_held(row: str) -> str:
    return """
      EXISTS (SELECT 1 FROM lock_datalock l JOIN trial_family f ON f.trial_id = l.trial_id
               WHERE f.id = {row}.family_id AND l.unlocked_at IS NULL
                 AND (json_array_length(l.forms) = 0
                      OR EXISTS (SELECT 1 FROM json_each(l.forms) WHERE value = {row}.form)))
      OR EXISTS (SELECT 1 FROM lock_freeze z JOIN trial_family f ON f.site_id = z.site_id
               WHERE f.id = {row}.family_id AND z.released_at IS NULL
                 AND (z.scope = 'site'
                      OR (z.scope = 'casebook' AND z.family_id = {row}.family_id)
                      OR (z.scope = 'response' AND z.response_id = {row}.id)))""".replace(
        "{row}", row
    )


def _sqlite_trial_locked(row: str) -> str:
    return """
      EXISTS (SELECT 1 FROM lock_datalock l JOIN trial_family f ON f.trial_id = l.trial_id
               WHERE f.id = {row}.family_id AND l.unlocked_at IS NULL
                 AND json_array_length(l.forms) = 0)""".replace("{row}", row)


def _sqlite_install(tables: tuple[str, ...]) -> list[str]:
    # SQLite has no TRUNCATE ("DELETE FROM" fires the row trigger) and its RAISE takes only
    # a fixed message, so the lock is not named here; the services name it.
    statements = []
    for table in tables:
        held = _sqlite_response_held if table == RESPONSES else _sqlite_trial_locked
        for op, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
            statements.append(
                f"""CREATE TRIGGER IF NOT EXISTS lock_held_{op.lower()}_{table}
                    BEFORE {op} ON {table} WHEN {held(row)}
                    BEGIN SELECT RAISE(ABORT,
                      'the data are held by a lock or a freeze: {op} on {table} refused');
                    END;"""
            )
    return statements


def _sqlite_remove(tables: tuple[str, ...]) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS lock_held_{op}_{table};"
        for table in tables
        for op in ("insert", "update", "delete")
    ]


def _statements(
    connection: BaseDatabaseWrapper, install: bool, tables: tuple[str, ...]
) -> list[str]:
    if connection.vendor == "postgresql":
        return _pg_install(tables) if install else _pg_remove(tables)
    if connection.vendor == "sqlite":
        return _sqlite_install(tables) if install else _sqlite_remove(tables)
    raise ImproperlyConfigured(
        f"Locks are held by triggers written for PostgreSQL and SQLite; {connection.vendor} "
        "is not supported (set DATABASE_URL to PostgreSQL)."
    )


# Every table the triggers hold. A migration names the tables it installs them on, those
# that existed when it was written, so that it keeps doing what it did.
TABLES = (RESPONSES, *TRIAL_WIDE)


def install(connection: BaseDatabaseWrapper, tables: tuple[str, ...] = TABLES) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection, True, tables):
            cursor.execute(sql)


def remove(connection: BaseDatabaseWrapper, tables: tuple[str, ...] = TABLES) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection, False, tables):
            cursor.execute(sql)
