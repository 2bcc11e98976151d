"""Every report section a Wyn test shows, made here and only here, from its file's outcome.

pytest prints a test's sections under its failure (and ``-rA``), and JUnit
XML carries them. The steps that learn something worth showing (the runner
keeps a binary, run-ahead runs a starved file again) record it in the
``FileOutcome`` as data; this module says it, in one order, for every item.
"""

from __future__ import annotations

import shlex

from . import formats
from .results import FileOutcome


def item_sections(outcome: FileOutcome, index: int, verbose: int, compile_output: bool) -> list[tuple[str, str]]:
    """The (title, text) sections of the file's ``index``-th test.

    ``verbose``: pytest's ``-v`` count (``-vv`` shows the compile command);
    ``compile_output``: show what a failed compile printed beyond its
    diagnostics (progress, closing notes); its file's first reported test does.
    """
    sections: list[tuple[str, str]] = []
    build = outcome.build
    warnings = formats.without_progress(build.diagnostics) if build is not None and build.ok else ""
    if warnings.strip():
        # Warnings only: a failed build's diagnostics are in the failure report itself,
        # and the progress lines (with a temporary output path) say nothing.
        sections.append(("wyn compile", warnings))
    if outcome.kept_binary:
        sections.append(("wyn binary", outcome.kept_binary))
    if outcome.waited_before_rerun is not None:
        sections.append(
            (
                "wyn run-ahead",
                f"The first run timed out after waiting {outcome.waited_before_rerun:.2f} s for a CPU while other "
                "files ran alongside; this is a second run, alone.\n",
            )
        )
    if build is not None and build.command and verbose >= 2:
        source = "from the cache" if build.cached else "compiled now"
        sections.append(("wyn build", f"{shlex.join(build.command)}\n({source})\n"))
    notes = formats.chatter(build.diagnostics) if build is not None and not build.ok and compile_output else ""
    if notes:
        sections.append(("wyn compile output", notes))
    if index < len(outcome.outputs) and outcome.outputs[index]:
        sections.append(("stdout", outcome.outputs[index]))
    return sections
