"""The `cart` command: serve the cart API, register terminals."""

from __future__ import annotations

import argparse
import asyncio
import sys

import uvloop
from pydantic import TypeAdapter, ValidationError

from services.common.codes import RULE, Code
from services.common.logging import configure_logging
from services.common.postgres import redacted
from services.common.settings_loader import load_settings, settings_help
from services.common.setup_errors import exit_on_setup_error, writing_database
from services.common.workers import run_workers

from .server import serve
from .settings import CartSettings
from .storage import open_repository
from .terminals import issue_key


async def _add_terminal(settings: CartSettings, tenant: str, store: str, terminal: str) -> str:
    key = issue_key()
    repository = await open_repository(settings, create=True)
    try:
        async with writing_database(settings.cart_db, "CART_DB", "no terminal registered"):
            await repository.add_terminal(key, tenant, store, terminal)
    finally:
        await repository.close()
    return key.api_key


def _code(value: str) -> str:
    try:
        return TypeAdapter(Code).validate_python(value)
    except ValidationError:
        raise argparse.ArgumentTypeError(RULE) from None


async def _open_and_close(settings: CartSettings, *, create: bool) -> None:
    await (await open_repository(settings, create=create)).close()  # opening migrates


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="cart", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "serve",
        help="serve the cart API until SIGTERM",
        epilog=settings_help(CartSettings),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands.add_parser(
        "init", help="create the database (a SQLite file and its folder) if missing, then exit"
    )
    commands.add_parser("migrate", help="bring an existing database's schema up to date")
    terminals = commands.add_parser("terminals", help="manage terminals")
    terminal_commands = terminals.add_subparsers(dest="terminal_command", required=True)
    add = terminal_commands.add_parser("add", help="register a terminal and print its API key once")
    add.add_argument("--tenant", required=True, type=_code)
    add.add_argument("--store", required=True, type=_code)
    add.add_argument("--terminal", required=True, type=_code)
    args = parser.parse_args(argv)

    settings = load_settings(CartSettings, "cart")
    configure_logging(settings.log_level, settings.log_format)
    with exit_on_setup_error("cart"):  # a port in use, a database not there: one line
        _run(args, settings)


def _run(args: argparse.Namespace, settings: CartSettings) -> None:
    if args.command == "serve":
        if settings.workers > 1:

            def serve_one(resolved: dict[str, int]) -> None:
                one = {"workers": 1, "reuse_port": True, **resolved}
                with exit_on_setup_error("cart"):
                    uvloop.run(serve(settings.model_copy(update=one)))

            ports = {"http_port": settings.http_port}
            raise SystemExit(
                run_workers("cart", settings.workers, settings.bind_host, ports, serve_one)
            )
        uvloop.run(serve(settings))
    elif args.command in ("migrate", "init"):
        asyncio.run(_open_and_close(settings, create=args.command == "init"))
        print(f"schema of {redacted(settings.cart_db)} is up to date")
    else:
        api_key = asyncio.run(_add_terminal(settings, args.tenant, args.store, args.terminal))
        who = f"{args.tenant}/{args.store}/{args.terminal}"
        print(f"terminal {who} registered; its API key, shown only this once:", file=sys.stderr)
        print(api_key)


if __name__ == "__main__":
    main()
