from __future__ import annotations

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import Response

from api.deps import DefinitionReader, DeployerPerson, Id, SessionDep
from api.responses import ERRORS, download
from api.schemas import DefinitionOut, DefinitionVersions, Deployed
from api.security import inert_xml
from engine.bpmn import bpmn_check
from engine.core.errors import NotFound, TooLarge
from engine.process import definitions
from engine.store.models import Definition

router = APIRouter(prefix="/api/definitions", tags=["definitions"], responses=ERRORS)


def _view(d: Definition) -> dict:
    return {
        "id": d.id,
        "key": d.key,
        "version": d.version,
        "name": d.name,
        "has_scripts": d.has_scripts,
        "lanes": d.lanes,
        "warnings": d.warnings,
        "deployed_at": d.deployed_at.isoformat(),
        "files": [{"name": f.name, "kind": f.kind, "sha256": f.sha256} for f in d.files],
    }


@router.post(
    "",
    status_code=201,
    response_model=Deployed,
    responses={200: {"model": Deployed, "description": "Identical to a deployed version (returned): nothing new."}},
)
async def deploy(
    files: list[UploadFile], session: SessionDep, actor: DeployerPerson, request: Request, response: Response
) -> dict:
    """Deploy one or more .bpmn/.dmn files with their .json form schemas as a new version."""
    loaded = []
    for f in files:
        data = await f.read(bpmn_check.MAX_FILE_BYTES + 1)
        if len(data) > bpmn_check.MAX_FILE_BYTES:
            raise TooLarge(f"{f.filename} is larger than {bpmn_check.MAX_FILE_BYTES // (1024 * 1024)} MB.")
        loaded.append((f.filename or "", data))
    definition, created = definitions.deploy(session, actor=actor, files=loaded)
    body = {**_view(definition), "created": created}
    if not created:
        body["warnings"] = [
            *definition.warnings,
            {
                "element": None,
                "message": f"These files are identical to version {definition.version}; nothing new was deployed.",
            },
        ]
    response.status_code = 201 if created else 200
    return body


@router.get("", response_model=list[DefinitionOut])
def list_definitions(session: SessionDep, _actor: DefinitionReader) -> list[dict]:
    """Every deployed definition version."""
    return [_view(d) for d in definitions.listing(session)]


@router.get("/{key}", response_model=DefinitionVersions)
def get_definition(key: str, session: SessionDep, _actor: DefinitionReader) -> dict:
    """The latest version of a definition, with the list of all its versions."""
    latest = definitions.get(session, key)
    versions = [d.version for d in definitions.listing(session) if d.key == key]
    return {**_view(latest), "versions": versions}


@router.get(
    "/{key}/versions/{version}/bpmn",
    response_class=Response,
    responses=download("application/xml", "The main BPMN file of that version, as an attachment.", text=True),
)
def get_bpmn(key: str, version: Id, session: SessionDep, _actor: DefinitionReader) -> Response:
    """The BPMN XML of one version (the main diagram file)."""
    d = definitions.get(session, key, version)
    main = next((f for f in d.files if f.kind == "bpmn" and f'id="{key}"' in f.content), None)
    main = main or next((f for f in d.files if f.kind == "bpmn"), None)
    if main is None:
        raise NotFound("This version has no BPMN file.")
    return inert_xml(main.content, main.name, media_type="application/xml")
