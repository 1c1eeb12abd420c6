"""Urgency rules of emergency mode: which needs rise while a community is in emergency.

A rule names the urgency it raises to and any of three conditions, all of which must hold:
the request's category, tags its resident carries (all of them), words in its description
(any of them). A request's urgency in emergency mode is the highest of what it was filed
with and what every matching rule gives; back in peacetime it is what it was filed with.
"""

from collections.abc import Sequence
from typing import Any

URGENCY_RANK = {"normal": 0, "urgent": 1, "emergency": 2}

# Pinghu's 2022 lists: insulin and anti-epileptic drugs cannot wait a day; elderly people
# living alone were visited first.
DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "urgency": "emergency",
        "keywords": ["胰岛素", "insulin", "抗癫痫", "癫痫", "antiepileptic", "anti-epileptic"],
    },
    {"urgency": "urgent", "resident_tags": ["elderly", "lives_alone"]},
]


def matches(rule: dict[str, Any], category: str, tags: Sequence[str], text: str) -> bool:
    if rule.get("categories") and category not in rule["categories"]:
        return False
    if rule.get("resident_tags") and not set(rule["resident_tags"]) <= set(tags):
        return False
    if rule.get("keywords"):
        lowered = text.lower()
        if not any(word.lower() in lowered for word in rule["keywords"]):
            return False
    return True


def effective(
    given: str,
    rules: Sequence[dict[str, Any]],
    category: str,
    tags: Sequence[str],
    text: str | None,
) -> str:
    """The urgency a request has under these rules."""
    best = given
    for rule in rules:
        if URGENCY_RANK[rule["urgency"]] > URGENCY_RANK[best] and matches(
            rule, category, tags, text or ""
        ):
            best = rule["urgency"]
    return best
