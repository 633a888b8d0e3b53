"""`python -m app.cli links`: print the organiser link (creating the secret on first run).
`python -m app.cli purge`: erase the personal data of events past their retention now (the
server also does it at start and every TAVOLI_PURGE_INTERVAL seconds; docs/privacy.md)."""

import argparse

from app.config import get_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    links = sub.add_parser("links", help="print the links to open")
    links.add_argument("--base-url", default="http://127.0.0.1:8000")
    sub.add_parser("purge", help="erase the personal data of events past their retention")
    args = parser.parse_args(argv)
    if args.command == "purge":
        purge()
    if args.command == "links":
        settings = get_settings()
        base = (settings.tavoli_public_url or args.base_url).rstrip("/")
        print()
        print("  Tavoli is starting.")
        print(
            f"  Organiser (create an event, keep it private): {base}/admin/{settings.admin_token}"
        )
        print(f"  Participants join at:                          {base}/")
        print(f"  API documentation:                             {base}/api/docs")
        print()


def purge() -> None:
    from app.db import make_engine
    from app.live.retention import sweep

    engine = make_engine(get_settings().database_url, threads=4)
    try:
        changes = sweep(engine)
    finally:
        engine.dispose()
    print(f"Personal data erased at {len(changes)} tables past their retention.")


if __name__ == "__main__":
    main()
