// Connect's Node.js client against master-data: one BatchGetItemDetails call, printed as
// proto3 JSON. Usage: node client.mjs DESCRIPTOR_SET URL connect|grpc 1.1|2 json|binary
//   [post|get] [gzip|identity] (the test tool of tests/integration/test_connect_node_client.py)
import { readFileSync } from "node:fs";
import { createFileRegistry, fromBinary, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient } from "@connectrpc/connect";
import {
  compressionGzip,
  createConnectTransport,
  createGrpcTransport,
} from "@connectrpc/connect-node";

const [descriptorSet, baseUrl, protocol, httpVersion, format, verb, compression] =
  process.argv.slice(2);
const registry = createFileRegistry(
  fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSet)),
);
const service = registry.getService("kugel.item.v1.ItemService");
const options = {
  baseUrl,
  httpVersion,
  useBinaryFormat: format === "binary",
  sendCompression: compression === "gzip" ? compressionGzip : undefined,
  compressMinBytes: 0, // gzip every request when asked, however small
};
const transport =
  protocol === "grpc"
    ? createGrpcTransport(options)
    : createConnectTransport({ ...options, useHttpGet: verb === "get" });
const client = createClient(service, transport);
const request = {
  tenantId: "T0001",
  storeCode: "S001",
  itemCodes: Array.from({ length: 40 }, (_, n) => `ITEM${String(n + 1).padStart(4, "0")}`),
};
try {
  const reply = await client.batchGetItemDetails(request, {
    headers: { authorization: process.env.KUGEL_AUTHORIZATION ?? "" },
    timeoutMs: 5000,
  });
  console.log(JSON.stringify(toJson(service.method.batchGetItemDetails.output, reply)));
} catch (error) {
  console.log(JSON.stringify({ error: ConnectError.from(error).code }));
  process.exitCode = 1;
}
