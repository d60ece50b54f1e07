"""The principals survey_api's routes demand, by scope: defined once, imported by each domain's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.auth import Principal, require_scopes

SurveyReader = Annotated[Principal, Depends(require_scopes("surveys:read"))]
SurveyWriter = Annotated[Principal, Depends(require_scopes("surveys:write"))]
ContactReader = Annotated[Principal, Depends(require_scopes("contacts:read"))]
ContactWriter = Annotated[Principal, Depends(require_scopes("contacts:write"))]
ResponseReader = Annotated[Principal, Depends(require_scopes("responses:read"))]
ResponseWriter = Annotated[Principal, Depends(require_scopes("responses:write"))]
DistributionWriter = Annotated[Principal, Depends(require_scopes("distributions:write"))]
