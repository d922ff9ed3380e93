"""Host tools: python -m tools check | build | sim | typecheck."""
