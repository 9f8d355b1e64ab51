"""Every check of cldyn, callable from Python: ``cldyn.checks.<name>(seed=, smoke=, **options)``.

Each function runs the check's own computation in this process (the same option parsing,
validation and result as the executable ``check_<name>``; no second implementation) and returns
its JSON result as a dict: ``claims`` (id, statement, predicted, measured, tolerance, pass),
``series``, ``params``, ``seed``, ``timing``. Options are the executable's flags with ``-``
written ``_``: ``checks.relu_local_optima(sigma=0.1, starts=60)`` runs
``check_relu_local_optima --sigma 0.1 --starts 60``; lists are passed as lists
(``p=[0.2, 0.8]``), switches as ``True``. A bad option raises ``ValueError`` with the check's
own error line. ``checks.names()`` lists the checks; ``help(checks.<name>)`` shows the
executable's ``--help``. The GIL is released while a check runs.
"""
import json as _json

from . import _checks

__all__ = ["names", "run"]


class CheckFailed(RuntimeError):
    """A check that stopped with an error (not a failed claim: those are in the result)."""


def names():
    """The checks linked into this module, as a list of names (without ``check_``)."""
    return [n for n, _ in _checks.names()]


def _words(options):
    words = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            words.append(flag)
        elif isinstance(value, (list, tuple)):
            words += [flag, ",".join(repr(v) if isinstance(v, float) else str(v) for v in value)]
        else:
            words += [flag, repr(value) if isinstance(value, float) else str(value)]
    return words


def run(name, *, seed=1, smoke=False, threads=0, **options):
    """Runs check ``name`` (see the module docstring) and returns its result dict.

    The dict also holds ``"exit_code"`` (0: every claim passed, 1: a claim failed) and
    ``"output"`` (the table the executable prints). Raises ``ValueError`` for a bad option or an
    unknown check, ``CheckFailed`` when the run stopped with an error.
    """
    args = ["--seed", str(seed), "--quiet"] + (["--smoke"] if smoke else [])
    if threads:
        args += ["--threads", str(threads)]
    args += _words(options)
    code, result, output, error = _checks.run(name, args)
    if code == 2:
        message = error.strip().replace("\n", " ")
        # The checks end every usage error (bad flag, value or combination) with "(see --help)".
        if message.endswith("(see --help)"):
            raise ValueError(message)
        raise CheckFailed(message)
    out = _json.loads(result) if result else {"skipped": True}  # no result: data absent, said in output
    out["exit_code"] = code
    out["output"] = output
    return out


def _make(name, description):
    def check(*, seed=1, smoke=False, threads=0, **options):
        return run(name, seed=seed, smoke=smoke, threads=threads, **options)

    check.__name__ = name
    check.__qualname__ = name
    check.__doc__ = (description + "\n\nRuns check_" + name + " in-process; options are its flags "
                     "(see cldyn.checks and `check_" + name + " --help`). Returns its JSON result as a dict.")
    return check


for _name, _description in _checks.names():
    globals()[_name] = _make(_name, _description)
    __all__.append(_name)
