"""A tiny MCP server on the reference Python SDK (`mcp` on PyPI, MCPServer, formerly
FastMCP), for the bidi-mcp tests.

Usage: python reference_server.py stdio
       python reference_server.py http PORT     (streamable HTTP on 127.0.0.1:PORT/mcp)
"""

import os
import sys
import time
from typing import TypedDict

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("bidi-reference-test")


@server.tool()
def multiply(a: int, b: int) -> str:
    """Multiplies two integers."""
    return str(a * b)


class Forecast(TypedDict):
    city: str
    sky: str
    celsius: int


@server.tool()
def forecast(city: str) -> Forecast:
    """The forecast for a city, as structured content."""
    return {"city": city, "sky": "clear", "celsius": 18}


@server.tool()
def refuse(reason: str) -> str:
    """Always fails: the server answers with an isError result."""
    raise ToolError(f"refused: {reason}")


@server.tool()
def nap(seconds: float) -> str:
    """Sleeps, then answers."""
    time.sleep(seconds)
    return "rested"


@server.tool()
def die() -> str:
    """Ends the server process mid-call."""
    os._exit(7)


def leave_a_grandchild() -> None:
    """With BIDI_TEST_GRANDCHILD_PIDFILE set, start a process of our own that outlives us
    unless the client ends our whole process group (as `npx`/`uvx` wrappers would)."""
    import subprocess

    pidfile = os.environ.get("BIDI_TEST_GRANDCHILD_PIDFILE")
    if pidfile:
        child = subprocess.Popen(
            ["sleep", "300"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with open(pidfile + ".tmp", "w") as f:
            f.write(str(child.pid))
        os.replace(pidfile + ".tmp", pidfile)


if __name__ == "__main__":
    leave_a_grandchild()
    if len(sys.argv) >= 3 and sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")
