"""`import rnnkit` stays cheap: it loads torch and rnnkit's own modules, not torch's
compiler (which torch.compile support could pull in: seconds) nor any application."""
import subprocess
import sys


def test_import_loads_neither_the_compiler_nor_the_applications():
    code = (
        "import sys, rnnkit\n"
        "heavy = [m for m in ('torch._dynamo', 'triton', 'rnnkit.app', 'rnnkit.charlm', 'rnnkit.inspect') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
