from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from numbers.filters import PhoneNumberFilter
from numbers.models import PhoneNumber


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("415 555", "number_digits_trgm"),
        ("Acme Dental", "number_label_trgm"),
        ("Acme Dental", "number_upstream_label_trgm"),
    ],
)
def test_list_search_is_served_by_a_trigram_index_on_postgresql(query, index):
    """The indexes must match the SQL Django writes for the search (UPPER(...) for
    icontains): were it to change, the search would quietly read the whole table again.
    SQLite has no such index and scans."""
    indexes = connection.introspection.get_constraints(
        connection.cursor(), PhoneNumber._meta.db_table
    )
    if connection.vendor != "postgresql":
        assert index not in indexes
        return
    assert indexes[index]["type"] == "gin"
    search = PhoneNumberFilter({"q": query}, queryset=PhoneNumber.objects.all()).qs
    with connection.cursor() as cursor:
        # On a test's few rows a scan is cheaper; forbid it to see which index would serve.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = search.order_by().explain()
    assert index in plan
