"""The README's API tour is executable documentation: run every python block in it."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README should contain at least one python example"
    for code in blocks:
        exec(compile(code, str(README), "exec"), {})
