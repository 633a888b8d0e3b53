"""The last message a deleted table's connections get, before they are closed for good.

The broadcaster sends it (here and, through a DELETED notice, in every worker): the API
stream's `{"type": "deleted"}` (`api_farewell`), and with the app's `farewell` the pages'
notice too."""

import json
import logging
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet

from app.i18n import LOCALES, using_locale
from app.live.fragments import API, DASHBOARD, HTML_AUDIENCES, Fragments, payload_key
from app.live.hub import Hub, Push, table_channel

log = logging.getLogger(__name__)

# The last message to a deleted table's connections, per payload key (table id, keys).
Farewell = Callable[[int, AbstractSet[str]], Mapping[str, str]]
DELETED_JSON = json.dumps({"type": "deleted"})


def api_farewell(_table_id: int, keys: AbstractSet[str]) -> Mapping[str, str]:
    return {"api": DELETED_JSON} if "api" in keys else {}


def send_farewell(hub: Hub, table_id: int, farewell: Farewell) -> None:
    """Every connection of the table here gets its last push (`final`: it closes after)."""
    channel = table_channel(table_id)
    keys = hub.keys(channel)
    if not hub.subscriber_count(channel):
        return
    try:
        payloads = farewell(table_id, keys)
    except Exception:
        log.exception("the deletion message of table %s failed", table_id)
        payloads = {}
    hub._fan_out(
        Push(channel=channel, seq=0, prev_seq=0, payloads=payloads, rendered=keys, final=True)
    )


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
