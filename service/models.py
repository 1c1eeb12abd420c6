"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from service.assignments import models as assignments  # noqa: F401
from service.audit import models as audit  # noqa: F401
from service.auth import models as auth  # noqa: F401
from service.catalogue import models as catalogue  # noqa: F401
from service.db import Base
from service.dispatch import models as dispatch  # noqa: F401
from service.events import models as events  # noqa: F401
from service.funds import models as funds  # noqa: F401
from service.idempotency import models as idempotency  # noqa: F401
from service.pickups import models as pickups  # noqa: F401
from service.places import models as places  # noqa: F401
from service.requests import models as requests  # noqa: F401
from service.residents import models as residents  # noqa: F401
from service.responders import models as responders  # noqa: F401
from service.runs import models as runs  # noqa: F401
from service.zones import models as zones  # noqa: F401

metadata = Base.metadata
