"""The transaction routes under /api/v1, behind the cart API's edge (X-API-KEY, rate limit,
body limits, Idempotency-Key, one error shape)."""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .api_models import ReturnInput, TransactionListInput
from .errors import ErrorCode
from .http_api import PREFIX, CartApi, Handler, checked_id, validation_error
from .terminals import Terminal
from .transaction_rows import TransactionQuery
from .transaction_service import TransactionService
from .transactions import Transaction


def _json(transaction: Transaction, status_code: int = 200) -> Response:
    return Response(
        transaction.model_dump_json(by_alias=True),
        status_code=status_code,
        media_type="application/json",
    )


class TransactionApi:
    """GET /transactions, GET /transactions/{id}, POST .../void and .../return."""

    def __init__(self, edge: CartApi, service: TransactionService) -> None:
        self._edge = edge
        self._service = service

    def routes(self) -> list[Route]:
        one = f"{PREFIX}/transactions/{{transaction_id}}"
        table: list[tuple[str, str, Handler]] = [
            (f"{PREFIX}/transactions", "GET", self.list_transactions),
            (one, "GET", self.get_transaction),
            (f"{one}/void", "POST", self.void),
            (f"{one}/return", "POST", self.return_lines),
        ]
        return [
            Route(path, self._edge.guarded(handler), methods=[method])
            for path, method, handler in table
        ]

    async def list_transactions(self, request: Request, terminal: Terminal) -> Response:
        try:
            asked = TransactionListInput.model_validate(dict(request.query_params))
        except ValidationError as invalid:
            raise validation_error(invalid, "query") from None
        query = TransactionQuery(
            terminal.tenant_id,
            terminal.store_code,
            asked.business_date,
            asked.receipt_no,
            asked.type,
            asked.terminal_id,
            offset=(asked.page - 1) * asked.limit,
            limit=asked.limit,
        )
        found, next_page = await self._service.page(query, asked.page)
        documents = ",".join(t.model_dump_json(by_alias=True) for t in found)
        tail = "" if next_page is None else f',"nextPage":{next_page}'
        return Response(f'{{"transactions":[{documents}]{tail}}}', media_type="application/json")

    async def get_transaction(self, request: Request, terminal: Terminal) -> Response:
        return _json(await self._service.get(terminal, _transaction_id(request)))

    async def void(self, request: Request, terminal: Terminal) -> Response:
        idempotency = self._edge.idempotency_key(request, terminal)
        void = await self._service.void(terminal, _transaction_id(request), idempotency)
        return _json(void, 201)

    async def return_lines(self, request: Request, terminal: Terminal) -> Response:
        body: ReturnInput = await self._edge.read_body(request, ReturnInput)
        returned = await self._service.return_lines(
            terminal,
            _transaction_id(request),
            body.quantities(),
            body.refund_method,
            self._edge.idempotency_key(request, terminal),
            refund_reason=body.refund_reason,
        )
        return _json(returned, 201)


def _transaction_id(request: Request) -> str:
    transaction_id = request.path_params["transaction_id"]
    return checked_id(transaction_id, ErrorCode.TRANSACTION_NOT_FOUND, "transaction")
