// A browser page calling master-data over Connect and over gRPC-Web with connect-web and the
// TypeScript buf generates from our contract. Its query names the API (`api`) and the token;
// it writes what it got into #out and window.results (read by tests/integration/test_browser.py).
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { ItemService } from "./gen/kugel/item/v1/item_service_pb";

declare global {
  interface Window {
    results?: unknown;
  }
}

const query = new URLSearchParams(location.search);
const baseUrl = query.get("api") ?? "";
const headers = { authorization: `Bearer ${query.get("token") ?? ""}` };
const store = { tenantId: "T0001", storeCode: "S001" };

async function calls(transport: Transport) {
  const client = createClient(ItemService, transport);
  const one = await client.getItemDetail({ ...store, itemCode: "ITEM0001" }, { headers, timeoutMs: 5000 });
  const batch = await client.batchGetItemDetails(
    { ...store, itemCodes: Array.from({ length: 20 }, (_, n) => `ITEM${String(n + 1).padStart(4, "0")}`) },
    { headers, timeoutMs: 5000 },
  );
  let missing = "";
  try {
    await client.getItemDetail({ ...store, itemCode: "NOPE" }, { headers, timeoutMs: 5000 });
  } catch (error) {
    missing = Code[ConnectError.from(error).code];
  }
  const events: string[] = [];
  for await (const event of client.watchItemChanges(
    { tenantIds: [store.tenantId], storeCodes: [store.storeCode] },
    { headers, timeoutMs: 15000 },
  )) {
    events.push(event.event.case ?? "");
    if (events.length >= 2) break; // leaving the loop cancels the stream
  }
  return {
    itemName: one.item?.itemName,
    unitPrice: String(one.item?.unitPrice),
    batch: batch.items.length,
    missing,
    events,
  };
}

async function main() {
  const results: Record<string, unknown> = {};
  for (const [name, transport] of [
    ["connect", createConnectTransport({ baseUrl })],
    ["grpcWeb", createGrpcWebTransport({ baseUrl })],
  ] as const) {
    try {
      results[name] = await calls(transport);
    } catch (error) {
      results[name] = { error: String(error) };
    }
  }
  document.getElementById("out")!.textContent = JSON.stringify(results, null, 2);
  window.results = results;
}

void main();
