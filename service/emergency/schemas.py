from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from service.types import Code, OutModel, StrictModel, Tag

Mode = Literal["peacetime", "emergency"]
Word = Annotated[str, Field(min_length=1, max_length=50)]


class Rule(StrictModel):
    """Raise matching requests to ``urgency`` while in emergency; conditions all hold."""

    urgency: Literal["urgent", "emergency"]
    categories: Annotated[list[Code], Field(max_length=50)] | None = None
    resident_tags: Annotated[list[Tag], Field(max_length=20)] | None = None
    keywords: Annotated[list[Word], Field(max_length=50)] | None = None

    @model_validator(mode="after")
    def _has_a_condition(self) -> "Rule":
        if not (self.categories or self.resident_tags or self.keywords):
            raise ValueError("a rule needs categories, resident_tags or keywords")
        return self


class ModeChange(StrictModel):
    mode: Mode
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    rules: Annotated[list[Rule], Field(max_length=50)] | None = Field(
        default=None,
        description="Urgency rules for this emergency; omitted: the community's own, or the "
        "defaults (insulin and anti-epileptic drugs become emergencies; elderly people living "
        "alone become urgent)",
    )


class CommunityMode(OutModel):
    community_id: str
    mode: Mode
    mode_since: datetime | None
    rules: list[dict[str, Any]]
    requests_reprioritised: int = Field(description="Open requests whose urgency changed")


class ModeChanges(OutModel):
    communities: list[CommunityMode]
