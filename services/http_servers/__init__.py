"""The HTTP servers the services embed: uvicorn (HTTP/1.1, guarded: `http1`) and Hypercorn
(HTTP/2 for Connect and gRPC-Web, its frames through the flood guard of `services.wire`)."""
