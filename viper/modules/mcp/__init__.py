"""MCP server for AI assistants over streamable HTTP."""

from viper.modules.mcp.module import McpModule as module

__all__ = ["module"]
