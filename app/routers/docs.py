"""The API's documentation page: Swagger UI served from Tavoli's own static files.

FastAPI's built-in page loads Swagger UI from a CDN, which the app's CSP refuses (and a
venue often has no internet); this page loads the vendored copy from /static instead.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.templating import templates

router = APIRouter(include_in_schema=False)


@router.get("/api/docs")
def api_docs(request: Request) -> Response:
    return templates.TemplateResponse(
        request, "pages/api_docs.html", {}, headers={"cache-control": "no-cache"}
    )
