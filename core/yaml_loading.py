"""Reading questionnaire YAML safely: no Python objects, no duplicate keys, and the
YAML 1.1 booleans (``yes``/``no``/``on``/``off``) kept as the strings a person wrote."""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode


class DuplicateKeyError(ValueError):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(f"duplicate key {key!r} (line {line})")
        self.key = key
        self.line = line


class StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (only true/false) that rejects duplicate keys."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise DuplicateKeyError(str(key), key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# Rebuild the implicit resolvers without YAML 1.1's yes/no/on/off booleans.
StrictSafeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictSafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=StrictSafeLoader)
