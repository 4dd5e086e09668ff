"""Name the input field behind a GraphQL validation error.

GraphQL's own message for a bad literal ("Value 'FORTNIGHT' does not exist in 'Interval' enum")
names the type but not where it was written, and a typed filter nests deep
(`filter.events[0].math`). Our own errors carry the field in `extensions.attr`; this gives
GraphQL's errors inside argument values the same, and puts it in front of the message for people.
"""

from __future__ import annotations

from graphql import BREAK, ArgumentNode, DocumentNode, ListValueNode, Node, ObjectFieldNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension


def input_path(document: DocumentNode, target: Node) -> str | None:
    """`argument.field[index].field` down to `target`, or None when it is not in an argument."""
    found: list[str | None] = []

    class Finder(Visitor):
        def enter(self, node, key, parent, path, ancestors):
            if node is target:
                found.append(_dotted([*ancestors, parent, node], path))
                return BREAK
            return None

    visit(document, Finder())
    return found[0] if found else None


def _dotted(chain: list, path: list) -> str | None:
    # chain[j + 1] is reached from chain[j] by path[j]: a list value's items by ("values", index).
    parts: list[str] = []
    for j, step in enumerate(chain):
        if isinstance(step, ArgumentNode | ObjectFieldNode):
            parts.append(step.name.value)
        elif isinstance(step, ListValueNode) and parts and j + 1 < len(path):
            parts[-1] += f"[{path[j + 1]}]"
    return ".".join(parts) or None


class InputErrorFields(SchemaExtension):
    def on_operation(self):
        yield
        context = self.execution_context
        errors = (context.result.errors if context.result else None) or []
        for error in errors:
            if error.original_error is not None or not error.nodes or not context.graphql_document:
                continue  # ours already name their field; others have no place in the document
            attr = input_path(context.graphql_document, error.nodes[0])
            if attr and not (error.extensions or {}).get("attr"):
                error.extensions = {**(error.extensions or {}), "attr": attr}
                error.message = f"{attr}: {error.message}"
