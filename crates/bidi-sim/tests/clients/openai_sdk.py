"""The official openai SDK (realtime) against the bidi-sim OpenAI server.

Usage: openai_sdk.py BASE_URL  (e.g. http://127.0.0.1:PORT/v1)

Runs a text turn and a tool call round trip, validates every server event against the
SDK's own pydantic models (strictly: an event the SDK cannot type is a failure), and prints
one JSON line per finding; the last line is {"ok": true, ...} when everything held.
"""

import asyncio
import json
import sys

from openai import AsyncOpenAI
from openai.types.realtime import RealtimeServerEvent
from pydantic import TypeAdapter

SERVER_EVENT = TypeAdapter(RealtimeServerEvent)


async def turn(conn, seen):
    """Reads events until response.done; validates each; returns the response.done event."""
    while True:
        event = await conn.recv()
        raw = event.model_dump(mode="json", exclude_unset=True)
        SERVER_EVENT.validate_python(raw)  # raises on anything the SDK cannot type
        seen.append(raw["type"])
        if raw["type"] == "error":
            raise SystemExit(json.dumps({"ok": False, "error": raw}))
        if raw["type"] == "response.done":
            return event


async def main(base_url):
    client = AsyncOpenAI(api_key="sk-test", base_url=base_url)
    seen = []
    async with client.realtime.connect(model="gpt-realtime-2") as conn:
        created = await conn.recv()
        if created.type != "session.created" or created.session.model != "gpt-realtime-2":
            raise SystemExit(json.dumps({"ok": False, "error": "session.created",
                                         "got": created.model_dump(mode="json")}))
        await conn.session.update(session={
            "type": "realtime",
            "output_modalities": ["audio"],
            "tools": [{"type": "function", "name": "get_weather",
                       "description": "The weather in a city.",
                       "parameters": {"type": "object",
                                      "properties": {"city": {"type": "string"}}}}],
        })
        await conn.conversation.item.create(item={
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "What is the weather?"}]})
        await conn.response.create()
        done = await turn(conn, seen)
        calls = [o for o in done.response.output if o.type == "function_call"]
        if not calls:
            raise SystemExit(json.dumps({"ok": False, "error": "no function call", "seen": seen}))
        call = calls[0]
        await conn.conversation.item.create(item={
            "type": "function_call_output", "call_id": call.call_id,
            "output": json.dumps({"weather": "sunny"})})
        await conn.response.create()
        done = await turn(conn, seen)
        transcripts = [c.transcript for o in done.response.output if o.type == "message"
                       for c in (o.content or []) if getattr(c, "transcript", None)]
        print(json.dumps({"ok": True, "call": call.name, "answer": transcripts,
                          "events": len(seen)}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
