"""Small pieces both services share: logging, secrets, the embedded uvicorn server."""
