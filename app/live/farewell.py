"""The last message a deleted table's connections get, before they are closed for good."""

from collections.abc import Mapping
from collections.abc import Set as AbstractSet

from app.i18n import LOCALES, using_locale
from app.live.broadcaster import DELETED_JSON
from app.live.fragments import API, DASHBOARD, HTML_AUDIENCES, Fragments, payload_key


def farewell(fragments: Fragments, table_id: int, keys: AbstractSet[str]) -> Mapping[str, str]:
    """Per payload key in `keys`: the pages replace their content with a notice and a link
    home (htmx out-of-band swaps), the dashboard marks the row, the API stream gets
    `{"type": "deleted"}`."""
    payloads: dict[str, str] = {}
    if API in keys:
        payloads[API] = DELETED_JSON
    for locale in LOCALES:
        with using_locale(locale):
            for audience in (*HTML_AUDIENCES, DASHBOARD):
                key = payload_key(audience, locale)
                if key in keys:
                    payloads[key] = fragments.render(
                        "partials/_deleted.html", audience=audience, table_id=table_id
                    )
    return payloads
