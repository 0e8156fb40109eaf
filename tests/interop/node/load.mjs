// Node.js clients nobody here wrote, under load, for the client matrix (loadlab/client_matrix.py):
// Connect's connect-node (Connect over HTTP/1.1 or HTTP/2, its gRPC transport) and Google's
// grpc-web (text or binary mode, over xhr2). Usage: node load.mjs '{"client": ..., "url": ...,
// "httpVersion": "1.1"|"2", "inFlight": N, "connections": N, "seconds": S, "kind":
// "unary"|"watch", "descriptorSet": PATH, "authorization": "Bearer ..."}'. Prints one JSON
// line: calls, failures by code (before the run's end), latencies' p50 and p99 in ms, messages.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { create, createFileRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import grpcWeb from "grpc-web";
import XMLHttpRequest from "xhr2";

// grpc-web is a browser library. xhr2 sets responseText only once a reply is complete; a
// browser grows it and fires readystatechange with every chunk, which grpc-web's text mode
// reads a server stream from. This subclass does what a browser does.
class StreamingXMLHttpRequest extends XMLHttpRequest {
  _onHttpResponseData(response, data) {
    if (this._response !== response) return;
    this.responseText += data.toString("latin1");
    const loading = this.readyState === XMLHttpRequest.LOADING;
    super._onHttpResponseData(response, data);
    if (loading) this._setReadyState(XMLHttpRequest.LOADING);
  }
}
globalThis.XMLHttpRequest = StreamingXMLHttpRequest;

const config = JSON.parse(process.argv[2]);
const registry = createFileRegistry(
  fromBinary(FileDescriptorSetSchema, readFileSync(config.descriptorSet)),
);
const service = registry.getService("kugel.item.v1.ItemService");
const LOOKUP = { tenantId: "T0001", storeCode: "S001", itemCode: "ITEM0005" };
const WATCH = { tenantIds: ["T0001"] };
const endsAt = performance.now() + config.seconds * 1000;
const latencies = [];
const failures = {};
const firstError = {};
let calls = 0;
let messages = 0;

function failed(code, message) {
  if (performance.now() >= endsAt) return;
  failures[code] = (failures[code] ?? 0) + 1;
  firstError[code] ??= message;
}

function connectClients() {
  const make = () => {
    const options = { baseUrl: config.url, httpVersion: config.httpVersion };
    const transport =
      config.client === "connect-grpc"
        ? createGrpcTransport(options)
        : createConnectTransport(options);
    return createClient(service, transport);
  };
  return Array.from({ length: config.connections }, make);
}

async function connectWorker(client) {
  const headers = { authorization: config.authorization };
  if (config.kind === "watch") {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), endsAt - performance.now());
    calls += 1;
    try {
      for await (const _ of client.watchItemChanges(WATCH, { headers, signal: controller.signal }))
        messages += 1;
      failed("ended early");
    } catch (error) {
      const connectError = ConnectError.from(error);
      if (!controller.signal.aborted) failed(Code[connectError.code], connectError.message);
    }
    return;
  }
  while (performance.now() < endsAt) {
    const started = performance.now();
    try {
      await client.getItemDetail(LOOKUP, { headers, timeoutMs: 5000 });
      latencies.push(performance.now() - started);
      calls += 1;
    } catch (error) {
      const connectError = ConnectError.from(error);
      failed(Code[connectError.code], connectError.message);
    }
  }
}

function grpcWebClients() {
  const format = config.client === "grpc-web-text" ? "text" : "binary";
  const method = (name, kind) => {
    const m = service.method[name];
    return new grpcWeb.MethodDescriptor(
      `/kugel.item.v1.ItemService/${m.name}`,
      kind,
      Object,
      Object,
      (message) => toBinary(m.input, create(m.input, message)),
      (bytes) => fromBinary(m.output, bytes),
    );
  };
  const lookup = method("getItemDetail", "unary");
  const watch = method("watchItemChanges", "server_streaming");
  return Array.from({ length: config.connections }, () => ({
    client: new grpcWeb.GrpcWebClientBase({ format }),
    lookup,
    watch,
  }));
}

async function grpcWebWorker({ client, lookup, watch }) {
  const base = config.url;
  if (config.kind === "watch") {
    calls += 1;
    await new Promise((resolve) => {
      const stream = client.serverStreaming(
        base + watch.getName(),
        WATCH,
        { authorization: config.authorization },
        watch,
      );
      const timer = setTimeout(() => {
        stream.cancel();
        resolve();
      }, endsAt - performance.now());
      stream.on("data", () => {
        messages += 1;
      });
      stream.on("error", (error) => {
        failed(grpcWeb.StatusCode[error.code] ?? String(error.code), error.message);
        clearTimeout(timer);
        resolve();
      });
      stream.on("end", () => {
        failed("ended early");
        clearTimeout(timer);
        resolve();
      });
    });
    return;
  }
  while (performance.now() < endsAt) {
    const started = performance.now();
    const metadata = {
      authorization: config.authorization,
      deadline: String(Date.now() + 5000),
    };
    try {
      await client.unaryCall(base + lookup.getName(), LOOKUP, metadata, lookup);
      latencies.push(performance.now() - started);
      calls += 1;
    } catch (error) {
      failed(grpcWeb.StatusCode[error.code] ?? String(error.code), error.message);
    }
  }
}

const grpcWebMode = config.client.startsWith("grpc-web");
const clients = grpcWebMode ? grpcWebClients() : connectClients();
const worker = grpcWebMode ? grpcWebWorker : connectWorker;
await Promise.all(
  Array.from({ length: config.inFlight }, (_, n) => worker(clients[n % clients.length])),
);
latencies.sort((a, b) => a - b);
const at = (q) => (latencies.length ? latencies[Math.floor(q * (latencies.length - 1))] : null);
console.log(
  JSON.stringify({ calls, failures, firstError, p50: at(0.5), p99: at(0.99), messages }),
);
process.exit(0); // HTTP/2 sessions and keep-alive sockets would hold the process open
