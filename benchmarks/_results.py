"""Writing a benchmark's markdown results: printed, then saved atomically."""

from pathlib import Path


def write_results(text, out):
    """Print ``text`` and write it to ``out`` through a temporary file."""
    out = Path(out)
    print()
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    print(f"written to {out}")
