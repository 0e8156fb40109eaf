"""The HTTP servers the services embed: uvicorn (HTTP/1.1, guarded: `uvicorn_seams`) and
Hypercorn (HTTP/2 for Connect and gRPC-Web, its frames through the flood guard of
`services.wire`: `hypercorn_seams`)."""
