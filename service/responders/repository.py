from sqlalchemy import select
from sqlalchemy.orm import Session

from service.responders.models import ResponderCommunity


def community_ids_of_responder(session: Session, responder_id: str) -> list[str]:
    stmt = select(ResponderCommunity.community_id).where(
        ResponderCommunity.responder_id == responder_id
    )
    return list(session.scalars(stmt))
