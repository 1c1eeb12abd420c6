"""What live matching keeps in the database: a change counter per community."""

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base

# The counter of changes that may touch any community (a responder's terms).
ANY_COMMUNITY = "*"


class WarmVersion(Base):
    """A counter per community, raised in the transaction of every write that a warm
    live-matching state must be rebuilt for (service.dispatch.warm): a responder, fund or
    community edited, capacity given back, work written by hand or by a batch run. Offers
    live matching makes do not raise it: every process counts them itself or catches up
    with them. A process's state compares the counters with those it was built at, instead
    of rebuilding on a timer whether anything changed or not."""

    __tablename__ = "warm_version"

    community_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)
