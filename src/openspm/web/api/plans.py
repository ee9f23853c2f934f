"""`/api/v1/plans`: plans and their versions, validation, publishing a version, the plan JSON Schema."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from openspm.access import plans as access
from openspm.access.principal import Principal
from openspm.web.api.endpoints import ERRORS, WRITE_ERRORS, Limit, Offset, _page, json_errors, principal
from openspm.web.api.schemas import PageOut, plain
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1", responses=ERRORS)
PlanId = Path(..., min_length=1, max_length=128, description="The plan's id, e.g. ae-commission")
Version = Path(..., ge=1, le=2**31 - 1, description="The version number")
MAX_DOCUMENT = 1_000_000


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    plan: str
    name: str
    currency: str
    description: str | None
    versions: int
    newest: int | None = Field(description="The highest version number")
    in_force: int | None = Field(description="The version that governs today")


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    plan: str
    version: int
    effective_from: date
    effective_to: date | None = Field(description="As published (exclusive); null: open-ended")
    applies_to: date | None = Field(description="Where it stops governing: its end, or the next version's start")
    published_by: str | None
    published_at: datetime


class VersionDocumentOut(VersionOut):
    document: str = Field(description="The plan document (YAML)")


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: str = Field(..., max_length=MAX_DOCUMENT, description="A plan document (YAML)")
    source: str = Field("plan.yaml", max_length=200, description="The name errors use for the document")


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: str = Field(..., max_length=MAX_DOCUMENT, description="The plan document (YAML) to publish")
    effective_from: date | None = Field(None, description="Effective from this day (default: the document's own)")
    note: str | None = Field(None, max_length=2000, description="Why (kept in the audit log)")


class ProblemOut(BaseModel):
    source: str
    key: str = Field(description="The key path, e.g. components[commission].tiers[0].rate")
    problem: str
    message: str = Field(description="`FILE @ key: problem`, as `openspm plan check` prints it")


class ValidationOut(BaseModel):
    valid: bool
    plan: str | None
    name: str | None
    measures: list[str]
    components: list[str]
    errors: list[ProblemOut]


class DiffOut(BaseModel):
    plan: str
    old: int
    new: int
    lines: list[str] = Field(description="A unified diff of the two documents")
    changes: list[str] = Field(description="What changed, by component, measure and setting")


@router.get("/plans", response_model=PageOut[PlanOut], tags=["plans"])
def plans(request: Request, limit: int = Limit, offset: int = Offset, who: Principal = Depends(principal)) -> Any:
    """The plans you may read (a rep: the plans they are assigned to), with their newest and in-force version."""
    return _page(access.plans_for(engine_of(request), who), limit, offset)


@router.get("/plans/schema", tags=["plans"], response_class=JSONResponse)
def plan_schema(who: Principal = Depends(principal)) -> JSONResponse:
    """The JSON Schema of plan files (the same as `openspm plan schema`)."""
    return JSONResponse(access.schema())


@router.post("/plans/validate", response_model=ValidationOut, tags=["plans"])
def validate(body: DocumentIn, who: Principal = Depends(principal)) -> Any:
    """Check a plan document as `openspm plan check` does; `errors` name the file, the key path and the problem.
    Nothing is stored."""
    return plain(access.validate(body.document, body.source))


@router.get("/plans/{plan_id}/versions", response_model=PageOut[VersionOut], tags=["plans"])
def versions(
    request: Request,
    plan_id: str = PlanId,
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> Any:
    """A plan's versions, newest first: effective dates, who published each and when."""
    return _page(access.versions_for(engine_of(request), who, plan_id), limit, offset)


@router.get(
    "/plans/{plan_id}/versions/{version}.yaml",
    response_class=PlainTextResponse,
    tags=["plans"],
    responses={**json_errors(ERRORS), 200: {"content": {"application/yaml": {}}, "description": "The plan document"}},
)
def version_yaml(
    request: Request, plan_id: str = PlanId, version: int = Version, who: Principal = Depends(principal)
) -> Response:
    """A version's plan document, as YAML."""
    found = access.version_for(engine_of(request), who, plan_id, version)
    return Response(
        found.document or "",
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{plan_id}-v{version}.yaml"'},
    )


@router.get("/plans/{plan_id}/versions/{version}", response_model=VersionDocumentOut, tags=["plans"])
def version(
    request: Request, plan_id: str = PlanId, version: int = Version, who: Principal = Depends(principal)
) -> Any:
    """One version with its plan document."""
    return access.version_for(engine_of(request), who, plan_id, version)


@router.get("/plans/{plan_id}/diff", response_model=DiffOut, tags=["plans"])
def diff(
    request: Request,
    plan_id: str = PlanId,
    old: int = Query(..., ge=1, le=2**31 - 1, description="The older version"),
    new: int = Query(..., ge=1, le=2**31 - 1, description="The newer version"),
    who: Principal = Depends(principal),
) -> Any:
    """The unified diff of two versions and which components, measures and settings changed."""
    return access.diff_for(engine_of(request), who, plan_id, old, new)


@router.post(
    "/plans/{plan_id}/versions",
    response_model=VersionOut,
    status_code=201,
    tags=["plans"],
    responses=WRITE_ERRORS,
)
def publish(request: Request, body: PublishIn, plan_id: str = PlanId, who: Principal = Depends(principal)) -> Any:
    """Publish a document as the plan's next version, effective from a date (admin, comp analyst).

    422 when the document does not check (the detail names the key path) or is another plan; 409 when a
    closed month falls in the days it would govern, or it is the same as the newest version."""
    return access.publish_for(engine_of(request), who, plan_id, body.document, body.effective_from, body.note)
