"""What every application's command tests share: bad input gets one line, not a traceback."""
from rnnkit.cli import main


def expect_one_line_error(argv, capsys, *words):
    """Run ``rnnkit ARGV``: it must fail with one ``rnnkit: error:`` line holding every one of
    ``words``; returns what it printed on stdout."""
    capsys.readouterr()  # forget what earlier commands printed
    code = main(argv)
    out, err = capsys.readouterr()
    assert code != 0
    assert err.startswith("rnnkit: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert all(w in err for w in words), err
    return out
