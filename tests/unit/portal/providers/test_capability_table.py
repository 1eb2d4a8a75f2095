from django.core.management import call_command

from portal.providers import capability_table


def test_readme_capability_table_matches_the_adapters(settings):
    readme = (settings.BASE_DIR / "README.md").read_text()
    assert (
        f"<!-- capabilities:start -->\n{capability_table()}\n<!-- capabilities:end -->" in readme
    ), "README.md's capability table is stale: run `python manage.py capabilities --write`"


def test_every_provider_has_an_adapter_in_the_table():
    table = capability_table()
    for name in ("Audian", "Vobiz", "Ravan", "TryVox"):
        assert f"| {name} " in table.splitlines()[0] + " "


def test_capabilities_command_prints_the_table(capsys):
    call_command("capabilities")
    assert capsys.readouterr().out.strip() == capability_table()
