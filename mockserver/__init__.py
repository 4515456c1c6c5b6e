"""The Starlette shell: serves the specs, walks each created resource through its scenario."""
