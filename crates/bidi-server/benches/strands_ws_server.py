"""The Python original served as its docs show: a FastAPI WebSocket endpoint running one
strands-agents 1.40 ``BidiAgent`` (``BidiOpenAIRealtimeModel``) per connection, with the
socket's ``receive_json`` / ``send_json`` as the agent's input and output.

Used by ``cargo bench -p bidi-server --bench serve`` to compare bidi-server with it against
the same provider. Prints ``listening on http://HOST:PORT`` once it accepts connections.

    python strands_ws_server.py --endpoint ws://127.0.0.1:PORT/v1/realtime
"""

import argparse
import asyncio
import socket

import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from strands.experimental.bidi import BidiAgent
from strands.experimental.bidi.models import openai_realtime
from strands.experimental.bidi.models.openai_realtime import BidiOpenAIRealtimeModel

app = FastAPI()


@app.websocket("/ws")
async def conversation(websocket: WebSocket) -> None:
    await websocket.accept()
    model = BidiOpenAIRealtimeModel(client_config={"api_key": "bench"})
    agent = BidiAgent(model=model, system_prompt="You are a helpful voice assistant.")
    try:
        await agent.run(inputs=[websocket.receive_json], outputs=[websocket.send_json])
    except (WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True, help="the OpenAI Realtime endpoint")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    # strands 1.40 reads this module constant at each connect; it is the only override.
    openai_realtime.OPENAI_REALTIME_URL = args.endpoint
    # IPPROTO_TCP spelled out, as uvicorn's own binding does: asyncio sets TCP_NODELAY on a
    # transport only when its socket's proto says TCP (proto 0 leaves Nagle on).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    # Listening before the line is printed: connections wait in the backlog until uvicorn
    # accepts them.
    sock.listen(2048)
    host, port = sock.getsockname()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws_max_size=1 << 20))
    print(f"listening on http://{host}:{port}", flush=True)
    asyncio.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
