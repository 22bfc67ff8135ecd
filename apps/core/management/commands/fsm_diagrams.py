"""Write docs/states.md: one Mermaid state diagram per FSM status field, generated from the transitions."""

from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_fsm import FSMField

HEADER = """# State diagrams

Generated from the django-fsm transitions by `manage.py fsm_diagrams`; do not edit by hand
(a test fails when this file is out of date). Edges are labelled with the transition method.
"""


def _fsm_fields():
    """(model, field) for every FSMField of every installed model, in a stable order."""
    found = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, FSMField):
                found.append((model, field))
    return sorted(found, key=lambda mf: (mf[0]._meta.label, mf[1].name))


def _diagram(model, field) -> str:
    states = [str(value) for value, _ in field.choices]
    labels = {str(value): str(label) for value, label in field.choices}
    edges: set[tuple[str, str, str]] = set()
    for t in field.get_all_transitions(model):
        if t.target is None or str(t.target) not in labels:
            continue
        target = str(t.target)
        if t.source == "*":
            sources = states
        elif t.source == "+":
            sources = [s for s in states if s != target]
        else:
            sources = [str(t.source)]
        for source in sources:
            edges.add((source, target, t.name))
    has_out = {source for source, _, _ in edges}
    lines = [f"## {model._meta.verbose_name.capitalize()} (`{model._meta.label}.{field.name}`)", "", "```mermaid"]
    lines.append("stateDiagram-v2")
    for state in states:
        lines.append(f"    {state} : {labels[state]}")
    if field.default is not None and str(field.default) in labels:
        lines.append(f"    [*] --> {field.default}")
    for source, target, name in sorted(edges, key=lambda e: (states.index(e[0]), states.index(e[1]), e[2])):
        lines.append(f"    {source} --> {target} : {name}")
    for state in states:
        if state not in has_out:
            lines.append(f"    {state} --> [*]")
    lines += ["```", ""]
    return "\n".join(lines)


def render() -> str:
    return "\n".join([HEADER, *(_diagram(model, field) for model, field in _fsm_fields())])


def default_path() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "states.md"


class Command(BaseCommand):
    help = "Write Mermaid state diagrams of every FSM status field to docs/states.md (--check: only compare)."

    def add_arguments(self, parser):
        parser.add_argument("--output", default=None, help="Where to write (default: docs/states.md)")
        parser.add_argument("--check", action="store_true", help="Fail if the file is not up to date")

    def handle(self, *args, **options):
        path = Path(options["output"]) if options["output"] else default_path()
        text = render()
        if options["check"]:
            if not path.exists() or path.read_text() != text:
                raise CommandError(f"{path} is out of date: run manage.py fsm_diagrams")
            self.stdout.write(f"{path} is up to date")
            return
        path.write_text(text)
        self.stdout.write(f"Wrote {path}")
