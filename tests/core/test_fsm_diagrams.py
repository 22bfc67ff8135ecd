"""docs/states.md is generated from the FSM definitions and must be up to date."""

from apps.core.management.commands.fsm_diagrams import default_path, render


def test_docs_states_md_is_up_to_date():
    assert default_path().read_text() == render(), "docs/states.md is out of date: run manage.py fsm_diagrams"


def test_every_transfer_transition_is_drawn():
    text = render()
    for edge in (
        "[*] --> requested",
        "requested --> pending_approval : submit",
        "requested --> approved : approve",
        "pending_approval --> approved : approve",
        "pending_approval --> cancelled : reject",
        "approved --> picking : pick",
        "approved --> in_transit : dispatch",
        "picking --> in_transit : dispatch",
        "in_transit --> received : receive",
        "picking --> cancelled : cancel",
        "received --> [*]",
    ):
        assert edge in text
