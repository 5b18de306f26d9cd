"""The command line, on top of every layer: each module a group of commands that parse, call one core
function and print (`app.py` puts them together)."""
