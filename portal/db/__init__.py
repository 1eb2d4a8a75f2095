"""Database features the ORM cannot declare, for migrations: PostgreSQL only, since SQLite
(the development database) has no equivalent and, at its sizes, needs none."""


def on_postgresql(*statements: str):
    """A `RunPython` function that runs `statements` on PostgreSQL and nothing elsewhere."""

    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run
