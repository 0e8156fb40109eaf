"""The `master-data` command: serve, import a master file, seed the demo data."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import uvloop

from services.common.logging import configure_logging
from services.common.postgres import redacted
from services.common.settings_loader import load_settings, settings_help
from services.common.setup_errors import exit_on_setup_error, writing_database
from services.common.workers import run_workers

from . import demo_data
from .catalog import ItemCatalog
from .master_files import InvalidMasterFile, read_master_file
from .master_import import format_of, import_master_file
from .server import serve
from .settings import MasterDataSettings
from .storage import open_repository


async def _import(settings: MasterDataSettings, path: Path, kind: str | None) -> int:
    repository = await open_repository(settings, create=True)
    try:
        catalog = ItemCatalog(repository, 0)
        opened = (lambda: path.open("rb"), format_of(path), kind)
        file = await asyncio.to_thread(read_master_file, *opened)

        def progress(words: str) -> None:
            print(f"{path}: {words}", file=sys.stderr)

        async with writing_database(settings.master_data_db, "MASTER_DATA_DB", "nothing written"):
            return await import_master_file(catalog, file, progress)
    finally:
        await repository.close()


def _records(count: int) -> str:
    return "1 record" if count == 1 else f"{count} records"


async def _seed_demo(settings: MasterDataSettings) -> int:
    repository = await open_repository(settings, create=True)
    try:
        records = demo_data.records()
        async with writing_database(settings.master_data_db, "MASTER_DATA_DB", "nothing seeded"):
            await ItemCatalog(repository, 0).apply(records)
        return len(records)
    finally:
        await repository.close()


async def _open_and_close(settings: MasterDataSettings, *, create: bool) -> None:
    await (await open_repository(settings, create=create)).close()  # opening migrates


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="master-data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "serve",
        help="serve gRPC (when USE_GRPC=true) and HTTP until SIGTERM",
        epilog=settings_help(MasterDataSettings),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    importer = commands.add_parser("import", help="import a master file (.json or .csv)")
    importer.add_argument("file", type=Path)
    importer.add_argument(
        "--kind", help="what a CSV file holds: tenants, stores, tax-rules, items, store-prices"
    )
    commands.add_parser("seed-demo", help="write the demo data set (idempotent)")
    commands.add_parser(
        "init", help="create the database (a SQLite file and its folder) if missing, then exit"
    )
    commands.add_parser("migrate", help="bring an existing database's schema up to date")
    args = parser.parse_args(argv)

    settings = load_settings(MasterDataSettings, "master-data")
    configure_logging(settings.log_level, settings.log_format)
    with exit_on_setup_error("master-data"):  # a port in use, a database not there: one line
        _run(args, settings)


def _run(args: argparse.Namespace, settings: MasterDataSettings) -> None:
    if args.command == "serve":
        if settings.workers > 1:
            ports = {"http_port": settings.http_port}
            if settings.use_grpc:
                ports["grpc_port"] = settings.grpc_port

            def serve_one(resolved: dict[str, int]) -> None:
                one = {"workers": 1, "reuse_port": True, **resolved}
                with exit_on_setup_error("master-data"):
                    uvloop.run(serve(settings.model_copy(update=one)))

            raise SystemExit(
                run_workers("master-data", settings.workers, settings.bind_host, ports, serve_one)
            )
        uvloop.run(serve(settings))
    elif args.command == "import":
        try:
            count = asyncio.run(_import(settings, args.file, args.kind))
        except InvalidMasterFile as invalid:
            for problem in invalid.problems:
                print(f"{args.file}: {problem}", file=sys.stderr)
            if invalid.more:
                print(f"{args.file}: and {invalid.more} more problems", file=sys.stderr)
            print(f"{args.file}: {_records(invalid.checked)} checked, nothing written",
                  file=sys.stderr)  # fmt: skip
            raise SystemExit(1) from None
        except OSError as error:
            print(f"master-data import: {error}", file=sys.stderr)
            raise SystemExit(1) from None
        print(f"{_records(count)} written into {redacted(settings.master_data_db)}")
    elif args.command in ("migrate", "init"):
        asyncio.run(_open_and_close(settings, create=args.command == "init"))
        print(f"schema of {redacted(settings.master_data_db)} is up to date")
    else:
        count = asyncio.run(_seed_demo(settings))
        print(f"seeded {count} demo records into {redacted(settings.master_data_db)}")


if __name__ == "__main__":
    main()
